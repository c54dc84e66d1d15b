"""Sibling cards: the values drawn for one card of a family, reused on another backend's card.

After a verdict the app runs the card's family on the other backends side by
side; the comparison is like for like when the sibling can take the very same
values. Pure: reads only the cards' variable specs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quiz.core.cards import Card
from quiz.core.expr import ExprError, evaluate
from quiz.core.variables import SPEC_KINDS

__all__ = ["shared_values"]


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _freeze(v: Any) -> Any:
    return tuple(_freeze(x) for x in v) if isinstance(v, (list, tuple)) else v


def _bounds(value: Any, env: Mapping[str, Any]) -> tuple[Any, Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    lo, hi = value
    return (evaluate(lo, env) if isinstance(lo, str) else lo), (
        evaluate(hi, env) if isinstance(hi, str) else hi
    )


def _fits(
    spec: Mapping[str, Any], v: Any, env: Mapping[str, Any], original: Mapping[str, Any] | None
) -> bool:
    kind = next(k for k in spec if k in SPEC_KINDS)
    value = spec[kind]
    if original is not None and dict(original) == dict(spec):
        return True  # the same spec, over the same earlier values
    if kind == "choice":
        return any(_same(v, _freeze(x)) for x in value)
    if kind == "bool":
        return isinstance(v, bool)
    if kind in ("int", "float"):
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float))
            or (kind == "int" and not isinstance(v, int))
        ):
            return False
        lo, hi = _bounds(value, env)
        return bool(lo <= v <= hi)
    if kind == "shape":
        if not isinstance(v, tuple) or not all(isinstance(d, int) for d in v):
            return False
        rlo, rhi = _bounds(value.get("rank", [1, 4]), env)
        slo, shi = _bounds(value.get("side", [1, 5]), env)
        return bool(rlo <= len(v) <= rhi and all(slo <= d <= shi for d in v))
    if kind == "permutation":
        source = env.get(value) if isinstance(value, str) else value
        n = len(source) if isinstance(source, tuple) else source
        return isinstance(v, tuple) and sorted(v) == list(range(int(n)))  # type: ignore[arg-type]
    return False  # reshape_of, broadcast: only under the very same spec


def shared_values(
    card: Card, values: Mapping[str, Any], original_specs: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any] | None:
    """`values` (drawn for a card of the same family) as `card`'s own, if every variable it declares
    is among them and within its spec, and its conditions hold; derived (`expr`) variables are
    recomputed. None when the card needs values of its own."""
    env: dict[str, Any] = {}
    try:
        for name, spec in card.variables:
            if "expr" in spec:
                env[name] = evaluate(spec["expr"], env)
                continue
            if name not in values:
                return None
            v = _freeze(values[name])
            if not _fits(spec, v, env, (original_specs or {}).get(name)):
                return None
            env[name] = v
        for cond in card.assume:
            if not evaluate(cond, env):
                return None
    except (ExprError, KeyError, TypeError, ValueError):
        return None
    return env
