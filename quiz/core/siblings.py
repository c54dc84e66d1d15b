"""Sibling cards: one card family on other backends, run with the learner's values and compared.

After a verdict the app runs the card's family on the other backends side by
side. The comparison is like for like only when the sibling asks the same kind
of question and takes the very same values: `share` says whether it can (and
why not, in the learner's words), `compare` marks each sibling's real result
as the same as the learner's card or different, and refuses to mark what is not
comparable. Pure: reads only cards, values and run results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from quiz.core.cards import Card, Kind, Tolerance
from quiz.core.expr import ExprError, evaluate, names_in
from quiz.core.grading import Raised, RunResult, format_truth, raised_truth, same_result, same_value
from quiz.core.variables import SPEC_KINDS

__all__ = ["Comparison", "Mark", "Shared", "compare", "drawn", "pinned", "share", "shared_values"]

# A value shown in a reason is cut to this many characters (a drawn array can be long).
_SHOWN = 40


@dataclass(frozen=True, slots=True)
class Shared:
    """The learner's values as a sibling's own (`values`), or why the sibling draws its own (`why_not`)."""

    values: dict[str, Any] | None
    why_not: str = ""


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _freeze(v: Any) -> Any:
    return tuple(_freeze(x) for x in v) if isinstance(v, (list, tuple)) else v


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _bounds(value: Any, env: Mapping[str, Any]) -> tuple[Any, Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    lo, hi = value
    return (evaluate(lo, env) if isinstance(lo, str) else lo), (
        evaluate(hi, env) if isinstance(hi, str) else hi
    )


def _range(lo: Any, hi: Any) -> str:
    return str(lo) if lo == hi else f"{lo}..{hi}"


def _spec_names(value: Any) -> set[str]:
    """The variables a spec's bounds refer to."""
    if isinstance(value, str):
        try:
            return names_in(value)
        except ExprError:
            return set()
    if isinstance(value, Mapping):
        return set().union(*(_spec_names(v) for v in value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*(_spec_names(v) for v in value)) if value else set()
    return set()


def _misfit(
    name: str,
    spec: Mapping[str, Any],
    v: Any,
    env: Mapping[str, Any],
    values: Mapping[str, Any],
    original: Mapping[str, Any] | None,
) -> str | None:
    """Why `v` is not a value this spec could have drawn (None: it fits)."""
    kind = next(k for k in spec if k in SPEC_KINDS)
    value = spec[kind]
    shown = f"{name} = {_short(v)}"
    if kind == "choice":
        if any(_same(v, _freeze(x)) for x in value):
            return None
        return f"{shown} is not one of this card's choices"
    if kind == "bool":
        return None if isinstance(v, bool) else f"{shown} is not true or false"
    if kind in ("int", "float"):
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float))
            or (kind == "int" and not isinstance(v, int))
        ):
            return f"{shown} is not {'a whole number' if kind == 'int' else 'a number'}"
        lo, hi = _bounds(value, env)
        if not lo <= v <= hi:
            return f"{shown} is outside this card's {_range(lo, hi)}"
        if kind == "float" and isinstance(v, float) and round(v, spec.get("places", 2)) != v:
            return f"{shown} has more decimals than this card's"
        return None
    if kind == "shape":
        if not isinstance(v, tuple) or not all(isinstance(d, int) and not isinstance(d, bool) for d in v):
            return f"{shown} is not a shape"
        rlo, rhi = _bounds(value.get("rank", [1, 4]), env)
        slo, shi = _bounds(value.get("side", [1, 5]), env)
        if not rlo <= len(v) <= rhi:
            return f"{shown} has {len(v)} axes, this card {_range(rlo, rhi)}"
        if not all(slo <= d <= shi for d in v):
            return f"{shown} has a side outside this card's {_range(slo, shi)}"
        return None
    if kind == "permutation":
        source = env.get(value) if isinstance(value, str) else value
        n = len(source) if isinstance(source, tuple) else source
        if isinstance(n, int) and isinstance(v, tuple) and sorted(v) == list(range(n)):
            return None
        return f"{shown} is not a permutation of {n} axes"
    # reshape_of, broadcast, array: shared only under the very same spec, over the very same
    # values of every variable the spec refers to (what the learner's card drew them from).
    same_spec = original is not None and dict(original) == dict(spec)
    if same_spec and all(n in values and _same(_freeze(values[n]), env.get(n)) for n in _spec_names(spec)):
        return None
    return f"{name} is drawn differently on this card"


def share(
    card: Card, values: Mapping[str, Any], original_specs: Mapping[str, Mapping[str, Any]] | None = None
) -> Shared:
    """`values` (drawn for a card of the same family, whose specs are `original_specs`) as `card`'s
    own, if every variable it declares is among them and within its spec, and its conditions hold;
    derived (`expr`) variables are recomputed. Else `why_not` says what stops it."""
    env: dict[str, Any] = {}
    originals = original_specs or {}
    try:
        for name, spec in card.variables:
            if "expr" in spec:
                env[name] = evaluate(spec["expr"], env)
                continue
            if name not in values:
                return Shared(None, f"it has a variable your card does not: {name}")
            v = _freeze(values[name])
            why = _misfit(name, spec, v, env, values, originals.get(name))
            if why:
                return Shared(None, why)
            env[name] = v
        for cond in card.assume:
            if not evaluate(cond, env):
                return Shared(None, f"your values break its condition {cond}")
    except (ExprError, KeyError, TypeError, ValueError) as exc:
        return Shared(None, f"its variables do not take your values ({type(exc).__name__})")
    return Shared(env)


def pinned(
    card: Card, values: Mapping[str, Any], original_specs: Mapping[str, Mapping[str, Any]] | None = None
) -> Card | None:
    """`card` with each drawn variable that can take the learner's value fixed to it (a one-value
    choice), the rest left to draw: for a sibling that cannot take all of them (`share`), so that it
    still shows as many of the learner's values as its specs allow. None when none can be kept.

    A variable is kept only when every variable its spec refers to is kept too (its bounds are then
    those the learner's values give); conditions are still checked when the copy is drawn.
    """
    originals = original_specs or {}
    env: dict[str, Any] = {}
    specs: list[tuple[str, dict[str, Any]]] = []
    kept = 0
    for name, spec in card.variables:
        new = dict(spec)
        try:
            if "expr" in spec:
                if _spec_names(spec["expr"]) <= env.keys():
                    env[name] = evaluate(spec["expr"], env)
            elif name in values and _spec_names(spec) <= env.keys():
                v = _freeze(values[name])
                if _misfit(name, spec, v, env, values, originals.get(name)) is None:
                    env[name] = v
                    new = {"choice": [v]}
                    kept += 1
        except (ExprError, KeyError, TypeError, ValueError):
            pass
        specs.append((name, new))
    if not kept:
        return None
    # Its own id: drawing it must not take the place of the card's own cached strategy.
    return replace(card, id=f"{card.id}~yours", variables=tuple(specs))


def shared_values(
    card: Card, values: Mapping[str, Any], original_specs: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any] | None:
    """`share(...)`'s values: None when the card needs values of its own."""
    return share(card, values, original_specs).values


# --- the comparison ---------------------------------------------------------------------


class Mark(StrEnum):
    """A sibling's result against the learner's card."""

    SAME = "same"
    DIFFERS = "differs"
    NOT_COMPARED = "not compared"


@dataclass(frozen=True, slots=True)
class Comparison:
    mark: Mark
    why: str = ""  # for NOT_COMPARED: what stops the comparison; for DIFFERS: what the learner's gave


def drawn(card: Card) -> tuple[str, ...]:
    """The card's drawn variables (not those derived by `expr`)."""
    return tuple(name for name, spec in card.variables if "expr" not in spec)


def _outcome(card: Card, run: RunResult) -> tuple[bool, Any] | None:
    """(raised?, what): an exception's short name, or the truth; None when there is no result."""
    if isinstance(run.truth, Raised):  # a `may_raise` card's verdict carries what was raised
        return True, run.truth.type
    if not run.ok:
        raised = raised_truth(card, run)
        return (True, raised.type) if raised is not None else None
    return False, run.truth


def _exception_name(truth: Any) -> str | None:
    """A `raises` card's truth: the exception's short name, or None when nothing was raised."""
    if not truth:
        return None
    name = truth.get("type") if isinstance(truth, Mapping) else None
    return str(name).rsplit(".", 1)[-1] if name else "?"


def _as_tuples(x: Any) -> Any:
    return tuple(_as_tuples(v) for v in x) if isinstance(x, (list, tuple)) else x


def _same_truth(kind: Kind, a: Any, b: Any, tol: Tolerance, card: Card) -> bool:
    match kind:
        case Kind.SHAPE | Kind.DTYPE:
            return bool(_as_tuples(a) == _as_tuples(b))
        case Kind.BOOL | Kind.GRAD_IS_NONE:
            return bool(a) == bool(b)
        case Kind.RAISES:
            return _exception_name(a) == _exception_name(b)
        case Kind.CHOICE:
            return isinstance(a, str) and a == b
        case Kind.VALUE:
            return same_value(a, b, tol)
        case Kind.CODE | Kind.TRANSLATE:
            return same_result(card, a, b)
    return False


def compare(
    mine: Card,
    my_run: RunResult,
    sibling: Card,
    its_run: RunResult,
    *,
    same_values: bool,
    why_not: str = "",
    my_choices: tuple[str, ...] = (),
    its_choices: tuple[str, ...] = (),
) -> Comparison:
    """The sibling's real result against the learner's card: SAME or DIFFERS only when both ran,
    ask the same kind of question, and (where either card has variables) took the same values.

    `my_choices`/`its_choices` are the options as each variant shows them (a choice card is
    compared only over the same options).
    """
    if sibling.kind != mine.kind:
        return Comparison(Mark.NOT_COMPARED, f"it asks another question ({sibling.kind.value})")
    if not same_values and (mine.variables or sibling.variables):
        return Comparison(Mark.NOT_COMPARED, why_not or "it drew its own values")
    if drawn(mine) and not drawn(sibling):
        return Comparison(Mark.NOT_COMPARED, "a fixed example: it takes none of your values")
    if mine.kind == Kind.CHOICE and my_choices != its_choices:
        return Comparison(Mark.NOT_COMPARED, "it offers other options")
    ours, theirs = _outcome(mine, my_run), _outcome(sibling, its_run)
    if ours is None:
        return Comparison(Mark.NOT_COMPARED, "your card gave no result to compare with")
    if theirs is None:
        return Comparison(Mark.NOT_COMPARED, "it could not be run")
    # The stricter tolerance of the two: a "same" must hold for both cards.
    tol = Tolerance(
        rtol=min(mine.tolerance.rtol, sibling.tolerance.rtol),
        atol=min(mine.tolerance.atol, sibling.tolerance.atol),
    )
    (my_raised, my_what), (its_raised, its_what) = ours, theirs
    if my_raised or its_raised:
        same = my_raised == its_raised and my_what == its_what
    else:
        same = _same_truth(mine.kind, my_what, its_what, tol, mine)
    if same:
        return Comparison(Mark.SAME)
    yours = f"raises {my_what}" if my_raised else format_truth(mine, my_what)
    return Comparison(Mark.DIFFERS, f"yours: {yours}")
