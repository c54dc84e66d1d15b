"""The app's side of the runner: warm worker processes per backend, timeouts, crash recovery.

Each backend gets one long-lived worker (`python -m quiz.runner.worker
BACKEND`) in its own process group and session, started in the background
as soon as the app knows it will need it, so the framework import (seconds
for TensorFlow) overlaps with the learner reading the card. A card that
outruns its time is first interrupted inside the worker; if the worker does
not answer within a grace period its whole process group is killed and a
fresh worker is started. A worker that dies (segfault, `os._exit`) yields a
"crashed" result and is replaced; the app carries on.
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from quiz.core.cards import Card, Kind
from quiz.core.grading import RunResult
from quiz.core.variables import Variant
from quiz.runner import protocol
from quiz.runner.backends import backend_info

__all__ = ["Runner", "WorkerProcess", "WorkerCrashed", "WorkerTimeout"]

HARD_GRACE_S = 1.0
START_TIMEOUT_S = 120.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class WorkerTimeout(RuntimeError):
    """The worker did not answer in time."""


class WorkerCrashed(RuntimeError):
    """The worker process ended (or broke the protocol)."""

    def __init__(self, message: str, returncode: int | None = None) -> None:
        super().__init__(message)
        self.returncode = returncode


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "crashed"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"crashed ({name})"
    return f"crashed (exit status {returncode})"


def _child_limits() -> None:
    """Runs in the child before exec: no core dumps."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def worker_env(scratch: str) -> dict[str, str]:
    """A small, explicit environment: nothing of the learner's shell leaks into card code."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": scratch,
        "TMPDIR": scratch,
        "KERAS_HOME": os.path.join(scratch, ".keras"),
        "MPLCONFIGDIR": os.path.join(scratch, ".mpl"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": _PACKAGE_ROOT,
        "PYTHONNOUSERSITE": "1",
        "PYTHONHASHSEED": "0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1"),
        "MXNET_STORAGE_FALLBACK_LOG_VERBOSE": "0",
    }
    for key in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "OMP_NUM_THREADS"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


class WorkerProcess:
    """One worker process for one backend, and the pipe to it."""

    def __init__(self, backend: str, *, python: str = sys.executable, log_dir: Path | None = None) -> None:
        self.backend = backend
        self.python = python
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] | None = None
        self.scratch: str | None = None
        self.started_at = 0.0
        self.ready_at: float | None = None
        self._buf = b""
        self._next_id = 0
        self.lock = threading.RLock()

    # --- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        with self.lock:
            if self.proc is not None and self.proc.poll() is None:
                return
            self._cleanup()
            self.scratch = tempfile.mkdtemp(prefix=f"quiz-{self.backend}-")
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                log: Any = open(self.log_dir / f"worker-{self.backend}.log", "ab")  # noqa: SIM115
            else:
                log = subprocess.DEVNULL
            self.started_at = time.perf_counter()
            self.ready_at = None
            self.info = None
            self._buf = b""
            try:
                self.proc = subprocess.Popen(
                    [self.python, "-m", "quiz.runner.worker", self.backend],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    cwd=self.scratch,
                    env=worker_env(self.scratch),
                    start_new_session=True,
                    close_fds=True,
                    preexec_fn=_child_limits,
                )
            finally:
                if log is not subprocess.DEVNULL:
                    log.close()

    @property
    def state(self) -> str:
        if self.proc is None or self.proc.poll() is not None:
            return "stopped"
        return "ready" if self.info is not None else "starting"

    def kill(self) -> None:
        """Kill the worker's whole process group (children and grandchildren too)."""
        with self.lock:
            proc = self.proc
            if proc is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
                for stream in (proc.stdin, proc.stdout):
                    with contextlib.suppress(OSError):
                        if stream:
                            stream.close()
            self.proc = None
            self.info = None
            self._cleanup()

    def close(self) -> None:
        """Ask the worker to exit (EOF on its pipe), then make sure it did."""
        with self.lock:
            proc = self.proc
            # A ready worker exits on EOF at once; one still importing its framework is just killed.
            if proc is not None and proc.stdin and self.info is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=1)
            self.kill()

    def _cleanup(self) -> None:
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    # --- pipe -------------------------------------------------------------------

    def _readline(self, deadline: float) -> bytes:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerTimeout(f"{self.backend} worker did not answer in time")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                code = self.proc.wait(timeout=5)
                raise WorkerCrashed(describe_exit(code), code)
            self._buf += chunk
            if len(self._buf) > protocol.MAX_LINE:
                raise WorkerCrashed("sent an oversized message")
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> dict[str, Any]:
        with self.lock:
            if self.info is not None:
                return self.info
            if self.proc is None or self.proc.poll() is not None:
                self.start()
            deadline = time.monotonic() + timeout
            try:
                message = protocol.decode(self._readline(deadline))
            except WorkerTimeout:
                self.kill()
                raise
            except (ValueError, WorkerCrashed) as exc:
                self.kill()
                raise WorkerCrashed(f"{self.backend} worker failed to start: {exc}") from None
            if message.get("op") != "ready" or not message.get("ok"):
                self.kill()
                raise WorkerCrashed(f"{self.backend} failed to load: {message.get('error', message)}")
            self.info = message
            self.ready_at = time.perf_counter()
            return message

    def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait for its answer; kill the worker on timeout or breakage."""
        with self.lock:
            self.wait_ready()
            assert self.proc is not None and self.proc.stdin is not None
            self._next_id += 1
            request = {**request, "id": self._next_id}
            try:
                self.proc.stdin.write(protocol.encode(request))
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                code = self.proc.wait(timeout=5)
                self.kill()
                raise WorkerCrashed(describe_exit(code), code) from None
            deadline = time.monotonic() + timeout
            try:
                while True:
                    response = protocol.decode(self._readline(deadline))
                    if response.get("id") == request["id"]:
                        return response
            except WorkerTimeout:
                self.kill()
                raise
            except WorkerCrashed:
                self.kill()
                raise
            except ValueError as exc:
                self.kill()
                raise WorkerCrashed(f"broke the protocol: {exc}") from None


class Runner:
    """Runs card variants on warm workers, one per backend."""

    def __init__(
        self,
        *,
        device: str = "auto",
        python: str = sys.executable,
        log_dir: Path | None = None,
        start_timeout: float = START_TIMEOUT_S,
    ) -> None:
        self.device = device
        self.python = python
        self.log_dir = log_dir
        self.start_timeout = start_timeout
        self._workers: dict[str, WorkerProcess] = {}
        self._lock = threading.Lock()

    def worker(self, backend: str) -> WorkerProcess:
        with self._lock:
            w = self._workers.get(backend)
            if w is None:
                w = self._workers[backend] = WorkerProcess(backend, python=self.python, log_dir=self.log_dir)
            return w

    def prestart(self, backends: list[str] | tuple[str, ...]) -> None:
        """Start workers now (non-blocking) so their framework import overlaps with other work."""
        for backend in backends:
            if backend_info(backend).installed:
                self.worker(backend).start()

    def state(self, backend: str) -> str:
        w = self._workers.get(backend)
        return w.state if w else "stopped"

    def info(self, backend: str) -> dict[str, Any] | None:
        """Version and devices reported by a ready worker (starting one if needed)."""
        if not backend_info(backend).installed:
            return None
        return self.worker(backend).wait_ready(self.start_timeout)

    def run(
        self,
        card: Card,
        variant: Variant,
        given: str | None = None,
        device: str | None = None,
    ) -> RunResult:
        """Run the variant's code; for `code` cards also the learner's line `given`."""
        backend = card.backend.value
        dev = device or self.device
        installed = backend_info(backend)
        if not installed.installed:
            return RunResult(
                ok=False,
                error=f"{backend} is not installed; install it with: {installed.hint}",
                error_kind="unavailable",
                backend=backend,
                device=dev,
            )
        w = self.worker(backend)
        try:
            info = w.wait_ready(self.start_timeout)
        except (WorkerCrashed, WorkerTimeout) as exc:
            return RunResult(ok=False, error=str(exc), error_kind="unavailable", backend=backend, device=dev)
        request = {
            "op": "run",
            "card": card.uid,
            "seed": variant.seed,
            "kind": card.kind.value,
            "code": variant.code,
            "answer": card.answer,
            "result": card.result,
            "given": given if card.kind == Kind.CODE else None,
            "device": dev,
            "timeout": card.timeout,
        }
        version = str(info.get("version", ""))
        try:
            response = w.call(request, timeout=card.timeout * (2 if given is not None else 1) + HARD_GRACE_S)
        except WorkerTimeout:
            w.start()  # a fresh worker warms up while the learner reads the verdict
            return RunResult(
                ok=False,
                error=f"timed out after {card.timeout:g} s (the worker was stopped and restarted)",
                error_kind="timeout",
                backend=backend,
                device=dev,
                version=version,
                elapsed_ms=card.timeout * 1000,
            )
        except WorkerCrashed as exc:
            w.start()
            return RunResult(
                ok=False,
                error=f"the {backend} worker {exc} while running this card; a new one was started",
                error_kind="crashed",
                backend=backend,
                device=dev,
                version=version,
            )
        truth = response.get("truth")
        ok = bool(response.get("ok"))
        error = response.get("error")
        error_kind = response.get("error_kind")
        if ok and card.kind == Kind.CHOICE and truth not in card.choices:
            ok, error, error_kind = (
                False,
                f"the card's answer gave {truth!r}, which is not one of its choices",
                "card-error",
            )
        return RunResult(
            ok=ok,
            truth=truth if ok else None,
            given_value=response.get("given_value"),
            given_error=response.get("given_error"),
            error=error,
            error_kind=error_kind,
            backend=backend,
            device=str(response.get("device", dev)),
            version=version,
            elapsed_ms=float(response.get("elapsed_ms", 0.0)),
            stdout=str(response.get("stdout", "")),
        )

    def close(self) -> None:
        for w in list(self._workers.values()):
            w.close()
        self._workers.clear()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
