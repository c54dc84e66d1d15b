"""The pipe protocol between the app and a worker: one JSON object per line, each way.

Requests (app → worker), each with an `id` and a fresh random `nonce`:
  {"id": 7, "nonce": "9f…", "op": "run", "card": "deck/card", "seed": 3, "kind": "shape",
   "code": "...", "answer": "y.shape", "result": null, "device": "cpu", "timeout": 5.0}
  {"id": 8, "nonce": "…", "op": "end"}      → the turn's last word: {"id": 8, "nonce": "…", "op": "end"}
  {"id": 9, "nonce": "…", "op": "ping"}
  {"id": 10, "nonce": "…", "op": "status"}  → what isolation the worker sees from inside, and its limits
Responses (worker → app) echo the request's `id` and `nonce`:
  {"id": 7, "nonce": "9f…", "ok": true, "truth": [2, 3], "stdout": "", "elapsed_ms": 0.4, "device": "cpu"}
  {"id": 7, "nonce": "9f…", "ok": false, "error": "RuntimeError: ...", "error_kind": "card-error",
   "raised": {"type": "RuntimeError", "module": "builtins", "message": "..."}, ...}
  A run response may also carry "state_changed": ["leaves torch print options changed", ...]
  (what the card left changed, whether or not it could be put back), "recycle": "why" (the
  worker must be replaced: it runs no other card) and "killed_processes": n.
After a run response the app sends `end` and expects its echo as the very next line: card
code can write to any fd of its process, so a line it forged before the real reply is found
out by the real reply arriving after it (`replies.py` checks every field too).
The worker's first line, once its framework is imported:
  {"op": "ready", "ok": true, "backend": "torch", "version": "2.13.0", "devices": ["cpu"],
   "gpus": 0, "pid": 123}
and its second, once it has warmed up and taken the snapshot every card is compared with (the
app sends no card before it, and starts no card's timer before it):
  {"op": "warm", "ok": true, "watch": {"dicts": 6351, "lists": 1290, "sets": 130, "settings": 45,
   "gather": true}}
A worker with nothing to do for its idle time exits with status IDLE_EXIT; one that ran a
card which left state changed exits with RECYCLE_EXIT after its turn, whatever the app does.
"""

from __future__ import annotations

import json
import os
import select
from collections.abc import Callable
from typing import Any

MAX_LINE = 8 * 1024 * 1024  # a response larger than this is a broken worker
STDOUT_CAP = 4096  # characters of card output kept per run
IDLE_EXIT = 75  # a worker's exit status when it left because it was idle (EX_TEMPFAIL)
RECYCLE_EXIT = 76  # ... because a card left its state changed: nothing ran for the next request


class Idle(Exception):
    """No request came for the worker's idle time."""


def encode(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, separators=(",", ":"), default=repr) + "\n").encode()


def decode(line: bytes) -> dict[str, Any]:
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("protocol message is not an object")
    return message


def _unserialisable(value: object) -> str:
    return f"<{type(value).__name__}>"  # never a card object's own __repr__: the reply is written after the check


def make_sender(fd: int) -> Callable[[dict[str, Any]], None]:
    """A function that writes one message to `fd`, bound now to the C JSON encoder and `os.write`:
    a card that patches `json` or `os` cannot change what the worker says after its check."""
    from json import encoder as json_encoder

    write = os.write
    c_make_encoder = getattr(json_encoder, "c_make_encoder", None)
    encode_now: Callable[[dict[str, Any]], str]
    if c_make_encoder is not None:
        iterencode = c_make_encoder(
            None, _unserialisable, json_encoder.encode_basestring_ascii, None, ":", ",", False, False, True
        )

        def encode_now(message: dict[str, Any]) -> str:
            return "".join(iterencode(message, 0))

    else:  # pragma: no cover - CPython always has the C encoder
        encode_now = json.JSONEncoder(separators=(",", ":"), default=_unserialisable).encode

    def send(message: dict[str, Any]) -> None:
        view = memoryview((encode_now(message) + "\n").encode())
        while view:
            n = write(fd, view)
            view = view[n:]

    return send


def make_reader(fd: int, idle_s: float) -> Callable[[], dict[str, Any]]:
    """A function that returns the next request from `fd`: raises Idle after `idle_s` seconds without
    one (0: wait forever), EOFError when the app closed the pipe, ValueError for a line that is not
    a JSON object."""
    read, wait = os.read, select.select
    buf = bytearray()

    def next_request() -> dict[str, Any]:
        while b"\n" not in buf:
            if idle_s > 0:
                ready, _, _ = wait([fd], [], [], idle_s)
                if not ready:
                    raise Idle()
            chunk = read(fd, 1 << 16)
            if not chunk:
                raise EOFError()
            buf.extend(chunk)
            if len(buf) > MAX_LINE:
                raise EOFError()  # not our app: nobody sends 8 MB requests
        end = buf.index(b"\n")
        line = bytes(buf[:end])
        del buf[: end + 1]
        return decode(line)

    return next_request
