"""Verdicts: the learner's parsed answer against what the code really did."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from quiz.core.answers import Raises, visible
from quiz.core.cards import Card, Kind, Tolerance

__all__ = [
    "Raised",
    "RunResult",
    "Verdict",
    "judge",
    "format_truth",
    "format_given",
    "suggest_rating",
    "same_value",
    "raised_truth",
]


@dataclass(frozen=True, slots=True)
class RunResult:
    """What running one variant produced, as plain data (from the runner, over a pipe).

    `truth` is normalised by the backend adapter: a shape is a list of ints, a
    dtype its canonical name, a raised exception `{"type", "module", "message"}`
    (None when nothing was raised), a value plain nested lists and numbers.
    `error` is set when the card could not be run to a truth (timeout, crash,
    an exception where none was expected); then there is no truth.
    """

    ok: bool
    truth: Any = None
    given_value: Any = None
    given_error: str | None = None
    error: str | None = None
    error_kind: str | None = None  # "timeout" | "crashed" | "card-error" | "unavailable" | "memory"
    backend: str = ""
    device: str = ""
    version: str = ""
    elapsed_ms: float = 0.0
    stdout: str = ""
    # A card-error run whose code raised: `{"type", "module", "message"}` (the truth of a `may_raise` card).
    raised: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Raised:
    """The truth of a `may_raise` card whose code failed: the exception it raised."""

    type: str
    module: str = ""
    message: str = ""


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
        raised = raised_truth(card, run)
        if raised is not None:  # the card invites "error": the failure is its truth
            return _judge_raised(parsed, raised, common)
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


_CLASS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
# Exceptions that say the card's own text is broken, not that the code fails as the prompt invites.
_CARD_FAULTS = {"SyntaxError", "IndentationError", "TabError"}


def raised_truth(card: Card, run: RunResult) -> Raised | None:
    """What the code of a `may_raise` card raised, when a run failed because of it (None otherwise)."""
    raised = run.raised
    if not card.may_raise or run.error_kind != "card-error" or not isinstance(raised, dict):
        return None
    name = raised.get("type")
    if not isinstance(name, str) or len(name) > 200 or not _CLASS_NAME.fullmatch(name):
        return None  # a reply that does not name a class: the card is not graded
    name = name.rsplit(".", 1)[-1]
    if name in _CARD_FAULTS:
        return None
    module, message = raised.get("module"), raised.get("message")
    return Raised(  # deck code wrote these: shown with control characters made visible
        type=name,
        module=visible(module[:200]) if isinstance(module, str) else "",
        message=visible(message[:500]) if isinstance(message, str) else "",
    )


def _judge_raised(parsed: Any, raised: Raised, common: dict[str, Any]) -> Verdict:
    """`error` is right when the code raised anything, `raises X` when it raised X; any other
    prediction is wrong, because the code did not get as far as a value."""
    if isinstance(parsed, Raises):
        correct = parsed.name is None or parsed.name.lower() == raised.type.lower()
    else:
        correct = False
    return Verdict(
        correct=correct,
        expected=f"raises {raised.type}",
        truth=raised,
        extra={"raised": {"type": raised.type, "module": raised.module, "message": raised.message}},
        **common,
    )


def matches(card: Card, parsed: Any, truth: Any) -> bool:
    if isinstance(parsed, Raises):
        return False  # the code ran to a truth: it did not fail
    match card.kind:
        case Kind.SHAPE | Kind.DTYPE:
            # Element-wise, so a pair of shapes or dtypes compares too; the runner sends lists.
            return bool(_as_lists(parsed) == _as_lists(truth))
        case Kind.CHOICE:
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


def _as_lists(x: Any, depth: int = 0) -> Any:
    """Tuples and lists as lists, two levels down (a shape, or a tuple of shapes): comparable with `==`."""
    if isinstance(x, (list, tuple)) and depth < 2:
        return [_as_lists(v, depth + 1) for v in x]
    return x


def format_truth(card: Card, truth: Any) -> str:
    """The truth in the words the learner would type."""
    if isinstance(truth, Raised):
        return f"raises {truth.type}"
    match card.kind:
        case Kind.SHAPE:
            return _shapes_text(truth)
        case Kind.DTYPE:
            return _dtypes_text(truth)
        case Kind.CHOICE:
            return str(truth)
        case Kind.BOOL:
            return "yes" if truth else "no"
        case Kind.GRAD_IS_NONE:
            return "None" if truth else "not None"
        case Kind.RAISES:
            return str(truth["type"]) if truth else "no error"
    return _short(truth)


def format_given(card: Card, parsed: Any) -> str:
    if isinstance(parsed, Raises):
        return str(parsed)
    match card.kind:
        case Kind.SHAPE:
            return _shapes_text(parsed)
        case Kind.DTYPE:
            return _dtypes_text(parsed)
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


def _shapes_text(shape: Any) -> str:
    """`(2, 3)`, or `((2, 3), (3,))` for a tuple of shapes."""
    if not isinstance(shape, (list, tuple)):
        return _short(shape)
    if shape and all(isinstance(s, (list, tuple)) for s in shape):
        return _tuple_text([_shape_text(s) for s in shape])
    return _shape_text(shape)


def _dtypes_text(dtype: Any) -> str:
    """`float32`, or `(float64, int64)` for a tuple of dtypes."""
    if isinstance(dtype, (list, tuple)):
        return _tuple_text([str(d) for d in dtype])
    return str(dtype)


def _tuple_text(items: list[str]) -> str:
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


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
