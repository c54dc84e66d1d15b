"""What a worker may answer: every field of a reply checked before the app believes any of it.

Card code runs inside the worker and can write to any of its file
descriptors, the protocol's included. So a reply is data from a stranger:
each field must have its type, its size and one of its allowed values, and
the truth must be what the card's kind says a truth is (a shape a list of
ints, a dtype a dtype's name, a raised exception three strings...). A reply
that is not is `Misbehaved`, which the runner turns into the verdict "card
misbehaved: …" and a fresh worker; never a traceback.
"""

from __future__ import annotations

import math
from typing import Any

from quiz.core.answers import canonical_dtype
from quiz.runner.protocol import STDOUT_CAP

__all__ = ["Misbehaved", "check_exception", "check_ready", "check_run_reply", "check_warm"]

WORKER_ERROR_KINDS = frozenset({"timeout", "card-error", "unavailable", "memory", "protocol"})
RUN_KEYS = frozenset(
    {
        "id",
        "nonce",
        "ok",
        "truth",
        "error",
        "error_kind",
        "raised",
        "device",
        "elapsed_ms",
        "stdout",
        "state_changed",
        "recycle",
        "killed_processes",
    }
)
MAX_ERROR = 2000
MAX_STDOUT = STDOUT_CAP + 100  # the cap, and the "… (N more characters)" line after it
MAX_CHANGES = 50
MAX_CHANGE = 300
MAX_DIMS = 64
MAX_DEPTH = 64
MAX_NODES = 1_000_000
MAX_ELAPSED_MS = 1e8


class Misbehaved(Exception):
    """A reply that breaks the protocol: what was wrong, in one line."""


def _short(value: Any) -> str:
    text = (
        repr(value) if isinstance(value, (str, int, float, bool, type(None))) else f"a {type(value).__name__}"
    )
    return text if len(text) <= 40 else text[:39] + "…"


def _string(reply: dict[str, Any], key: str, limit: int, *, required: bool = False) -> None:
    value = reply.get(key)
    if value is None and not required:
        return
    if not isinstance(value, str):
        raise Misbehaved(f"the reply's {key} was {_short(value)}, not text")
    if len(value) > limit:
        raise Misbehaved(f"the reply's {key} was {len(value)} characters long (at most {limit})")


def check_exception(value: Any, what: str) -> None:
    """A raised exception as the worker describes it: {"type", "module", "message"}, three strings."""
    if not isinstance(value, dict) or set(value) != {"type", "module", "message"}:
        raise Misbehaved(f"the {what} was {_short(value)}, not an exception's type, module and message")
    for key, limit in (("type", 200), ("module", 200), ("message", 1000)):
        if not isinstance(value[key], str) or len(value[key]) > limit:
            raise Misbehaved(f"the {what}'s {key} was {_short(value[key])}")


def _json_data(value: Any) -> None:
    """Plain JSON data (what a value card's truth is), nested at most MAX_DEPTH deep."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise Misbehaved("the truth was too large")
        if depth > MAX_DEPTH:
            raise Misbehaved("the truth was nested too deeply")
        if item is None or isinstance(item, (bool, int, float, str)):
            continue
        if isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, dict):
            for k, v in item.items():
                if not isinstance(k, str):
                    raise Misbehaved("the truth had a key that is not text")
                stack.append((v, depth + 1))
        else:
            raise Misbehaved(f"the truth held {_short(item)}")


def _shape(truth: Any) -> None:
    if not isinstance(truth, list) or len(truth) > MAX_DIMS:
        raise Misbehaved(f"the shape truth was {_short(truth)}, not a list of sizes")
    for d in truth:
        if d is not None and (not isinstance(d, int) or isinstance(d, bool) or abs(d) > 2**62):
            raise Misbehaved(f"the shape truth had the size {_short(d)}")


def _dtype(truth: Any) -> None:
    if not isinstance(truth, str) or canonical_dtype(truth) != truth:
        raise Misbehaved(f"the dtype truth was {_short(truth)}, not a dtype")


def check_truth(kind: str, truth: Any) -> None:
    """The truth a card of `kind` can have."""
    if kind == "shape":
        if isinstance(truth, list) and truth and all(isinstance(s, list) for s in truth):
            if len(truth) > MAX_DIMS:  # a tuple of shapes, `(a.shape, b.shape)`
                raise Misbehaved(f"the shape truth held {len(truth)} shapes")
            for one in truth:
                _shape(one)
        else:
            _shape(truth)
    elif kind == "dtype":
        if isinstance(truth, list):  # a tuple of dtypes, `(a.dtype, b.dtype)`
            if len(truth) > MAX_DIMS:
                raise Misbehaved(f"the dtype truth held {len(truth)} dtypes")
            for one in truth:
                _dtype(one)
        else:
            _dtype(truth)
    elif kind == "translate":
        # {shape, dtype, values}: what a translation is compared on
        if not isinstance(truth, dict) or set(truth) != {"shape", "dtype", "values"}:
            raise Misbehaved(
                f"the translate truth was {_short(truth)}, not a tensor's shape, dtype and values"
            )
        _shape(truth["shape"])
        _dtype(truth["dtype"])
        _json_data(truth["values"])
    elif kind in ("bool", "grad_is_none"):
        if not isinstance(truth, bool):
            raise Misbehaved(f"the {kind} truth was {_short(truth)}, not true or false")
    elif kind == "choice":
        if not isinstance(truth, str) or len(truth) > 10_000:
            raise Misbehaved(f"the choice truth was {_short(truth)}, not text")
    elif kind == "raises":
        if truth is not None:
            check_exception(truth, "raises truth")
    elif kind in ("value", "code"):
        _json_data(truth)
    else:
        raise Misbehaved(f"a truth for the unknown kind {_short(kind)}")


def check_run_reply(reply: Any, kind: str) -> dict[str, Any]:
    """A run reply whose every field is as the protocol says (id and nonce are the caller's to check)."""
    if not isinstance(reply, dict):
        raise Misbehaved("the reply was not an object")
    unknown = set(reply) - RUN_KEYS
    if unknown:
        raise Misbehaved(f"the reply had the unknown field {_short(sorted(map(str, unknown))[0])}")
    ok = reply.get("ok")
    if not isinstance(ok, bool):
        raise Misbehaved(f"the reply's ok was {_short(ok)}, not true or false")
    if ok:
        if "truth" not in reply:
            raise Misbehaved("the reply had no truth")
        check_truth(kind, reply["truth"])
        if reply.get("error") is not None or reply.get("error_kind") is not None:
            raise Misbehaved("the reply had both a truth and an error")
    else:
        _string(reply, "error", MAX_ERROR, required=True)
        error_kind = reply.get("error_kind")
        if error_kind not in WORKER_ERROR_KINDS:
            raise Misbehaved(f"the reply's error_kind was {_short(error_kind)}")
        if reply.get("truth") is not None:
            raise Misbehaved("the reply had both a truth and an error")
    if reply.get("raised") is not None:
        check_exception(reply["raised"], "raised exception")
    device = reply.get("device")
    if device is not None and device not in ("cpu", "gpu"):
        raise Misbehaved(f"the reply's device was {_short(device)}")
    elapsed = reply.get("elapsed_ms", 0.0)
    if (
        not isinstance(elapsed, (int, float))
        or isinstance(elapsed, bool)
        or not math.isfinite(elapsed)
        or not 0 <= elapsed <= MAX_ELAPSED_MS
    ):
        raise Misbehaved(f"the reply's elapsed_ms was {_short(elapsed)}, not a time")
    _string(reply, "stdout", MAX_STDOUT)
    _string(reply, "recycle", MAX_ERROR)
    changed = reply.get("state_changed")
    if changed is not None:
        if not isinstance(changed, list) or len(changed) > MAX_CHANGES:
            raise Misbehaved(f"the reply's state_changed was {_short(changed)}, not a list")
        for item in changed:
            if not isinstance(item, str) or len(item) > MAX_CHANGE:
                raise Misbehaved(f"the reply's state_changed held {_short(item)}")
    killed = reply.get("killed_processes", 0)
    if not isinstance(killed, int) or isinstance(killed, bool) or killed < 0:
        raise Misbehaved(f"the reply's killed_processes was {_short(killed)}")
    return reply


def check_ready(message: Any, backend: str) -> dict[str, Any]:
    """The worker's first line, once its framework is imported."""
    if not isinstance(message, dict) or message.get("op") != "ready" or message.get("ok") is not True:
        raise Misbehaved("the first line was not a ready message")
    if message.get("backend") != backend:
        raise Misbehaved(f"it said it runs {_short(message.get('backend'))}, not {backend}")
    version, devices = message.get("version"), message.get("devices")
    if not isinstance(version, str) or len(version) > 100:
        raise Misbehaved(f"the version was {_short(version)}")
    if not isinstance(devices, list) or not devices or any(d not in ("cpu", "gpu") for d in devices):
        raise Misbehaved(f"the devices were {_short(devices)}")
    for key in ("gpus", "pid"):
        value = message.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise Misbehaved(f"the {key} was {_short(value)}")
    return message


def check_warm(message: Any) -> dict[str, Any]:
    """The worker's second line: warm, and its state snapshot taken."""
    if not isinstance(message, dict) or message.get("op") != "warm" or message.get("ok") is not True:
        raise Misbehaved("the second line was not a warm message")
    return message
