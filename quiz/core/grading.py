"""Verdicts: the learner's parsed answer against what the code really did.

A prediction (shape, dtype, value...) is judged against one run of the card.
A code answer (`code`, `translate`) is judged by `judge_code` on several
variants, each a `VariantCheck`: the reference's result and the learner's,
from separate runs, compared here in the parent and never in a worker.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from quiz.core.answers import Raises, visible
from quiz.core.cards import Card, Kind, Tolerance

if TYPE_CHECKING:
    from quiz.core.variables import Variant

__all__ = [
    "Raised",
    "RunResult",
    "Verdict",
    "VariantCheck",
    "judge",
    "judge_code",
    "format_truth",
    "format_given",
    "suggest_rating",
    "same_value",
    "raised_truth",
    "same_result",
    "tensor_difference",
    "answer_as",
    "source_run",
]


DEFAULT_TOLERANCE = Tolerance()


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
    """Compare a parsed answer (from `answers.parse_answer`) with a run of the card.

    Code answers are run, not parsed into a value: `judge_code` judges them.
    """
    if card.runs_learner_code:
        raise ValueError(f"a {card.kind.value} answer is judged by judge_code, on runs of the learner's code")
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


@dataclass(frozen=True, slots=True)
class VariantCheck:
    """One variant of a code answer: the reference's result and the learner's, from separate runs.

    For a `translate` card `expected` is the source framework's run of the working code.
    """

    values: dict[str, Any]  # the variant's drawn values, JSON-friendly
    expected: RunResult
    got: RunResult

    def agrees(self, card: Card) -> bool:
        return self.expected.ok and self.got.ok and same_result(card, self.got.truth, self.expected.truth)

    def to_dict(self, card: Card) -> dict[str, Any]:
        """The verdict's `failing_variant`: the values, what the reference gave, what the learner's code gave."""
        out: dict[str, Any] = {
            "values": self.values,
            "expected": format_truth(card, self.expected.truth),
            "got": format_truth(card, self.got.truth) if self.got.ok else None,
        }
        if not self.got.ok:
            out["error"] = self.got.error or "your code could not be run"
        elif card.kind == Kind.TRANSLATE:
            out["difference"] = tensor_difference(self.got.truth, self.expected.truth, card.tolerance)
        return out


def judge_code(
    card: Card,
    given_text: str,
    checks: Sequence[VariantCheck],
    *,
    smallest: VariantCheck | None = None,
    misbehaved: str | None = None,
) -> Verdict:
    """Judge a code answer over its variants (the shown one first): correct only if all agree.

    A variant whose reference could not be run is left out (a card bug for those values, not the
    learner's); when that is the shown one, or the learner's backend is unavailable, nothing is
    graded. `smallest` is the smallest failing variant hypothesis found (else the first failing
    one is shown); `misbehaved` says how the learner's code broke the runner's protocol: incorrect.
    """
    if not checks:
        raise ValueError("judge_code needs at least the shown variant")
    shown = checks[0]
    # Device and version of the card's own backend, from a run that got that far.
    runs = [c.got for c in checks] + ([] if card.kind == Kind.TRANSLATE else [c.expected for c in checks])
    own = next((r for r in runs if r.ok), shown.got)
    elapsed = sum(c.expected.elapsed_ms + c.got.elapsed_ms for c in checks)
    if smallest is not None:
        elapsed += smallest.expected.elapsed_ms + smallest.got.elapsed_ms
    common: dict[str, Any] = dict(
        given=given_text.strip(),
        backend=card.backend.value,
        device=own.device,
        version=own.version,
        elapsed_ms=elapsed,
    )
    for run in (shown.got, shown.expected):
        if not run.ok and run.error_kind == "unavailable":
            return Verdict(
                correct=None, expected=None, error=run.error or "the card could not be run", **common
            )
    if not shown.expected.ok:
        what = f"the {card.source_backend.value} source code" if card.source_backend else "the card"
        error = f"{what} could not be run: {shown.expected.error or 'no result'}"
        return Verdict(correct=None, expected=None, error=error, **common)
    compared = [c for c in checks if c.expected.ok]
    failures = [c for c in compared if not c.agrees(card)]
    extra: dict[str, Any] = {"variants_checked": len(compared)}
    if shown.got.ok:
        extra["given_value"] = format_truth(card, shown.got.truth)
    else:
        extra["given_error"] = shown.got.error or "your code could not be run"
    if card.answer is not None:
        extra["reference"] = card.answer
    if misbehaved:
        extra["misbehaved"] = misbehaved
    elif failures:
        extra["failing_variant"] = (smallest or failures[0]).to_dict(card)
    return Verdict(
        correct=not failures and not misbehaved,
        expected=format_truth(card, shown.expected.truth),
        truth=shown.expected.truth,
        extra=extra,
        **common,
    )


def same_result(card: Card, got: Any, expected: Any) -> bool:
    """A code answer's result against the reference's: as a value, or a translation's {shape, dtype, values}."""
    if card.kind == Kind.TRANSLATE:
        return tensor_difference(got, expected, card.tolerance) is None
    return same_value(got, expected, card.tolerance)


def tensor_difference(got: Any, expected: Any, tol: Tolerance = DEFAULT_TOLERANCE) -> str | None:
    """What differs between two `{shape, dtype, values}` results (None: they agree, within tolerance).

    The text stays short whatever the results hold (a forged reply may be huge, ragged or deep)."""
    try:
        return _tensor_difference(got, expected, tol)
    except RecursionError:  # nested deeper than Python compares: no tensor's result, so not the source's
        return "the results differ"


def _tensor_difference(got: Any, expected: Any, tol: Tolerance) -> str | None:
    if not (isinstance(got, dict) and isinstance(expected, dict)):
        return None if same_value(got, expected, tol) else "the results differ"
    if got.get("shape") != expected.get("shape"):
        return f"the shape is {_shape_or(got)} where the source's is {_shape_or(expected)}"
    if got.get("dtype") != expected.get("dtype"):
        return f"the dtype is {_dtype_or(got)} where the source's is {_dtype_or(expected)}"
    walk = _ValuesWalk(got.get("values"), expected.get("values"), tol)
    if walk.same:
        return None
    return "same shape and dtype, but " + walk.describe()


_MAX_PATH = 16  # deeper than any real tensor's rank: a forged reply, whose position is not worth printing


class _ValuesWalk:
    """Two nested lists of values compared element by element, without recursion (a forged reply may
    nest deeper than Python's stack): whether they agree as `same_value` would say, how many leaves
    differ, and the first that does in reading order."""

    def __init__(self, got: Any, expected: Any, tol: Tolerance) -> None:
        self.alike = True  # both laid out the same way: every position exists in both
        self.differ = self.total = 0
        self.first: tuple[tuple[int, ...], Any, Any] | None = None
        path: list[int] = []
        pending: list[Any] = [iter([(got, expected)])]
        while pending:
            pair = next(pending[-1], None)
            if pair is None:
                pending.pop()
                if path:
                    path.pop()
                continue
            if len(pending) > 1:
                path[-1] += 1
            a, b = pair
            if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
                if len(a) != len(b):
                    self.alike = False
                    return
                pending.append(zip(a, b))
                path.append(-1)
                continue
            if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
                self.alike = False
                return
            self.total += 1
            if a == b and type(a) is float is type(b):  # most leaves of a matching tensor: skip isclose
                continue
            try:
                same = same_value(a, b, tol)
            except RecursionError:  # a leaf that is a deeply nested object: not a tensor's value
                same = False
            if not same:
                self.differ += 1
                if self.first is None:
                    self.first = (tuple(path), a, b)

    @property
    def same(self) -> bool:
        return self.alike and self.differ == 0

    def describe(self) -> str:
        """`the values differ: at [0, 2] 3.5 where the source has 3.0 (2 of 6 values differ)`."""
        if not self.alike or self.first is None:
            return "the values differ"
        path, a, b = self.first
        shown = _distinct_texts(a, b)
        if not path:
            return (
                f"the value is {shown[0]} where the source's is {shown[1]}" if shown else "the value differs"
            )
        where = f" at [{', '.join(map(str, path))}]" if len(path) <= _MAX_PATH else ""
        what = f" {shown[0]} where the source has {shown[1]}" if shown else ""
        count = f"{self.differ} of {self.total} values {'differs' if self.differ == 1 else 'differ'}"
        return (
            f"the values differ:{where}{what} ({count})" if where or what else f"the values differ ({count})"
        )


def _distinct_texts(a: Any, b: Any) -> tuple[str, str] | None:
    """Two differing values as short texts that differ too: float32-like digits first, more when those
    read the same or hide that a float is not a whole number; None when no short text tells them apart."""
    for digits in (6, 9, 17):
        ta, tb = _number(a, digits), _number(b, digits)
        if ta is not None and tb is not None and ta != tb:
            return ta, tb
    return None


def _number(x: Any, digits: int) -> str | None:
    """`x` in at most 40 characters; None when that many digits would misstate the float."""
    x = _complex_of(x)
    if isinstance(x, float):
        text = f"{x:.{digits}g}"
        if text.lstrip("-").isdigit():  # `123457` for 123456.7 would read as exact: more digits, or `.0`
            return text + ".0" if float(text) == x else None
        return text
    text = _short(x, 40)
    return None if text.endswith("…") else text


def _shape_or(t: dict[str, Any]) -> str:
    shape = t.get("shape")
    if isinstance(shape, list) and len(shape) <= 64 and all(d is None or type(d) is int for d in shape):
        text = _shape_text(shape)
        return text if len(text) <= 80 else text[:79] + "…"
    return _short(shape, 80)  # a forged shape: escaped by repr, and short


_DTYPE_NAME = re.compile(r"[A-Za-z0-9_.\[\]]{1,40}")


def _dtype_or(t: dict[str, Any]) -> str:
    dtype = t.get("dtype")
    return dtype if isinstance(dtype, str) and _DTYPE_NAME.fullmatch(dtype) else _short(dtype, 40)


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
        case Kind.TRANSLATE:
            if isinstance(truth, dict) and {"shape", "dtype", "values"} <= truth.keys():
                return f"{_dtype_or(truth)} {_shape_or(truth)}: {_short(truth['values'])}"
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
    try:
        text = repr(value)
    except RecursionError:  # a forged reply nested deeper than repr goes
        return "(nested too deeply to show)"
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


# --- the runs a code answer is graded on ------------------------------------------------


def answer_as(shown: Card, variant: Variant, text: str) -> tuple[Card, Variant]:
    """The run of the learner's code: the variant's code, then `text` in place of the reference
    answer (and `result` after it). The reference is nowhere in the request: the runner reads
    `answer` from the variant before the card, so both carry the learner's text."""
    return replace(shown, answer=text, source_code=None), replace(variant, answer=text, source_code=None)


def source_run(shown: Card, variant: Variant) -> tuple[Card, Variant]:
    """A translate card's working code, as its source framework's worker runs it: `source_code`,
    then `result`; no answer at all."""
    if shown.source_backend is None or variant.source_code is None:
        raise ValueError(f"{shown.uid} is not a translate card")
    card = replace(
        shown,
        backend=shown.source_backend,
        code=variant.source_code,
        answer="",
        source_backend=None,
        source_code=None,
    )
    return card, replace(variant, code=variant.source_code, answer="", source_code=None)
