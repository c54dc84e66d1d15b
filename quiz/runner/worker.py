"""A worker process: imports one framework, then runs card code for requests read from a pipe.

Started as `python -m quiz.runner.worker BACKEND`. The protocol pipes are
moved off fds 0/1 at start, so nothing the card code (or a C library) prints
can corrupt the protocol, and the worker never reads the terminal: fd 0 is
/dev/null, fds 1 and 2 go to the log the app gave it as stderr.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import linecache
import os
import signal
import sys
import time
import traceback
from types import FrameType
from typing import Any

from quiz.runner import protocol
from quiz.runner.adapters.base import Adapter, DeviceUnavailable

ADAPTERS = {
    "torch": "quiz.runner.adapters.torch_adapter",
    "tensorflow": "quiz.runner.adapters.tensorflow_adapter",
    "mxnet": "quiz.runner.adapters.mxnet_adapter",
}
HARD_KILL_GRACE_S = 1.0


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


def load_adapter(backend: str) -> Adapter:
    module = importlib.import_module(ADAPTERS[backend])
    adapter: Adapter = module.ADAPTER()
    adapter.load()
    return adapter


def _register_source(filename: str, source: str) -> None:
    # inspect.getsource (and so TensorFlow's AutoGraph) finds exec'd code through linecache.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)


def _exec(source: str, filename: str, ns: dict[str, Any]) -> None:
    _register_source(filename, source)
    exec(compile(source, filename, "exec"), ns)


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
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message[:300]}{where}" if message else f"{type(exc).__name__}{where}"


class Worker:
    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self.runs = 0

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "ping":
            return {"ok": True}
        if op == "run":
            return self.run(request)
        return {"ok": False, "error": f"unknown op {op!r}", "error_kind": "protocol"}

    def run(self, req: dict[str, Any]) -> dict[str, Any]:
        self.runs += 1
        started = time.perf_counter()
        out = CappedText()
        try:
            device = self.adapter.resolve_device(str(req.get("device") or "auto"))
        except DeviceUnavailable as exc:
            return {"ok": False, "error": str(exc), "error_kind": "unavailable"}
        response: dict[str, Any] = {"device": device}
        timeout = float(req.get("timeout") or 5.0)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                response.update(self._run_card(req, device))
        except CardTimeout:
            response.update(ok=False, error=f"timed out after {timeout:g} s", error_kind="timeout")
        except MemoryError:
            response.update(ok=False, error="MemoryError: the card ran out of memory", error_kind="memory")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        response["elapsed_ms"] = (time.perf_counter() - started) * 1000
        response["stdout"] = out.text()
        return response

    def _run_card(self, req: dict[str, Any], device: str) -> dict[str, Any]:
        kind = req["kind"]
        seed = int(req.get("seed") or 0)
        filename = f"<card {req.get('card', '?')} seed={seed}>"
        code = req["code"]
        ns = self._fresh(seed, device)
        if kind == "raises":
            return self._run_raises(code, filename, ns)
        try:
            _exec(code, filename, ns)
            truth_value = self._evaluate(req, ns, req.get("answer") or "", f"<answer {req.get('card')}>")
            truth = self.adapter.normalise(kind, truth_value)
        except (CardTimeout, MemoryError):
            raise
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from card code are errors too
            return {
                "ok": False,
                "error": _short_error(exc, filename),
                "error_kind": "card-error",
                "raised": _describe(exc),
            }
        result: dict[str, Any] = {"ok": True, "truth": truth}
        if kind == "code" and req.get("given") is not None:
            ns2 = self._fresh(seed, device)
            given_file = f"<your answer {req.get('card')}>"
            try:
                _exec(code, filename, ns2)
                value = self._evaluate(req, ns2, req["given"], given_file)
                result["given_value"] = self.adapter.normalise("value", value)
            except (CardTimeout, MemoryError):
                raise
            except BaseException as exc:
                result["given_error"] = _short_error(exc, given_file)
        return result

    def _fresh(self, seed: int, device: str) -> dict[str, Any]:
        self.adapter.reset(seed)
        ns = self.adapter.namespace(device)
        ns["__name__"] = "__card__"
        ns["__builtins__"] = __builtins__
        return ns

    def _evaluate(self, req: dict[str, Any], ns: dict[str, Any], source: str, filename: str) -> Any:
        """An answer or a learner's line: an expression's value, or (with `result`) a statement then `result`."""
        result_expr = req.get("result")
        if result_expr:
            _exec(source, filename, ns)
            return eval(compile(result_expr, f"<result {req.get('card')}>", "eval"), ns)
        _register_source(filename, source)
        return eval(compile(source.strip(), filename, "eval"), ns)

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
        _register_source(filename, code)
        setup = ast.Module(body=tree.body[:-1], type_ignores=[])
        last = ast.Module(body=tree.body[-1:], type_ignores=[])
        try:
            exec(compile(setup, filename, "exec"), ns)
        except (CardTimeout, MemoryError):
            raise
        except BaseException as exc:
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


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise CardTimeout()


def serve(backend: str) -> int:
    # Keep the protocol on private fds; point 0 at /dev/null and 1 at the log (fd 2).
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the process

    def send(message: dict[str, Any]) -> None:
        data = protocol.encode(message)
        view = memoryview(data)
        while view:
            n = os.write(proto_out, view)
            view = view[n:]

    try:
        adapter = load_adapter(backend)
    except BaseException as exc:
        send({"op": "ready", "ok": False, "backend": backend, "error": _short_error(exc, "")})
        return 1
    signal.signal(signal.SIGALRM, _on_alarm)
    worker = Worker(adapter)
    send(
        {
            "op": "ready",
            "ok": True,
            "backend": backend,
            "version": adapter.version,
            "devices": adapter.devices(),
            "pid": os.getpid(),
        }
    )
    reader = io.BufferedReader(proto_in, buffer_size=65536)  # type: ignore[arg-type]
    while True:
        line = reader.readline(protocol.MAX_LINE)
        if not line:
            return 0  # the app closed the pipe: exit quietly
        try:
            request = protocol.decode(line)
        except ValueError as exc:
            send({"ok": False, "error": f"bad request: {exc}", "error_kind": "protocol"})
            continue
        try:
            response = worker.handle(request)
        except BaseException as exc:
            response = {"ok": False, "error": _short_error(exc, ""), "error_kind": "card-error"}
        response["id"] = request.get("id")
        send(response)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in ADAPTERS:
        print(f"usage: python -m quiz.runner.worker {{{'|'.join(ADAPTERS)}}}", file=sys.stderr)
        return 2
    return serve(args[0])


if __name__ == "__main__":
    raise SystemExit(main())
