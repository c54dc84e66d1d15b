"""One learner's app process: the quiz TUI under Textual's web driver, spoken to over its pipes.

Textual's web driver (`textual.drivers.web_driver`) reads framed packets on
stdin (b"D" keyboard data, b"M" JSON meta: resize, focus, blur, quit) and
writes, after the line `__GANGLION__`, framed packets on stdout (b"D"
terminal output for the browser's xterm.js, b"M" meta such as exit). This is
the same protocol textual-serve's AppService speaks; quiz runs its own so
that the process is started without a shell, from a fixed command line,
with the learner bound in its environment by the server (the browser can
only type and resize), and so that a stuck app can be killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from quiz.runner.procs import kill_tree

__all__ = ["AppProcess", "CHILD_ENV", "MAX_PACKET"]

log = logging.getLogger("quiz.serve")

CHILD_ENV = "QUIZ_SERVE_CHILD"  # JSON: who the app is for and its limits (quiz.serve.child)
MAX_PACKET = 32 * 1024 * 1024  # a packet larger than this is a broken app, not a screen
STDERR_KEEP = 16 * 1024  # the tail of an app's stderr kept for the log
# The server's environment, less what must not reach a learner's app.
DROPPED_ENV = ("QUIZ_PROFILE", "QUIZ_DB", CHILD_ENV, "TEXTUAL", "TEXTUAL_LOG", "TEXTUAL_DRIVER")


class AppProcess:
    """Start with `start()`; feed it with `send_keys`/`resize`/`focus`; `stop()` ends it (quit, then kill)."""

    def __init__(
        self,
        child: dict[str, Any],
        *,
        on_output: Callable[[bytes], Awaitable[None]],
        python: str = sys.executable,
    ) -> None:
        self.child = child
        self.on_output = on_output
        self.python = python
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stderr: asyncio.Task[None] | None = None
        self._stderr_tail = bytearray()
        self.exited = asyncio.Event()  # the app's output ended (it quit, crashed or was killed)

    def _environment(self, width: int, height: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
        env.update(
            {
                "TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver",
                "TEXTUAL_FPS": "60",
                "TEXTUAL_COLOR_SYSTEM": "truecolor",
                "TERM_PROGRAM": "textual",
                "COLUMNS": str(width),
                "ROWS": str(height),
                CHILD_ENV: json.dumps(self.child),
            }
        )
        return env

    async def start(self, width: int, height: int) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            self.python,
            "-m",
            "quiz.serve.child",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._environment(width, height),
            start_new_session=True,  # not in the server's process group: a Ctrl+C is the server's to handle
        )
        self._reader = asyncio.create_task(self._read())
        self._stderr = asyncio.create_task(self._read_stderr())

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def _write(self, kind: bytes, payload: bytes) -> bool:
        proc = self.proc
        if proc is None or proc.stdin is None or proc.stdin.is_closing():
            return False
        try:
            proc.stdin.write(kind + len(payload).to_bytes(4, "big") + payload)
            await proc.stdin.drain()
        except (ConnectionError, RuntimeError, OSError):
            return False
        return True

    async def send_keys(self, text: str) -> bool:
        return await self._write(b"D", text.encode("utf-8", "replace"))

    async def _meta(self, meta: dict[str, Any]) -> bool:
        return await self._write(b"M", json.dumps(meta).encode("utf-8"))

    async def resize(self, width: int, height: int) -> bool:
        return await self._meta({"type": "resize", "width": width, "height": height})

    async def focus(self, focused: bool) -> bool:
        return await self._meta({"type": "focus" if focused else "blur"})

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        stdout = self.proc.stdout
        try:
            for _ in range(50):  # anything the app printed before the web driver took over
                line = await stdout.readline()
                if not line:
                    return
                if line == b"__GANGLION__\n":
                    break
            else:
                log.error("app process %s never started its web driver", self.pid)
                return
            while True:
                kind = await stdout.readexactly(1)
                size = int.from_bytes(await stdout.readexactly(4), "big")
                if size > MAX_PACKET:
                    log.error("app process %s sent a %d-byte packet; stopping it", self.pid, size)
                    return
                payload = await stdout.readexactly(size)
                if kind == b"D":
                    await self.on_output(payload)
                elif kind == b"M":
                    with contextlib.suppress(ValueError):
                        if json.loads(payload).get("type") == "exit":
                            return
                # b"P" (file deliveries) and anything else: quiz delivers no files, so none pass.
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            return
        finally:
            self.exited.set()

    async def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(4096):
            self._stderr_tail += chunk
            del self._stderr_tail[:-STDERR_KEEP]

    async def stop(self, grace: float = 5.0) -> int | None:
        """Ask the app to quit (it closes its workers); past `grace`, kill it and everything it started.

        SIGTERM would not do more than the quit message (Textual's web driver turns it into
        the same exit), so the next step is SIGKILL for the app's whole tree, workers included.
        """
        proc = self.proc
        if proc is None:
            return None
        if proc.returncode is None:
            await self._meta({"type": "quit"})
            with contextlib.suppress(Exception):
                if proc.stdin is not None:
                    proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                log.warning(
                    "app process %s did not quit within %.0f s; killing it and its workers", proc.pid, grace
                )
                killed = await asyncio.to_thread(kill_tree, proc.pid)
                log.info("killed %d process(es) of app %s", killed, proc.pid)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 10.0)
        for task in (self._reader, self._stderr):
            if task is not None:
                # Read on to the end of the pipes (the process is gone), so they close with it.
                with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, 2.0)
        self.exited.set()
        if proc.returncode not in (0, None) and self._stderr_tail:
            log.warning(
                "app process %s ended with %s: %s",
                proc.pid,
                proc.returncode,
                self._stderr_tail.decode("utf-8", "replace")[-2000:],
            )
        return proc.returncode
