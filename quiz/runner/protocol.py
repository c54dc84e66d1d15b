"""The pipe protocol between the app and a worker: one JSON object per line, each way.

Requests (app → worker):
  {"id": 7, "op": "run", "card": "deck/card", "seed": 3, "kind": "shape",
   "code": "...", "answer": "y.shape", "result": null, "given": null,
   "device": "cpu", "timeout": 5.0}
  {"id": 8, "op": "ping"}
Responses (worker → app), with the request's id:
  {"id": 7, "ok": true, "truth": [2, 3], "given_value": null, "given_error": null,
   "stdout": "", "elapsed_ms": 0.4, "device": "cpu"}
  {"id": 7, "ok": false, "error": "RuntimeError: ...", "error_kind": "card-error", ...}
The worker's first line, once its framework is imported:
  {"op": "ready", "backend": "torch", "version": "2.13.0", "devices": ["cpu"], "pid": 123}
"""

from __future__ import annotations

import json
from typing import Any

MAX_LINE = 8 * 1024 * 1024  # a response larger than this is a broken worker
STDOUT_CAP = 4096  # characters of card output kept per run


def encode(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, separators=(",", ":"), default=repr) + "\n").encode()


def decode(line: bytes) -> dict[str, Any]:
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError("protocol message is not an object")
    return message
