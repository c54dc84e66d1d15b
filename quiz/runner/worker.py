"""A worker process: imports one framework, then runs card code for requests read from a pipe.

Started as `python -m quiz.runner.worker BACKEND` (usually inside a sandbox,
see `isolation.py`). The protocol pipes are moved off fds 0/1 at start, so
nothing the card code (or a C library) prints can corrupt the protocol, and
the worker never reads the terminal: fd 0 is /dev/null, fds 1 and 2 go to
the log the app gave it as stderr.

Once ready it warms the framework up, takes a snapshot of its state
(`pristine.StateWatch`), applies its resource limits (`limits.apply`) and
serves. After each card it kills the processes the card left (it is a child
subreaper, so orphans come back to it), empties its scratch directory, and
checks the state against the snapshot: what can be put back is put back;
a card that left anything else changed gets its worker replaced (the reply
says `recycle`, and this worker runs no other card). With no request for
`idle_s` seconds it exits (status IDLE_EXIT).

Everything the worker does after a card (the check, the reply) goes through
functions bound when it started: a card that patches `quiz.runner` changes
a namespace the check watches, and is reported, not obeyed.
"""

from __future__ import annotations

import ast
import contextlib
import faulthandler
import gc
import importlib
import io
import json
import linecache
import os
import shutil
import signal
import socket
import sys
import time
import traceback
from types import FrameType
from typing import Any

from quiz.runner import limits as limits_mod
from quiz.runner import procs, protocol
from quiz.runner.adapters.base import Adapter, DeviceUnavailable
from quiz.runner.pristine import StateWatch, process_policy

ADAPTERS = {
    "torch": "quiz.runner.adapters.torch_adapter",
    "tensorflow": "quiz.runner.adapters.tensorflow_adapter",
    "mxnet": "quiz.runner.adapters.mxnet_adapter",
}
CONFIG_ENV = "QUIZ_WORKER_CONFIG"


class CardTimeout(BaseException):
    """Raised inside card code when its time is up (a BaseException, so `except Exception` can't eat it)."""


class CappedText(io.TextIOBase):
    """A stdout replacement that keeps the first `cap` characters and counts the rest."""

    def __init__(self, cap: int = protocol.STDOUT_CAP) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        if self.size < self.cap:
            self.parts.append(s[: self.cap - self.size])
        self.size += len(s)
        return len(s)

    def text(self) -> str:
        out = "".join(self.parts)
        if self.size > self.cap:
            out += f"\n… ({self.size - self.cap} more characters)"
        return out


def load_adapter(backend: str, threads: int | None = None) -> Adapter:
    module = importlib.import_module(ADAPTERS[backend])
    adapter: Adapter = module.ADAPTER()
    adapter.load(threads=threads)
    return adapter


def _describe(exc: BaseException) -> dict[str, Any]:
    return {
        "type": type(exc).__name__,
        "module": type(exc).__module__,
        "message": str(exc)[:500],
    }


def _short_error(exc: BaseException, filename: str) -> str:
    """`RuntimeError: message (line 3)` with the line in the card's code where it happened."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    where = f" (line {line})" if line else ""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    message = lines[0] if lines else ""
    if message.startswith("Traceback") and len(lines) > 1:
        # MXNet puts its C++ traceback first; the reason is on the last line.
        message = lines[-1].removeprefix(f"{type(exc).__name__}: ")
    return f"{type(exc).__name__}: {message[:300]}{where}" if message else f"{type(exc).__name__}{where}"


class _OutOfMemory(Exception):
    """A framework's allocator ran out (torch's RuntimeError, TF's ResourceExhaustedError...)."""


class Worker:
    """Runs one request at a time; `run` never lets card code end the worker."""

    def __init__(self, adapter: Adapter, *, workdir: str | None = None) -> None:
        """`workdir`: the scratch directory card code runs in, emptied after every card (None: leave cwd alone)."""
        self.adapter = adapter
        self.runs = 0
        self.pid = os.getpid()
        self.workdir = workdir
        self.in_card = False
        self._sources: list[str] = []

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "run":
            return self.run(request)
        if op == "ping":
            return {"ok": True}
        return {"ok": False, "error": f"unknown op {op!r}", "error_kind": "protocol"}

    # --- one card ---------------------------------------------------------------

    def run(self, req: dict[str, Any]) -> dict[str, Any]:
        self.runs += 1
        started = time.perf_counter()
        try:
            device = self.adapter.resolve_device(str(req.get("device") or "auto"))
        except DeviceUnavailable as exc:
            return {"ok": False, "error": str(exc), "error_kind": "unavailable"}
        response: dict[str, Any] = {"device": device}
        timeout = float(req.get("timeout") or 5.0)
        out = CappedText()
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = out
        self.in_card = True
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            try:
                result = self._run_card(req, device)
            finally:
                self.in_card = False
                signal.setitimer(signal.ITIMER_REAL, 0)
            response.update(result)
        except CardTimeout:
            response.update(ok=False, error=f"timed out after {timeout:g} s", error_kind="timeout")
        except (MemoryError, _OutOfMemory) as exc:
            detail = f" ({exc})" if isinstance(exc, _OutOfMemory) else ""
            response.update(
                ok=False,
                error=f"MemoryError: the card used more memory than a worker may{detail}",
                error_kind="memory",
            )
        finally:
            sys.stdout, sys.stderr = saved
            if os.getpid() != self.pid:
                os._exit(0)  # a process the card forked came back up here: it must not answer
        self._tidy()
        response["elapsed_ms"] = (time.perf_counter() - started) * 1000
        response["stdout"] = out.text()
        return response

    def _run_card(self, req: dict[str, Any], device: str) -> dict[str, Any]:
        kind = req["kind"]
        seed = int(req.get("seed") or 0)
        card = req.get("card", "?")
        filename = f"<card {card} seed={seed}>"
        code = req["code"]
        ns = self._fresh(seed, device)
        if kind == "raises":
            return self._run_raises(code, filename, ns)
        try:
            self._exec(code, filename, ns)
            truth_value = self._evaluate(req, ns, req.get("answer") or "", f"<answer {card}>")
            truth = self.adapter.normalise(kind, truth_value)
        except (CardTimeout, MemoryError):
            raise
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from card code are errors too
            self._check_oom(exc)
            return {
                "ok": False,
                "error": _short_error(exc, filename),
                "error_kind": "card-error",
                "raised": _describe(exc),
            }
        return {"ok": True, "truth": truth}

    def _check_oom(self, exc: BaseException) -> None:
        if self.adapter.is_out_of_memory(exc):
            raise _OutOfMemory(_short_error(exc, "")[:200]) from None

    def _fresh(self, seed: int, device: str) -> dict[str, Any]:
        self.adapter.reset(seed)
        ns = self.adapter.namespace(device)
        ns["__name__"] = "__card__"
        ns["__builtins__"] = __builtins__
        return ns

    def _register_source(self, filename: str, source: str) -> None:
        # inspect.getsource (and so TensorFlow's AutoGraph) finds exec'd code through linecache;
        # mtime None marks it as not a file, so linecache.checkcache() keeps it.
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        self._sources.append(filename)

    def _exec(self, source: str, filename: str, ns: dict[str, Any]) -> None:
        self._register_source(filename, source)
        exec(compile(source, filename, "exec"), ns)

    def _evaluate(self, req: dict[str, Any], ns: dict[str, Any], source: str, filename: str) -> Any:
        """The card's answer: an expression's value, or (with `result`) a statement then `result`."""
        result_expr = req.get("result")
        if result_expr:
            self._exec(source, filename, ns)
            return eval(compile(result_expr, f"<result {req.get('card')}>", "eval"), ns)
        source = source.strip()
        self._register_source(filename, source)
        return eval(compile(source, filename, "eval"), ns)

    def _run_raises(self, code: str, filename: str, ns: dict[str, Any]) -> dict[str, Any]:
        try:
            tree = ast.parse(code, filename)
        except SyntaxError as exc:
            return {
                "ok": False,
                "error": f"SyntaxError: {exc.msg} (line {exc.lineno})",
                "error_kind": "card-error",
            }
        if not tree.body:
            return {"ok": False, "error": "the card has no code", "error_kind": "card-error"}
        self._register_source(filename, code)
        setup = ast.Module(body=tree.body[:-1], type_ignores=[])
        last = ast.Module(body=tree.body[-1:], type_ignores=[])
        try:
            exec(compile(setup, filename, "exec"), ns)
        except (CardTimeout, MemoryError):
            raise
        except BaseException as exc:
            self._check_oom(exc)
            return {
                "ok": False,
                "error": "before the last statement: " + _short_error(exc, filename),
                "error_kind": "card-error",
            }
        try:
            exec(compile(last, filename, "exec"), ns)
        except (CardTimeout, MemoryError):
            raise
        except BaseException as exc:
            return {"ok": True, "truth": _describe(exc)}
        return {"ok": True, "truth": None}

    # --- after a card -------------------------------------------------------------

    def _tidy(self) -> None:
        """Drop the card's source lines and empty the scratch directory (the state check comes after)."""
        for name in self._sources:
            linecache.cache.pop(name, None)
        self._sources.clear()
        if self.workdir is None:
            return
        try:
            with os.scandir(self.workdir) as it:
                leftovers = [e.path for e in it]
        except OSError:
            return  # gone or moved: the state check reports it
        for path in leftovers:
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
            except OSError:
                pass

    # --- status -------------------------------------------------------------------

    def observe(self, config: dict[str, Any], applied: dict[str, Any]) -> dict[str, Any]:
        """What isolation this worker can see from the inside (for `quiz doctor`)."""
        in_userns, kuid = limits_mod.user_namespace()
        try:
            interfaces = sorted(name for _, name in socket.if_nameindex())
        except OSError:
            interfaces = []
        homes = {}
        for home in config.get("host_homes", []):
            path, marker = home.get("path", ""), home.get("marker")
            probe = os.path.join(path, marker) if marker else path
            visible = os.path.lexists(probe)
            homes[path] = {
                "visible": visible,
                "readable": visible and os.access(probe, os.R_OK),
                "writable": visible and os.access(path, os.W_OK),
            }
        return {
            "backend": self.adapter.name,
            "devices": self.adapter.devices(),
            "uid": os.getuid(),
            "kernel_uid": kuid,
            "user_namespace": in_userns,
            "pid": os.getpid(),
            "network_interfaces": interfaces,
            "package_writable": os.access(config.get("package_root", "/"), os.W_OK),
            "cwd_writable": os.access(self.workdir or os.getcwd(), os.W_OK),
            "host_homes": homes,
            "limits": applied,
        }


class _Alarm:
    def __init__(self) -> None:
        self.worker: Worker | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.worker is not None and self.worker.in_card:
            raise CardTimeout()


def _read_config() -> dict[str, Any]:
    raw = os.environ.pop(CONFIG_ENV, "")
    try:
        config = json.loads(raw) if raw else {}
    except ValueError:
        config = {}
    return config if isinstance(config, dict) else {}


def serve(backend: str) -> int:
    limits_mod.early()
    config = _read_config()
    if config.get("confine"):
        # Walled in first (no bubblewrap): nothing of the framework, no card, runs before.
        from quiz.runner import confine

        try:
            confine.apply(confine.Plan.from_dict(config["confine"]))
        except confine.ConfinementError as exc:
            error = f"could not wall card code in: {exc}"
            os.write(1, protocol.encode({"op": "ready", "ok": False, "backend": backend, "error": error}))
            return 1
    # Orphans of card code come back to us to be killed; die if the app's spawning thread goes.
    procs.set_child_subreaper()
    parent = int(config.get("parent_pid") or 0)
    if procs.set_parent_death_signal() and parent and os.getppid() != parent and not config.get("sandboxed"):
        return 1  # the app is already gone
    # Keep the protocol on private fds; point 0 at /dev/null and 1 at the log (fd 2).
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the process
    faulthandler.enable(all_threads=True)  # a crash leaves its Python traceback in the log
    send = protocol.make_sender(proto_out)

    threads = config.get("threads")
    try:
        adapter = load_adapter(backend, threads=int(threads) if threads else None)
    except BaseException as exc:
        send({"op": "ready", "ok": False, "backend": backend, "error": _short_error(exc, "")})
        return 1
    alarm = _Alarm()
    signal.signal(signal.SIGALRM, alarm)
    devices = adapter.devices()
    send(
        {
            "op": "ready",
            "ok": True,
            "backend": backend,
            "version": adapter.version,
            "devices": devices,
            "gpus": adapter.gpu_count(),
            "pid": os.getpid(),
        }
    )
    # Warm up (the first op of a framework is slow, and its first use changes state: better here
    # than blamed on a card), then limit (the limits are measured from what the warm framework
    # holds), then take the snapshot every card is compared with. No card runs before all three.
    workdir = config.get("workdir")  # set by the app; run by hand, a worker leaves its cwd alone
    if workdir:
        with contextlib.suppress(OSError):
            os.chdir(workdir)
    try:
        adapter.warm_up()
    except Exception as exc:
        print(f"warm-up failed: {exc!r}", file=sys.stderr)
    worker = Worker(adapter, workdir=workdir)
    alarm.worker = worker
    applied = limits_mod.apply(limits_mod.Limits.from_dict(config.get("limits", {})), gpu="gpu" in devices)
    adapter.reset(0)  # the state every card starts from, as the snapshot sees it
    # The framework's objects live as long as the worker: keep the collector from walking them.
    # A full collection with TensorFlow loaded takes about 120 ms; frozen, a card's takes microseconds.
    gc.collect()
    watch = StateWatch(process_policy() | adapter.policy(), workdir=workdir or os.getcwd())
    gc.freeze()
    check = watch.checker  # bound now: a card that patches StateWatch or Findings changes nothing here
    run = worker.run
    # Warm and watched: cards may come (the app starts their timers from this line, not from "ready").
    send({"op": "warm", "ok": True, "watch": {**watch.size, "gather": watch.gathered}})

    idle_s = float(config.get("idle_s") or 0)
    read_request = protocol.make_reader(proto_in, idle_s)
    tainted = False  # a card left state that could not be put back: this worker runs nothing more
    while True:
        try:
            request = read_request()
        except protocol.Idle:
            return protocol.IDLE_EXIT  # unused for a while: give the memory back
        except EOFError:
            return 0  # the app closed the pipe: exit quietly
        except ValueError as exc:
            send({"ok": False, "error": f"bad request: {exc}", "error_kind": "protocol"})
            continue
        op = request.get("op")
        echo = {"id": request.get("id"), "nonce": request.get("nonce")}
        if op == "end":
            send({"op": "end", **echo})  # the turn is over: nothing of ours follows the reply
            if tainted:
                return protocol.RECYCLE_EXIT
            continue
        if tainted:
            return protocol.RECYCLE_EXIT  # never run a card after one that left state changed
        try:
            if op == "status":
                response = {"ok": True, **worker.observe(config, applied)}
            elif op == "run":
                response = run(request)
                changed, recycle, killed = check()
                if recycle:
                    tainted = True
                    response["recycle"] = recycle
                if changed:
                    response["state_changed"] = list(changed)
                if killed:
                    response["killed_processes"] = killed
            else:
                response = worker.handle(request)
        except BaseException as exc:
            if os.getpid() != worker.pid:
                os._exit(0)
            response = {"ok": False, "error": _short_error(exc, ""), "error_kind": "card-error"}
            tainted = True  # something broke outside the card's own try: trust nothing
            response["recycle"] = "the worker failed outside the card"
        send({**response, **echo})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in ADAPTERS:
        print(f"usage: python -m quiz.runner.worker {{{'|'.join(ADAPTERS)}}}", file=sys.stderr)
        return 2
    return serve(args[0])


if __name__ == "__main__":
    raise SystemExit(main())
