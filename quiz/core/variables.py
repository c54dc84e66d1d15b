"""Card variables: validate their specs, turn them into hypothesis strategies, draw variants.

A variant is reproducible from `(card uid, seed)` in any process: the seed
feeds a `random.Random` (seeded from a string, so PYTHONHASHSEED plays no
part) that drives one hypothesis `ConjectureData`. Hypothesis' "local
constants" (numbers it harvests from whatever local modules are imported, so
they differ between a source checkout and an installed copy, and grow when a
hypothesis test runs in the same process) are switched off, and nothing is
written to a `.hypothesis` directory. Hypothesis is imported on the first
draw, never by the deck loader: validation here is plain Python.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from random import Random
from typing import TYPE_CHECKING, Any

from quiz.core.expr import ExprError, compile_expr, evaluate, names_in

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from quiz.core.cards import Card

__all__ = [
    "DrawError",
    "NoVariantError",
    "SpecError",
    "Variant",
    "concrete",
    "draw_values",
    "draw_variant",
    "draw_with_choices",
    "render",
    "smallest_failing",
    "strategy_for",
    "build_variant",
    "validate_spec",
    "variant_from_values",
]

SPEC_KINDS = (
    "int",
    "choice",
    "bool",
    "float",
    "shape",
    "permutation",
    "reshape_of",
    "broadcast",
    "array",
    "expr",
)
_EXTRA_KEYS = {
    "float": {"places"},
    "reshape_of": {"rank", "infer"},
    "array": {"elements", "places"},
}
PLACEHOLDER_RE = re.compile(r"\$\{([^}]*)\}")
MAX_ATTEMPTS = 100
# Limits that keep drawn shapes small enough to be questions (and tensors that fit in memory).
MAX_RANK = 16
MAX_SIDE = 10_000
MAX_PERMUTATION = 8
NDIM_MAX = 32  # hypothesis' limit on array dimensions
# An `array` variable is rendered into the code the learner reads: keep it a small literal.
MAX_ARRAY_ELEMENTS = 256
MAX_ARRAY_RANK = 6
# Variants hypothesis may offer while shrinking one failure, beyond the `examples` it generates.
MAX_SHRINK_CALLS = 300
DEFAULT_ELEMENTS = (-9, 9)

# The gufunc signature grammar hypothesis accepts (numpy's, one output), checked
# here without importing hypothesis: "(m,n),(n,p)->(m,p)", "(3),(3)->(3)", "(n?),(n)->()".
_DIM = r"\w+\??"
_CORE = rf"\((?:{_DIM}(?:,{_DIM})*)?\)"
SIGNATURE_RE = re.compile(rf"^{_CORE}(?:,{_CORE})*->{_CORE}$")
_MULTI_OUTPUT_RE = re.compile(rf"^{_CORE}(?:,{_CORE})*->{_CORE}(?:,{_CORE})+$")


class SpecError(ValueError):
    """A variable spec that cannot be drawn from."""


class NoVariantError(RuntimeError):
    """No variant can be drawn: the `assume` conditions rejected every attempt, or a spec broke."""


class DrawError(NoVariantError):
    """A spec or `${...}` that is valid on paper failed for the values drawn (a card bug)."""


@dataclass(frozen=True, slots=True)
class Variant:
    """One concrete review of a card: the drawn values, and every text with them filled in.

    `prompt`, `code`, `answer`, `result`, `choices` and `explain` are the card's
    fields with `${...}` substituted; pass `concrete(card, variant)` (not the
    bare card) to the runner and to grading so they see the rendered ones.
    """

    card_uid: str
    seed: int
    values: dict[str, Any]
    prompt: str
    code: str
    answer: str | None = None
    choices: tuple[str, ...] = ()
    explain: str = ""
    result: str | None = None
    # The Chinese text with this variant's values (None: the card has none; English is shown).
    prompt_zh: str | None = None
    explain_zh: str | None = None

    def prompt_in(self, lang: str) -> str:
        """The prompt in `lang`, falling back to English where the card has no text in it."""
        return self.prompt_zh if lang == "zh" and self.prompt_zh else self.prompt

    def explain_in(self, lang: str) -> str:
        """The explanation in `lang`, falling back to English where the card has no text in it."""
        return self.explain_zh if lang == "zh" and self.explain_zh else self.explain

    source_code: str | None = None

    def values_json(self) -> dict[str, Any]:
        """The drawn values as JSON-friendly data (tuples become lists)."""
        return {k: _jsonable(v) for k, v in self.values.items()}


def _jsonable(v: Any) -> Any:
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v


def _freeze(v: Any) -> Any:
    """TOML lists become tuples, so a drawn shape renders as `(2, 3)`."""
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return v


# --- validation (no hypothesis here: the loader must stay light) -------------


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


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


def _range_ok(value: Any, what: str, defined: set[str], lo_min: int, hi_max: int) -> None:
    """`n` or `[lo, hi]` (bounds may be expressions); literal bounds must be ordered and in range."""
    if _is_int(value):
        value = [value, value]
    if not (isinstance(value, list) and len(value) == 2):
        raise SpecError(f"{what} must be a whole number or [lo, hi]")
    for bound in value:
        _bound_ok(bound, what, defined)
        if isinstance(bound, float):
            raise SpecError(f"{what}: bounds are whole numbers")
    lo, hi = value
    if _is_int(lo) and lo < lo_min:
        raise SpecError(f"{what}: the lower bound must be at least {lo_min}")
    if _is_int(hi) and hi > hi_max:
        raise SpecError(f"{what}: the upper bound must be at most {hi_max}")
    if _is_int(lo) and _is_int(hi) and lo > hi:
        raise SpecError(f"{what}: [{lo}, {hi}] is empty (lo > hi)")


def parse_signature(signature: str) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """A gufunc signature's input core shapes and output core shape; raises SpecError."""
    sig = re.sub(r"\s+", "", signature)
    if not SIGNATURE_RE.match(sig):
        if _MULTI_OUTPUT_RE.match(sig):
            raise SpecError(f"signature {signature!r} has several outputs; give exactly one")
        raise SpecError(f'signature {signature!r} is not a gufunc signature like "(m,n),(n,p)->(m,p)"')
    ins_text, out_text = sig.split("->")
    inputs = tuple(tuple(re.findall(_DIM, core)) for core in re.findall(_CORE, ins_text))
    output = tuple(re.findall(_DIM, out_text))
    names_in_inputs = {d.rstrip("?") for core in inputs for d in core}
    for dim in (*[d for core in inputs for d in core], *output):
        name = dim.rstrip("?")
        if name.isdigit():
            if dim.endswith("?"):
                raise SpecError(f"signature {signature!r}: a fixed dimension ({dim}) cannot be optional")
        elif dim in output and name not in names_in_inputs:
            raise SpecError(f"signature {signature!r}: {name!r} appears only in the output")
    if max((len(c) for c in (*inputs, output)), default=0) > NDIM_MAX:
        raise SpecError(f"signature {signature!r} has more than {NDIM_MAX} core dimensions")
    return inputs, output


def validate_spec(name: str, spec: Any, defined: set[str]) -> None:
    """Raise SpecError unless `spec` is a drawable variable spec (imports nothing heavy)."""
    if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
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
        lo, hi = value
        if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo > hi:
            raise SpecError(f"{what}: int = [{lo}, {hi}] is empty (lo > hi)")
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
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
                raise SpecError(f"{what}: float bounds are finite numbers")
        if value[0] > value[1]:
            raise SpecError(f"{what}: float = [{value[0]}, {value[1]}] is empty (lo > hi)")
        places = spec.get("places", 2)
        if not _is_int(places) or not 0 <= places <= 15:
            raise SpecError(f"{what}: places must be a whole number from 0 to 15")
    elif kind == "shape":
        if not isinstance(value, dict) or set(value) - {"rank", "side"}:
            raise SpecError(f"{what}: shape = {{ rank = [lo, hi], side = [lo, hi] }}")
        _range_ok(value.get("rank", [1, 4]), f"{what} rank", defined, 0, MAX_RANK)
        _range_ok(value.get("side", [1, 5]), f"{what} side", defined, 0, MAX_SIDE)
    elif kind == "permutation":
        if isinstance(value, str):
            if value not in defined:
                raise SpecError(f"{what}: permutation of undefined variable {value!r}")
        elif not (_is_int(value) and 0 <= value <= MAX_PERMUTATION):
            raise SpecError(f'{what}: permutation = "shape_var" or a number of axes (0-{MAX_PERMUTATION})')
    elif kind == "reshape_of":
        if not isinstance(value, str) or value not in defined:
            raise SpecError(f"{what}: reshape_of names an earlier shape variable")
        _range_ok(spec.get("rank", [1, 4]), f"{what} rank", defined, 0, MAX_RANK)
        if not isinstance(spec.get("infer", False), bool):
            raise SpecError(f"{what}: infer must be true or false")
    elif kind == "broadcast":
        _validate_broadcast(value, what)
    elif kind == "array":
        _validate_array(spec, what, defined)
    elif kind == "expr":
        if not isinstance(value, str):
            raise SpecError(f"{what}: expr is an expression string")
        _bound_ok(value, what, defined)


def _validate_array(spec: Mapping[str, Any], what: str, defined: set[str]) -> None:
    value = spec["array"]
    if isinstance(value, str):
        if value not in defined:
            raise SpecError(f"{what}: array = {value!r} names no earlier (shape) variable")
    elif isinstance(value, list) and len(value) <= MAX_ARRAY_RANK:
        for d in value:
            if isinstance(d, str):
                _bound_ok(d, what, defined)
            elif not (_is_int(d) and 0 <= d <= MAX_ARRAY_ELEMENTS):
                raise SpecError(f"{what}: array sizes are whole numbers from 0 to {MAX_ARRAY_ELEMENTS}")
        if all(_is_int(d) for d in value) and math.prod(value) > MAX_ARRAY_ELEMENTS:
            raise SpecError(
                f"{what}: an array of shape {tuple(value)} has more than {MAX_ARRAY_ELEMENTS} elements"
            )
    else:
        raise SpecError(
            f'{what}: array = "shape_var" (an earlier shape variable) or a list of at most '
            f"{MAX_ARRAY_RANK} sizes such as [2, 3]"
        )
    elements = spec.get("elements", list(DEFAULT_ELEMENTS))
    if not (
        isinstance(elements, list)
        and len(elements) == 2
        and all(
            isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) for b in elements
        )
    ):
        raise SpecError(f"{what}: elements = [lo, hi] of finite numbers (whole numbers draw integers)")
    if elements[0] > elements[1]:
        raise SpecError(f"{what}: elements = [{elements[0]}, {elements[1]}] is empty (lo > hi)")
    if "places" in spec:
        if all(_is_int(b) for b in elements):
            raise SpecError(f"{what}: places is for float elements (write elements = [-1.0, 1.0])")
        if not _is_int(spec["places"]) or not 0 <= spec["places"] <= 6:
            raise SpecError(f"{what}: places must be a whole number from 0 to 6")


def _validate_broadcast(value: Any, what: str) -> None:
    if not isinstance(value, dict) or set(value) - {"num_shapes", "signature", "rank", "side"}:
        raise SpecError(
            f'{what}: broadcast = {{ num_shapes = 2 | signature = "...", rank = [..], side = [..] }}'
        )
    if ("num_shapes" in value) == ("signature" in value):
        raise SpecError(f"{what}: broadcast takes either num_shapes or signature")
    if "num_shapes" in value and not (_is_int(value["num_shapes"]) and 1 <= value["num_shapes"] <= 6):
        raise SpecError(f"{what}: num_shapes is 1-6")
    core_dims = 0
    if "signature" in value:
        if not isinstance(value["signature"], str):
            raise SpecError(f'{what}: signature is a string like "(m,n),(n,p)->(m,p)"')
        try:
            inputs, output = parse_signature(value["signature"])
        except SpecError as exc:
            raise SpecError(f"{what}: {exc}") from None
        core_dims = max(len(c) for c in (*inputs, output))
    bounds = {}
    for key, default, top in (("rank", [0, 3], NDIM_MAX - core_dims), ("side", [1, 4], MAX_SIDE)):
        v = value.get(key, default)
        if _is_int(v):
            v = [v, v]
        if not (isinstance(v, list) and len(v) == 2 and all(_is_int(x) for x in v)):
            raise SpecError(f"{what}: broadcast {key} = [lo, hi] of whole numbers")
        if not 0 <= v[0] <= v[1] <= top:
            raise SpecError(f"{what}: broadcast {key} = [{v[0]}, {v[1]}] must satisfy 0 <= lo <= hi <= {top}")
        bounds[key] = v


# --- strategies -------------------------------------------------------------


def _pair(value: Any, env: Mapping[str, Any]) -> tuple[int, int]:
    if _is_int(value):
        return value, value
    lo, hi = (_bound(b, env) for b in value)
    return int(lo), int(hi)


def _bound(bound: Any, env: Mapping[str, Any]) -> Any:
    return evaluate(bound, env) if isinstance(bound, str) else bound


@lru_cache(maxsize=1024)
def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def _broadcast_strategy(value: Mapping[str, Any]) -> SearchStrategy[Any]:
    import hypothesis.extra.numpy as hnp

    rank = value.get("rank", [0, 3])
    side = value.get("side", [1, 4])
    rlo, rhi = (rank, rank) if _is_int(rank) else rank
    slo, shi = (side, side) if _is_int(side) else side
    if "signature" in value:
        return hnp.mutually_broadcastable_shapes(
            signature=re.sub(r"\s+", "", value["signature"]),
            min_dims=rlo,
            max_dims=rhi,
            min_side=slo,
            max_side=shi,
        ).map(lambda b: tuple(b.input_shapes))
    return hnp.mutually_broadcastable_shapes(
        num_shapes=value["num_shapes"], min_dims=rlo, max_dims=rhi, min_side=slo, max_side=shi
    ).map(lambda b: tuple(b.input_shapes))


@cache
def _cached_broadcast(key: str) -> Any:
    import json

    return _broadcast_strategy(json.loads(key))


def _axes_of(name: str, env: Mapping[str, Any]) -> int:
    source = env[name]
    if _is_int(source) and 0 <= source <= MAX_PERMUTATION:
        return int(source)
    if isinstance(source, (tuple, list)) and len(source) <= MAX_PERMUTATION:
        return len(source)
    raise DrawError(f"permutation of {name!r}: {source!r} is not a shape (or a number of axes up to 8)")


def _draw_value(draw: Any, spec: Mapping[str, Any], env: Mapping[str, Any]) -> Any:
    from hypothesis import reject
    from hypothesis import strategies as st

    kind = next(k for k in spec if k in SPEC_KINDS)
    value = spec[kind]
    if kind == "int":
        lo_v, hi_v = (_bound(v, env) for v in value)
        lo = math.ceil(lo_v) if isinstance(lo_v, float) else int(lo_v)
        hi = math.floor(hi_v) if isinstance(hi_v, float) else int(hi_v)
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
        if not (0 <= rlo <= rhi <= MAX_RANK and 0 <= slo <= shi <= MAX_SIDE):
            reject()
        return tuple(draw(st.lists(st.integers(slo, shi), min_size=rlo, max_size=rhi)))
    if kind == "permutation":
        n = _axes_of(value, env) if isinstance(value, str) else int(value)
        return tuple(draw(st.permutations(range(n))))
    if kind == "reshape_of":
        source = env[value]
        if not (isinstance(source, (tuple, list)) and all(_is_int(d) and d >= 0 for d in source)):
            raise DrawError(f"reshape_of {value!r}: {source!r} is not a shape")
        total = math.prod(source)
        if total > 10**9:
            raise DrawError(f"reshape_of {value!r}: {source!r} has too many elements")
        rlo, rhi = _pair(spec.get("rank", [1, 4]), env)
        rlo, rhi = max(rlo, 1), min(max(rhi, 1), MAX_RANK)
        if rlo > rhi:
            reject()
        k = draw(st.integers(rlo, rhi))
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
        import json

        return draw(_cached_broadcast(json.dumps(value, sort_keys=True)))
    if kind == "array":
        return _draw_array(draw, spec, env)
    return evaluate(value, env)


def _draw_array(draw: Any, spec: Mapping[str, Any], env: Mapping[str, Any]) -> Any:
    """Nested tuples of numbers (a Python literal every framework turns into a tensor)."""
    from hypothesis import strategies as st

    value = spec["array"]
    shape = env[value] if isinstance(value, str) else tuple(_bound(d, env) for d in value)
    if not (isinstance(shape, (tuple, list)) and all(_is_int(d) and d >= 0 for d in shape)):
        raise DrawError(f"array of {value!r}: {shape!r} is not a shape")
    if len(shape) > MAX_ARRAY_RANK:
        raise DrawError(f"array of {value!r}: {tuple(shape)} has more than {MAX_ARRAY_RANK} axes")
    n = math.prod(shape)
    if n > MAX_ARRAY_ELEMENTS:
        raise DrawError(
            f"array of {value!r}: {tuple(shape)} has {n} elements, more than {MAX_ARRAY_ELEMENTS}: "
            "keep the shape's sides small"
        )
    lo, hi = spec.get("elements", DEFAULT_ELEMENTS)
    if _is_int(lo) and _is_int(hi):
        flat = draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n))
    else:
        places = spec.get("places", 2)
        floats = st.floats(float(lo), float(hi), allow_nan=False, allow_infinity=False)
        # `+ 0.0` turns -0.0 into 0.0: the literal reads as the learner expects.
        flat = [round(x, places) + 0.0 for x in draw(st.lists(floats, min_size=n, max_size=n))]
    return _nest(flat, tuple(shape))


def _nest(flat: list[Any], shape: tuple[int, ...]) -> Any:
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return tuple(flat)
    step = math.prod(shape[1:])
    return tuple(_nest(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0]))


@cache
def _composite() -> Any:
    from hypothesis import reject
    from hypothesis import strategies as st
    from hypothesis.errors import UnsatisfiedAssumption

    @st.composite
    def variables(
        draw: Any,
        specs: tuple[tuple[str, Mapping[str, Any]], ...],
        assume: tuple[str, ...],
        choices: tuple[str, ...],
    ) -> dict[str, Any]:
        env: dict[str, Any] = {}
        for name, spec in specs:
            try:
                env[name] = _draw_value(draw, spec, env)
            except ExprError:
                reject()  # a bound or expr that does not work for these values: draw again
            except (UnsatisfiedAssumption, DrawError):
                raise
            except (KeyError, TypeError, ValueError, OverflowError) as exc:
                raise DrawError(f"variable {name!r}: {type(exc).__name__}: {exc}") from None
        for cond in assume:
            try:
                ok = evaluate(cond, env)
            except ExprError:
                ok = False
            if not ok:
                reject()
        if choices:
            # Choices that render to the same text would make the question ambiguous.
            try:
                rendered = [render(c, env) for c in choices]
            except ExprError as exc:
                raise DrawError(f"in `choices`: {exc}") from None
            if len(set(rendered)) != len(rendered):
                reject()
        return env

    return variables


_STRATEGIES: dict[str, tuple[Any, Any, Any, Any]] = {}


def strategy_for(card: Card) -> SearchStrategy[dict[str, Any]]:
    """The hypothesis strategy of a card's variables (used by draws and by `deck check`)."""
    cached = _STRATEGIES.get(card.uid)
    if cached and cached[0] is card.variables and cached[1] is card.assume and cached[2] == card.choices:
        return cached[3]  # type: ignore[no-any-return]
    templated = tuple(c for c in card.choices if "${" in c)
    strategy = _composite()(card.variables, card.assume, card.choices if templated else ())
    _STRATEGIES[card.uid] = (card.variables, card.assume, card.choices, strategy)
    return strategy  # type: ignore[no-any-return]


_GLOBAL_CONSTANTS: dict[Any, tuple[Any, ...]] = {}


@cache
def _provider() -> type:
    from hypothesis.internal.conjecture.choice import choice_constraints_key, choice_permitted
    from hypothesis.internal.conjecture.providers import (  # type: ignore[attr-defined]
        GLOBAL_CONSTANTS,
        HypothesisProvider,
    )

    class GlobalConstantsProvider(HypothesisProvider):
        """Hypothesis' own provider, minus the constants it harvests from local modules.

        Hypothesis caches the permitted constants per choice type in one
        process-wide cache that includes local constants as soon as any
        hypothesis test has run here; this provider keeps its own cache of
        global constants only, so a draw never depends on what ran before.
        """

        def _maybe_draw_constant(self, choice_type: Any, constraints: Any, *, p: float = 0.05) -> Any:
            assert self._random is not None
            if self._random.random() > p:
                return None
            key = (choice_type, choice_constraints_key(choice_type, constraints))
            constants = _GLOBAL_CONSTANTS.get(key)
            if constants is None:
                constants = _GLOBAL_CONSTANTS[key] = tuple(
                    c for c in GLOBAL_CONSTANTS.set_for_type(choice_type) if choice_permitted(c, constraints)
                )
            if not constants:
                return None
            # The same two random calls as hypothesis' provider with no local constants.
            self._random.choice([constants])
            return self._random.choice(constants)

    return GlobalConstantsProvider


def draw_with_choices(card: Card, seed: int) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """The card's variables for this seed, and hypothesis' choice sequence that produced them.

    The choice sequence lets `deck check` hand a failing variant to hypothesis'
    shrinker. Raises NoVariantError (DrawError for a broken spec).
    """
    if not card.variables:
        return {}, ()
    from hypothesis.control import BuildContext
    from hypothesis.errors import HypothesisException, StopTest, UnsatisfiedAssumption
    from hypothesis.internal.conjecture.data import ConjectureData

    strategy = strategy_for(card)
    provider = _provider()
    for attempt in range(MAX_ATTEMPTS):
        data = ConjectureData(random=Random(f"{card.uid}:{seed}:{attempt}"), provider=provider)
        try:
            with BuildContext(data, wrapped_test=None):  # type: ignore[arg-type]
                values = dict(data.draw(strategy))
            return values, tuple(data.choices)
        except (UnsatisfiedAssumption, StopTest):
            continue
        except DrawError as exc:
            raise DrawError(f"{card.uid}: {exc}") from None
        except HypothesisException as exc:  # e.g. InvalidArgument for bounds drawn out of order
            raise DrawError(f"{card.uid}: {type(exc).__name__}: {exc}") from None
    raise NoVariantError(f"{card.uid}: no variant satisfied the card's conditions in {MAX_ATTEMPTS} attempts")


def prompt_outline(template: str) -> str:
    """A card's prompt template on one line with each `${...}` shown as "…": what a list of cards
    shows when no variant is drawn (the expressions are deck code, not words for the learner)."""
    return " ".join(PLACEHOLDER_RE.sub("…", template).split())


def smallest_failing(
    card: Card,
    fails: Callable[[dict[str, Any]], bool],
    *,
    examples: int,
    known: tuple[Any, ...] | None,
    random: Random,
    key: bytes,
    max_calls: int = MAX_SHRINK_CALLS,
) -> dict[str, Any] | None:
    """The smallest values of the card's variables for which `fails(values)` holds, as hypothesis
    shrinks them; None when no failing values were found.

    Beyond the `examples`, at most `max_calls` variants are offered to `fails` (each counts, also
    one `fails` turns down unrun): the search then stops with the smallest failure found so far.

    `known` is the choice sequence of a failing variant (from `draw_with_choices`): it is replayed
    first, then shrunk. `examples` more variants are generated first (0: only shrink `known`).
    `fails` may return False for a variant it did not run (a budget spent): the smallest failure
    so far stands. Raises NoVariantError and hypothesis' own errors (HypothesisException).
    """
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis.database import choices_to_bytes
    from hypothesis.errors import Unsatisfiable

    database = _replay_database(None if known is None else choices_to_bytes(known))
    phases = [Phase.reuse, Phase.generate, Phase.shrink] if examples > 0 else [Phase.reuse, Phase.shrink]
    config = settings(
        database=database,
        max_examples=max(examples, 1),
        phases=phases,
        deadline=None,
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    found: list[dict[str, Any]] = []
    calls = 0

    class Found(Exception):
        pass

    class Enough(BaseException):
        """Not an Exception: hypothesis does not take it for a failure to shrink, it ends the search."""

    # hypothesis' `find`, but seeded without `@seed` (which also switches the database off, and
    # with it the replay of `known`): the same failure shrinks to the same variant every time.
    @config
    @given(strategy_for(card))
    def search(values: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        if calls > examples + max_calls:
            # hypothesis' shrinker would go on trying candidates (minutes on a card drawing a large
            # array) even after `fails` has spent its budget: the smallest failure so far stands.
            raise Enough
        if fails(values):
            found[:] = [dict(values)]
            raise Found

    search._hypothesis_internal_use_seed = random.getrandbits(64)  # type: ignore[attr-defined]
    search._hypothesis_internal_database_key = key  # type: ignore[attr-defined]
    try:
        search()
    except Found:
        return found[0]
    except Enough:
        return found[0] if found else None
    except Unsatisfiable:  # `assume` left hypothesis too few variants
        return None
    return None


def _replay_database(known: bytes | None) -> Any:
    """An in-memory example database whose secondary corpus (failures not yet shrunk) holds `known`."""
    from hypothesis.database import InMemoryExampleDatabase

    class ReplayDatabase(InMemoryExampleDatabase):
        def fetch(self, key: bytes) -> Any:
            if known is not None and key.endswith(b".secondary"):
                yield known
            yield from super().fetch(key)

    return ReplayDatabase()


def draw_values(card: Card, seed: int) -> dict[str, Any]:
    """The card's variables for this seed: the same in every process."""
    return draw_with_choices(card, seed)[0]


def render(text: str, values: Mapping[str, Any]) -> str:
    """Fill `${expr}` placeholders: strings as they are, everything else as a Python literal.

    A multi-line string inserted on an indented line is indented like that
    line, so a block of code can be substituted into a function body.
    Raises ExprError.
    """
    if "${" not in text:
        return text

    def substitute(m: re.Match[str]) -> str:
        v = evaluate(m.group(1), values)
        s = v if isinstance(v, str) else repr(v)
        if "\n" in s:
            line_start = text.rfind("\n", 0, m.start()) + 1
            before = text[line_start : m.start()]
            indent = before[: len(before) - len(before.lstrip())]
            if indent:
                first, *rest = s.split("\n")
                s = "\n".join([first, *(indent + ln if ln.strip() else ln for ln in rest)])
        return s

    return PLACEHOLDER_RE.sub(substitute, text)


def _render_field(card: Card, field: str, text: str, values: Mapping[str, Any]) -> str:
    try:
        return render(text, values)
    except ExprError as exc:
        raise DrawError(f"{card.uid}: in `{field}`: {exc}") from None


def build_variant(card: Card, seed: int, values: dict[str, Any]) -> Variant:
    """The variant for these drawn values (as drawn: no conversion); raises DrawError."""
    return Variant(
        card_uid=card.uid,
        seed=seed,
        values=values,
        prompt=_render_field(card, "prompt", card.prompt, values),
        code=_render_field(card, "code", card.code, values),
        answer=None if card.answer is None else _render_field(card, "answer", card.answer, values),
        choices=tuple(_render_field(card, "choices", c, values) for c in card.choices),
        explain=_render_field(card, "explain", card.explain, values),
        result=None if card.result is None else _render_field(card, "result", card.result, values),
        prompt_zh=_render_translation(card.prompt_zh, values),
        explain_zh=_render_translation(card.explain_zh, values),
        source_code=None
        if card.source_code is None
        else _render_field(card, "source_code", card.source_code, values),
    )


def _render_translation(text: str | None, values: Mapping[str, Any]) -> str | None:
    """A translation with these values; None when it has none or cannot be rendered for them.

    A broken translation must not take the card away from anyone: the
    learner sees the English text, and `quiz deck check` reports the
    translation (quiz.core.translation).
    """
    if text is None:
        return None
    try:
        return render(text, values)
    except ExprError:
        return None


def draw_variant(card: Card, seed: int) -> Variant:
    """The concrete variant of `card` for `seed`; raises NoVariantError (DrawError for a card bug)."""
    return build_variant(card, seed, draw_values(card, seed))


def variant_from_values(card: Card, seed: int, values: Mapping[str, Any]) -> Variant:
    """Rebuild a variant from stored values without drawing (lists become tuples again)."""
    return build_variant(card, seed, {k: _freeze(v) for k, v in values.items()})


def concrete(card: Card, variant: Variant) -> Card:
    """The card as this variant shows it: every field rendered (what the runner and grading need)."""
    return replace(
        card,
        prompt=variant.prompt,
        code=variant.code,
        answer=variant.answer,
        choices=variant.choices,
        explain=variant.explain,
        result=variant.result,
        prompt_zh=variant.prompt_zh,
        explain_zh=variant.explain_zh,
        source_code=variant.source_code,
    )


def shape_values(values: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(_freeze(v) for v in values)
