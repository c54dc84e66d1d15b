"""Card variables: validate their specs, turn them into hypothesis strategies, draw variants.

A variant is reproducible from `(card uid, seed)` in any process: the seed
feeds a `random.Random` (seeded from a string, so PYTHONHASHSEED plays no
part) that drives one hypothesis `ConjectureData`. Hypothesis' "local
constants" (numbers it harvests from whatever local modules are imported, so
they differ between a source checkout and an installed copy) are switched
off, and nothing is written to a `.hypothesis` directory. Hypothesis is
imported on the first draw, never by the deck loader.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from random import Random
from typing import TYPE_CHECKING, Any

from quiz.core.expr import ExprError, compile_expr, evaluate, names_in

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from quiz.core.cards import Card

__all__ = [
    "SpecError",
    "Variant",
    "draw_variant",
    "render",
    "strategy_for",
    "validate_spec",
    "NoVariantError",
]

SPEC_KINDS = ("int", "choice", "bool", "float", "shape", "permutation", "reshape_of", "broadcast", "expr")
_EXTRA_KEYS = {
    "float": {"places"},
    "reshape_of": {"rank", "infer"},
}
PLACEHOLDER_RE = re.compile(r"\$\{([^}]*)\}")
MAX_ATTEMPTS = 100


class SpecError(ValueError):
    """A variable spec that cannot be drawn from."""


class NoVariantError(RuntimeError):
    """The card's `assume` conditions rejected every attempt."""


@dataclass(frozen=True, slots=True)
class Variant:
    """One concrete review of a card: drawn values, and prompt and code with them filled in."""

    card_uid: str
    seed: int
    values: dict[str, Any]
    prompt: str
    code: str

    def values_json(self) -> dict[str, Any]:
        """The drawn values as JSON-friendly data (tuples become lists)."""
        return {k: _jsonable(v) for k, v in self.values.items()}


def _jsonable(v: Any) -> Any:
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    return v


def _freeze(v: Any) -> Any:
    """TOML lists become tuples, so a drawn shape renders as `(2, 3)`."""
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return v


# --- validation (no hypothesis here: the loader must stay light) -------------


def _range_pair(value: Any, what: str, defined: set[str]) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        return
    if not (isinstance(value, list) and len(value) == 2):
        raise SpecError(f"{what} must be [lo, hi]")
    for bound in value:
        _bound_ok(bound, what, defined)


def _bound_ok(bound: Any, what: str, defined: set[str]) -> None:
    if isinstance(bound, bool) or not isinstance(bound, (int, float, str)):
        raise SpecError(f"{what}: bounds are numbers or expressions")
    if isinstance(bound, str):
        try:
            compile_expr(bound)
            missing = names_in(bound) - defined
        except ExprError as exc:
            raise SpecError(f"{what}: {exc}") from None
        if missing:
            raise SpecError(f"{what} uses undefined variable {', '.join(sorted(missing))}")


def validate_spec(name: str, spec: Any, defined: set[str]) -> None:
    """Raise SpecError unless `spec` is a drawable variable spec."""
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise SpecError(f"variable name {name!r} is not an identifier")
    if not isinstance(spec, dict):
        raise SpecError(f"variable {name!r}: spec must be a table such as {{ int = [1, 4] }}")
    kinds = [k for k in spec if k in SPEC_KINDS]
    if len(kinds) != 1:
        raise SpecError(
            f"variable {name!r}: give exactly one of {', '.join(SPEC_KINDS)}"
            + (f" (found {', '.join(kinds)})" if kinds else "")
        )
    kind = kinds[0]
    extra = set(spec) - {kind} - _EXTRA_KEYS.get(kind, set())
    if extra:
        raise SpecError(f"variable {name!r}: unknown key {', '.join(sorted(extra))} for a {kind} spec")
    value = spec[kind]
    what = f"variable {name!r}"
    if kind == "int":
        if not isinstance(value, list) or len(value) != 2:
            raise SpecError(f"{what}: int = [lo, hi]")
        for bound in value:
            _bound_ok(bound, what, defined)
    elif kind == "choice":
        if not isinstance(value, list) or not value:
            raise SpecError(f"{what}: choice = [a non-empty list of values]")
    elif kind == "bool":
        if value is not True:
            raise SpecError(f"{what}: write bool = true")
    elif kind == "float":
        if not isinstance(value, list) or len(value) != 2:
            raise SpecError(f"{what}: float = [lo, hi]")
        for bound in value:
            if isinstance(bound, bool) or not isinstance(bound, (int, float)):
                raise SpecError(f"{what}: float bounds are numbers")
        if not isinstance(spec.get("places", 2), int):
            raise SpecError(f"{what}: places must be an integer")
    elif kind == "shape":
        if not isinstance(value, dict) or set(value) - {"rank", "side"}:
            raise SpecError(f"{what}: shape = {{ rank = [lo, hi], side = [lo, hi] }}")
        _range_pair(value.get("rank", [1, 4]), f"{what} rank", defined)
        _range_pair(value.get("side", [1, 5]), f"{what} side", defined)
    elif kind == "permutation":
        if isinstance(value, str):
            if value not in defined:
                raise SpecError(f"{what}: permutation of undefined variable {value!r}")
        elif not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 8):
            raise SpecError(f'{what}: permutation = "shape_var" or a number of axes (0-8)')
    elif kind == "reshape_of":
        if not isinstance(value, str) or value not in defined:
            raise SpecError(f"{what}: reshape_of names an earlier shape variable")
        _range_pair(spec.get("rank", [1, 4]), f"{what} rank", defined)
        if not isinstance(spec.get("infer", False), bool):
            raise SpecError(f"{what}: infer must be true or false")
    elif kind == "broadcast":
        if not isinstance(value, dict) or set(value) - {"num_shapes", "signature", "rank", "side"}:
            raise SpecError(
                f'{what}: broadcast = {{ num_shapes = 2 | signature = "...", rank = [..], side = [..] }}'
            )
        if ("num_shapes" in value) == ("signature" in value):
            raise SpecError(f"{what}: broadcast takes either num_shapes or signature")
        if "num_shapes" in value and not (
            isinstance(value["num_shapes"], int) and 1 <= value["num_shapes"] <= 6
        ):
            raise SpecError(f"{what}: num_shapes is 1-6")
        if "signature" in value and not isinstance(value["signature"], str):
            raise SpecError(f'{what}: signature is a string like "(m,n),(n,p)->(m,p)"')
        for key, default in (("rank", [0, 3]), ("side", [1, 4])):
            v = value.get(key, default)
            if isinstance(v, int):
                v = [v, v]
            if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) for x in v)):
                raise SpecError(f"{what}: broadcast {key} = [lo, hi] of integers")
        if "signature" in value:
            try:
                _broadcast_strategy(value)
            except Exception as exc:  # hypothesis validates the signature
                raise SpecError(f"{what}: {exc}") from None
    elif kind == "expr":
        if not isinstance(value, str):
            raise SpecError(f"{what}: expr is an expression string")
        _bound_ok(value, what, defined)


# --- strategies -------------------------------------------------------------


def _pair(value: Any, env: Mapping[str, Any]) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    lo, hi = (_bound(b, env) for b in value)
    return int(lo), int(hi)


def _bound(bound: Any, env: Mapping[str, Any]) -> Any:
    return evaluate(bound, env) if isinstance(bound, str) else bound


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def _broadcast_strategy(value: Mapping[str, Any]) -> SearchStrategy[Any]:
    import hypothesis.extra.numpy as hnp

    rank = value.get("rank", [0, 3])
    side = value.get("side", [1, 4])
    rlo, rhi = (rank, rank) if isinstance(rank, int) else rank
    slo, shi = (side, side) if isinstance(side, int) else side
    if "signature" in value:
        return hnp.mutually_broadcastable_shapes(
            signature=value["signature"], min_dims=rlo, max_dims=rhi, min_side=slo, max_side=shi
        ).map(lambda b: tuple(b.input_shapes))
    return hnp.mutually_broadcastable_shapes(
        num_shapes=value["num_shapes"], min_dims=rlo, max_dims=rhi, min_side=slo, max_side=shi
    ).map(lambda b: tuple(b.input_shapes))


def _draw_value(draw: Any, spec: Mapping[str, Any], env: Mapping[str, Any]) -> Any:
    from hypothesis import reject
    from hypothesis import strategies as st

    kind = next(k for k in spec if k in SPEC_KINDS)
    value = spec[kind]
    if kind == "int":
        lo, hi = (int(_bound(b, env)) for b in value)
        if lo > hi:
            reject()
        return draw(st.integers(lo, hi))
    if kind == "choice":
        return _freeze(draw(st.sampled_from(value)))
    if kind == "bool":
        return draw(st.booleans())
    if kind == "float":
        lo, hi = value
        x = draw(st.floats(float(lo), float(hi), allow_nan=False, allow_infinity=False))
        return round(x, spec.get("places", 2))
    if kind == "shape":
        rlo, rhi = _pair(value.get("rank", [1, 4]), env)
        slo, shi = _pair(value.get("side", [1, 5]), env)
        return tuple(draw(st.lists(st.integers(slo, shi), min_size=rlo, max_size=rhi)))
    if kind == "permutation":
        n = len(env[value]) if isinstance(value, str) else int(value)
        return tuple(draw(st.permutations(range(n))))
    if kind == "reshape_of":
        total = math.prod(env[value])
        rlo, rhi = _pair(spec.get("rank", [1, 4]), env)
        k = draw(st.integers(max(rlo, 1), max(rhi, 1)))
        if total == 0:
            dims = [0] + [1] * (k - 1)
        else:
            dims, rest = [], total
            for _ in range(k - 1):
                d = draw(st.sampled_from(_divisors(rest)))
                dims.append(d)
                rest //= d
            dims.append(rest)
            dims = draw(st.permutations(dims))
        if spec.get("infer") and draw(st.booleans()):
            dims = list(dims)
            dims[draw(st.integers(0, k - 1))] = -1
        return tuple(dims)
    if kind == "broadcast":
        return draw(_broadcast_strategy(value))
    return evaluate(value, env)


@cache
def _composite() -> Any:
    from hypothesis import reject
    from hypothesis import strategies as st

    @st.composite
    def variables(
        draw: Any, specs: tuple[tuple[str, Mapping[str, Any]], ...], assume: tuple[str, ...]
    ) -> dict[str, Any]:
        env: dict[str, Any] = {}
        for name, spec in specs:
            try:
                env[name] = _draw_value(draw, spec, env)
            except ExprError:
                reject()
        for cond in assume:
            try:
                ok = evaluate(cond, env)
            except ExprError:
                ok = False
            if not ok:
                reject()
        return env

    return variables


_STRATEGIES: dict[str, tuple[Any, Any, Any]] = {}


def strategy_for(card: Card) -> SearchStrategy[dict[str, Any]]:
    """The hypothesis strategy of a card's variables (used by draws and by `deck check`)."""
    cached = _STRATEGIES.get(card.uid)
    if cached and cached[0] is card.variables and cached[1] is card.assume:
        return cached[2]  # type: ignore[no-any-return]
    strategy = _composite()(card.variables, card.assume)
    _STRATEGIES[card.uid] = (card.variables, card.assume, strategy)
    return strategy  # type: ignore[no-any-return]


@cache
def _provider() -> type:
    from functools import cached_property

    from hypothesis.internal.conjecture.providers import (  # type: ignore[attr-defined]
        Constants,
        HypothesisProvider,
    )

    class NoLocalConstantsProvider(HypothesisProvider):
        """Hypothesis' own provider, minus constants harvested from local modules."""

        @cached_property
        def _local_constants(self) -> Constants:  # type: ignore[override]
            return Constants()

    return NoLocalConstantsProvider


def draw_values(card: Card, seed: int) -> dict[str, Any]:
    """The card's variables for this seed: the same in every process."""
    if not card.variables:
        return {}
    from hypothesis.control import BuildContext
    from hypothesis.errors import StopTest, UnsatisfiedAssumption
    from hypothesis.internal.conjecture.data import ConjectureData

    strategy = strategy_for(card)
    provider = _provider()
    for attempt in range(MAX_ATTEMPTS):
        data = ConjectureData(random=Random(f"{card.uid}:{seed}:{attempt}"), provider=provider)
        try:
            with BuildContext(data, wrapped_test=None):  # type: ignore[arg-type]
                return dict(data.draw(strategy))
        except (UnsatisfiedAssumption, StopTest):
            continue
    raise NoVariantError(f"{card.uid}: no variant satisfied the card's conditions in {MAX_ATTEMPTS} attempts")


def render(text: str, values: Mapping[str, Any]) -> str:
    """Fill `${expr}` placeholders: strings as they are, everything else as a Python literal."""

    def substitute(m: re.Match[str]) -> str:
        v = evaluate(m.group(1), values)
        return v if isinstance(v, str) else repr(v)

    return PLACEHOLDER_RE.sub(substitute, text)


def draw_variant(card: Card, seed: int) -> Variant:
    """The concrete variant of `card` for `seed`."""
    values = draw_values(card, seed)
    return Variant(
        card_uid=card.uid,
        seed=seed,
        values=values,
        prompt=render(card.prompt, values),
        code=render(card.code, values),
    )


def variant_from_values(card: Card, seed: int, values: Mapping[str, Any]) -> Variant:
    """Rebuild a variant from stored values without drawing (lists become tuples again)."""
    frozen = {k: _freeze(v) for k, v in values.items()}
    return Variant(card.uid, seed, frozen, render(card.prompt, frozen), render(card.code, frozen))


def shape_values(values: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(_freeze(v) for v in values)
