"""Variants that differ from a drawn one in a single variable, for the check's `inert` flag.

A card's variables are there to change its truth: a variable that never does,
while the others stay as drawn, is a decoy the learner can ignore (or a
sign that the draw cannot show the rule). `alternatives` builds, from one
drawn variant, the variants that change only `name` (and the `expr`
variables computed from it), each still one the card's specs could draw:
bounds re-evaluated, shapes, permutations and reshapes still valid, every
`assume` condition true, rendered choices still distinct.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from quiz.core.cards import Card
from quiz.core.expr import ExprError, evaluate, names_in
from quiz.core.variables import SPEC_KINDS, render, shape_values

__all__ = ["alternatives", "constrained_variables", "drawn_variables", "spec_refs"]


def _kind(spec: Mapping[str, Any]) -> str:
    return next(k for k in spec if k in SPEC_KINDS)


def _expr_names(bound: Any) -> set[str]:
    if not isinstance(bound, str):
        return set()
    try:
        return names_in(bound)
    except ExprError:
        return set()


def spec_refs(spec: Mapping[str, Any]) -> set[str]:
    """The variables a spec's bounds, source or expression name."""
    kind = _kind(spec)
    value = spec[kind]
    out: set[str] = set()
    if kind in ("int", "float") and isinstance(value, list):
        for b in value:
            out |= _expr_names(b)
    elif kind == "shape" and isinstance(value, dict):
        for key in ("rank", "side"):
            bounds = value.get(key)
            for b in bounds if isinstance(bounds, list) else [bounds]:
                out |= _expr_names(b)
    elif kind in ("permutation", "reshape_of") and isinstance(value, str):
        out.add(value)
        if kind == "reshape_of":
            bounds = spec.get("rank")
            for b in bounds if isinstance(bounds, list) else [bounds]:
                out |= _expr_names(b)
    elif kind == "expr":
        out |= _expr_names(value)
    elif kind == "array":  # `array = "s"` or `array = ["B", "m", 3]`: the sizes it is drawn with
        for d in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
            out |= _expr_names(d)
    return out


def constrained_variables(card: Card) -> set[str]:
    """Variables a later drawn variable depends on (`s` of `reshape_of = "s"`, `n` of `int = [0, "n"]`).

    Changed alone, such a variable can only move within what the later value
    allows (a reshape keeps the element count), which may be exactly what
    decides the truth; the probe leaves them alone.
    """
    out: set[str] = set()
    for _, spec in card.variables:
        if _kind(spec) != "expr":
            out |= spec_refs(spec)
    return out


def drawn_variables(card: Card) -> list[str]:
    """The card's drawn variables (every kind but `expr`), in order."""
    return [name for name, spec in card.variables if _kind(spec) != "expr"]


def _bounds(value: Any, env: Mapping[str, Any]) -> tuple[float, float]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    lo, hi = (evaluate(b, env) if isinstance(b, str) else b for b in value)
    return lo, hi


def _int_range(value: Any, env: Mapping[str, Any]) -> tuple[int, int]:
    lo, hi = _bounds(value, env)
    return math.ceil(lo), math.floor(hi)


def _is_shape(v: Any) -> bool:
    return isinstance(v, tuple) and all(isinstance(d, int) and not isinstance(d, bool) for d in v)


def _valid(spec: Mapping[str, Any], v: Any, env: Mapping[str, Any]) -> bool:
    """Could `spec` have drawn `v` with the earlier variables in `env`?"""
    kind = _kind(spec)
    value = spec[kind]
    try:
        if kind == "int":
            lo, hi = _int_range(value, env)
            return bool(lo <= v <= hi)
        if kind == "float":
            return bool(value[0] <= v <= value[1])
        if kind == "shape":
            rlo, rhi = _int_range(value.get("rank", [1, 4]), env)
            slo, shi = _int_range(value.get("side", [1, 5]), env)
            return _is_shape(v) and rlo <= len(v) <= rhi and all(slo <= d <= shi for d in v)
        if kind == "permutation":
            source = env[value] if isinstance(value, str) else value
            n = len(source) if isinstance(source, tuple) else int(source)
            return tuple(sorted(v)) == tuple(range(n))
        if kind == "reshape_of":
            source = env[value]
            rlo, rhi = _int_range(spec.get("rank", [1, 4]), env)
            if not (_is_shape(v) and max(rlo, 1) <= len(v) <= rhi):
                return False
            total, known = math.prod(source), math.prod(d for d in v if d != -1)
            if -1 in v:
                return bool(spec.get("infer")) and v.count(-1) == 1 and known > 0 and total % known == 0
            return bool(known == total)
        if kind in ("choice", "bool", "broadcast"):
            return True  # these specs name no other variable
    except (ExprError, KeyError, TypeError, ValueError):
        return False
    return False


def _candidates(
    spec: Mapping[str, Any], current: Any, env: Mapping[str, Any], seen: Sequence[Any]
) -> list[Any]:
    """Other values of one variable, most telling first."""
    kind = _kind(spec)
    value = spec[kind]
    out: list[Any] = []
    if kind == "bool":
        out = [not current]
    elif kind == "choice":
        out = list(shape_values(value))
    elif kind == "int":
        try:
            lo, hi = _int_range(value, env)
        except (ExprError, TypeError, ValueError):
            return []
        out = [lo, hi, current + 1, current - 1, (lo + hi) // 2]
    elif kind == "float":
        lo, hi = value
        places = spec.get("places", 2)
        out = [round(float(lo), places), round(float(hi), places), round((lo + hi) / 2, places)]
    elif kind == "permutation" and isinstance(current, tuple) and len(current) <= 4:
        out = list(itertools.permutations(range(len(current))))  # the identity first
    else:
        out = list(seen)
    unique: list[Any] = []
    for c in out:
        if c != current and c not in unique and (type(c) is type(current) or kind == "choice"):
            unique.append(c)
    return unique


def alternatives(
    card: Card, values: Mapping[str, Any], name: str, seen: Sequence[Any] = ()
) -> Iterator[dict[str, Any]]:
    """Variants (as full value dicts) that change only `name`, and what is computed from it.

    `seen` holds values of `name` in other drawn variants: the candidates for
    kinds that cannot be enumerated (shapes, permutations, reshapes, broadcasts).
    """
    specs = dict(card.variables)
    order = [n for n, _ in card.variables]
    if name not in specs or name not in values:
        return
    later = order[order.index(name) + 1 :]
    templated_choices = tuple(c for c in card.choices if "${" in c)
    earlier = {n: values[n] for n in order[: order.index(name)] if n in values}
    for candidate in _candidates(specs[name], values[name], earlier, seen):
        if not _valid(specs[name], candidate, earlier):
            continue
        env = dict(values)
        env[name] = candidate
        changed = {name}
        ok = True
        for other in later:
            spec = specs[other]
            if not spec_refs(spec) & changed:
                continue
            if _kind(spec) == "expr":
                try:
                    env[other] = evaluate(spec["expr"], env)
                except ExprError:
                    ok = False
                    break
                changed.add(other)
            elif not _valid(spec, env.get(other), env):
                ok = False
                break
        if not ok:
            continue
        try:
            if not all(evaluate(cond, env) for cond in card.assume):
                continue
            if templated_choices:
                rendered = [render(c, env) for c in card.choices]
                if len(set(rendered)) != len(rendered):
                    continue
        except ExprError:
            continue
        yield env
