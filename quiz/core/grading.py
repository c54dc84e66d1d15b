"""Verdicts: the learner's parsed answer against what the code really did."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from quiz.core.cards import Card, Kind, Tolerance

__all__ = ["RunResult", "Verdict", "judge", "format_truth", "format_given", "suggest_rating", "same_value"]


@dataclass(frozen=True, slots=True)
class RunResult:
    """What running one variant produced, as plain data (from the runner, over a pipe).

    `truth` is normalised by the backend adapter: a shape is a list of ints, a
    dtype its canonical name, a raised exception `{"type", "module", "message"}`
    (None when nothing was raised), a value plain nested lists and numbers.
    `error` is set when the card could not be run to a truth (timeout, crash,
    an exception where none was expected, a reply the card forged or broke:
    "misbehaved"); then there is no truth. `state_changed` says what the card
    left changed in its worker, in the learner's words ("leaves torch print
    options changed"); the runner put it back or replaced the worker, so no
    later card sees it.
    """

    ok: bool
    truth: Any = None
    given_value: Any = None
    given_error: str | None = None
    error: str | None = None
    error_kind: str | None = (
        None  # "timeout" | "crashed" | "card-error" | "unavailable" | "memory" | "misbehaved"
    )
    backend: str = ""
    device: str = ""
    version: str = ""
    elapsed_ms: float = 0.0
    stdout: str = ""
    state_changed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one answer: correct, incorrect, or not gradable (`correct` None)."""

    correct: bool | None
    expected: str | None
    given: str
    backend: str
    device: str
    version: str
    elapsed_ms: float
    error: str | None = None
    truth: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "correct": self.correct,
            "expected": self.expected,
            "given": self.given,
            "backend": self.backend,
            "device": self.device,
            "version": self.version,
            "elapsed_ms": round(self.elapsed_ms, 3),
        }
        if self.error:
            d["error"] = self.error
        d.update(self.extra)
        return d


def judge(card: Card, given_text: str, parsed: Any, run: RunResult) -> Verdict:
    """Compare a parsed answer (from `answers.parse_answer`) with a run of the card."""
    common = dict(
        given=given_text.strip(),
        backend=run.backend,
        device=run.device,
        version=run.version,
        elapsed_ms=run.elapsed_ms,
    )
    if not run.ok:
        return Verdict(correct=None, expected=None, error=run.error or "the card could not be run", **common)  # type: ignore[arg-type]
    expected = format_truth(card, run.truth)
    if card.kind == Kind.CODE:
        if run.given_error:
            return Verdict(
                correct=False,
                expected=expected,
                truth=run.truth,
                extra={"given_error": run.given_error},
                **common,  # type: ignore[arg-type]
            )
        correct = same_value(run.given_value, run.truth, card.tolerance)
        return Verdict(
            correct=correct,
            expected=expected,
            truth=run.truth,
            extra={"given_value": _short(run.given_value)},
            **common,  # type: ignore[arg-type]
        )
    return Verdict(correct=matches(card, parsed, run.truth), expected=expected, truth=run.truth, **common)  # type: ignore[arg-type]


def matches(card: Card, parsed: Any, truth: Any) -> bool:
    match card.kind:
        case Kind.SHAPE:
            return tuple(parsed) == tuple(truth)
        case Kind.DTYPE | Kind.CHOICE:
            return bool(parsed == truth)
        case Kind.BOOL | Kind.GRAD_IS_NONE:
            return bool(parsed) == bool(truth)
        case Kind.VALUE:
            return same_value(parsed, truth, card.tolerance)
        case Kind.RAISES:
            raised = truth["type"] if truth else None
            if parsed is None or raised is None:
                return parsed is None and raised is None
            return bool(parsed.lower() == str(raised).lower())
    return False


DEFAULT_TOLERANCE = Tolerance()


def same_value(a: Any, b: Any, tol: Tolerance = DEFAULT_TOLERANCE) -> bool:
    """Structural equality with numbers compared within tolerance (NaN equals NaN)."""
    a, b = _complex_of(a), _complex_of(b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k], tol) for k in a)
    if _is_number(a) and _is_number(b):
        if isinstance(a, complex) or isinstance(b, complex):
            return abs(complex(a) - complex(b)) <= tol.atol + tol.rtol * abs(complex(b))
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        return math.isclose(fa, fb, rel_tol=tol.rtol, abs_tol=tol.atol)
    return bool(a == b)


def _complex_of(x: Any) -> Any:
    """The runner sends a complex number as {"complex": [re, im]} (JSON has none)."""
    if (
        isinstance(x, dict)
        and x.keys() == {"complex"}
        and isinstance(x["complex"], list)
        and len(x["complex"]) == 2
    ):
        return complex(*x["complex"])
    return x


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, complex))


def format_truth(card: Card, truth: Any) -> str:
    """The truth in the words the learner would type."""
    match card.kind:
        case Kind.SHAPE:
            return _shape_text(truth)
        case Kind.DTYPE | Kind.CHOICE:
            return str(truth)
        case Kind.BOOL:
            return "yes" if truth else "no"
        case Kind.GRAD_IS_NONE:
            return "None" if truth else "not None"
        case Kind.RAISES:
            return str(truth["type"]) if truth else "no error"
    return _short(truth)


def format_given(card: Card, parsed: Any) -> str:
    match card.kind:
        case Kind.SHAPE:
            return _shape_text(parsed)
        case Kind.BOOL:
            return "yes" if parsed else "no"
        case Kind.GRAD_IS_NONE:
            return "None" if parsed else "not None"
        case Kind.RAISES:
            return parsed or "no error"
    return str(parsed) if isinstance(parsed, str) else _short(parsed)


def _shape_text(shape: Any) -> str:
    dims = ["None" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _short(value: Any, limit: int = 400) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Ratings follow FSRS: 1 Again, 2 Hard, 3 Good, 4 Easy.
FAST_MS = 8_000
SLOW_MS = 30_000


def suggest_rating(correct: bool | None, response_ms: float) -> int | None:
    """A rating to preselect: wrong → Again; right and quick → Good; right but slow → Hard."""
    if correct is None:
        return None
    if not correct:
        return 1
    if response_ms > SLOW_MS:
        return 2
    return 3
