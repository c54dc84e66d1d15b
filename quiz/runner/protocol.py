"""The pipe protocol between the app and a worker: one JSON object per line, each way.

Requests (app → worker):
  {"id": 7, "op": "run", "card": "deck/card", "seed": 3, "kind": "shape",
   "code": "...", "answer": "y.shape", "result": null, "given": null,
   "device": "cpu", "timeout": 5.0}
  {"id": 8, "op": "ping"}
  {"id": 9, "op": "status"}   → what isolation the worker sees from inside, and its limits
Responses (worker → app), with the request's id:
  {"id": 7, "ok": true, "truth": [2, 3], "given_value": null, "given_error": null,
   "stdout": "", "elapsed_ms": 0.4, "device": "cpu"}
  {"id": 7, "ok": false, "error": "RuntimeError: ...", "error_kind": "card-error", ...}
  A run response may also carry "recycle": "why" (the worker should be replaced,
  e.g. the card left threads running) and "killed_processes": n.
The worker's first line, once its framework is imported:
  {"op": "ready", "ok": true, "backend": "torch", "version": "2.13.0", "devices": ["cpu"],
   "gpus": 0, "pid": 123}
A worker with nothing to do for its idle time exits with status IDLE_EXIT.
"""

from __future__ import annotations

import json
from typing import Any

MAX_LINE = 8 * 1024 * 1024  # a response larger than this is a broken worker
STDOUT_CAP = 4096  # characters of card output kept per run
IDLE_EXIT = 75  # a worker's exit status when it left because it was idle (EX_TEMPFAIL)


def encode(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, separators=(",", ":"), default=repr) + "\n").encode()


def decode(line: bytes) -> dict[str, Any]:
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("protocol message is not an object")
    return message
