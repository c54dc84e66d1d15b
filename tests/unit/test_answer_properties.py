"""Properties of `parse_answer`: every documented spelling reads back to the same value, and any text
at all gives a value or `MalformedAnswer` — nothing else — with work that grows linearly.

The work is counted, not timed: a profiler hook counts the Python and C calls made while one answer
is read, and the count must stay within a fixed multiple of the answer's length.
"""

from __future__ import annotations

import math
import string
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quiz.core.answers import (
    DTYPE_ALIASES,
    DTYPES,
    MAX_ANSWER_BYTES,
    MalformedAnswer,
    Raises,
    parse_answer,
)
from quiz.core.cards import Card, Kind
from tests.factories import card

# No deadline: a test never fails on time, only on what was read and how much work it took.
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

SHAPE = card(Kind.SHAPE)
DTYPE = card(Kind.DTYPE)
VALUE = card(Kind.VALUE)
RAISES = card(Kind.RAISES, answer=None)

# --- shapes --------------------------------------------------------------------------------------

dims = st.lists(st.integers(0, 10**9) | st.none(), max_size=6)
known_dims = st.lists(st.integers(0, 10**9), max_size=6)
space = st.sampled_from(["", " ", "  "])
unknown = st.sampled_from(["None", "none", "?", "null", "NONE"])


@st.composite
def shape_spelling(draw: st.DrawFn, shape: tuple[int | None, ...]) -> str:
    """One documented way of typing `shape`."""
    words = [draw(unknown) if d is None else str(d) for d in shape]
    s = draw(space)
    if not shape:
        return draw(st.sampled_from(["()", "[]", "scalar", "torch.Size([])", "TensorShape([])", "( )"]))
    forms = [
        "(" + f",{s}".join(words) + ("," if len(words) == 1 else "") + ")",
        "[" + f",{s}".join(words) + "]",
        f"{s},{s}".join(words),
        "TensorShape([" + ", ".join(words) + "])",
        "tf.TensorShape([" + ", ".join(words) + "])",
    ]
    if len(words) > 1:
        forms += [f"{s}x{s}".join(words), "×".join(words), "*".join(words), " ".join(words)]
    if None not in shape:
        forms.append("torch.Size([" + ", ".join(words) + "])")
    return draw(space) + draw(st.sampled_from(forms)) + draw(space)


@PROPERTY
@given(st.data(), dims)
def test_every_shape_spelling_reads_back(data: st.DataObject, shape_list: list[int | None]) -> None:
    shape = tuple(shape_list)
    text = data.draw(shape_spelling(shape))
    assert parse_answer(SHAPE, text) == shape


@PROPERTY
@given(st.data(), st.lists(dims, min_size=1, max_size=4))
def test_a_tuple_of_shapes_reads_back(data: st.DataObject, shapes: list[list[int | None]]) -> None:
    wanted = tuple(tuple(s) for s in shapes)
    spelled = []
    for s in wanted:
        text = data.draw(shape_spelling(s)).strip()
        if not text.startswith(("(", "[", "torch.Size", "TensorShape", "tf.")):
            text = f"({text})" if text != "scalar" else "()"
        spelled.append(text)
    # One shape in brackets is that shape (`[[2, 3]]`); a tuple of one shape has its comma: `((2, 3),)`.
    joined = ", ".join(spelled) + ("," if len(spelled) == 1 else "")
    text = data.draw(st.sampled_from([f"({joined})", f"[{joined}]"]))
    assert parse_answer(SHAPE, text) == wanted


# --- dtypes --------------------------------------------------------------------------------------

PREFIXES = [
    "",
    "torch.",
    "tf.",
    "tf.dtypes.",
    "tensorflow.",
    "np.",
    "numpy.",
    "mx.",
    "mxnet.",
    "jnp.",
    "keras.",
]
NAMES = sorted(DTYPES | set(DTYPE_ALIASES))


def canonical(name: str) -> str:
    return DTYPE_ALIASES.get(name, name)


@st.composite
def dtype_spelling(draw: st.DrawFn, name: str) -> str:
    written = draw(st.sampled_from([name, name.upper(), name.capitalize()]))
    form = draw(
        st.sampled_from(
            [
                draw(st.sampled_from(PREFIXES)) + written,
                f"<dtype: '{name}'>",
                f"dtype('{name}')",
                f"dtype({name})",
                f"<class 'numpy.{name}'>",
                f"`{written}`",
                f"'{written}'",
            ]
        )
    )
    return draw(space) + form + draw(space)


@PROPERTY
@given(st.data(), st.sampled_from(NAMES))
def test_every_dtype_alias_and_prefix_reads_back(data: st.DataObject, name: str) -> None:
    assert parse_answer(DTYPE, data.draw(dtype_spelling(name))) == canonical(name)


@PROPERTY
@given(st.data(), st.lists(st.sampled_from(NAMES), min_size=2, max_size=5))
def test_a_tuple_of_dtypes_reads_back(data: st.DataObject, names: list[str]) -> None:
    spelled = [data.draw(dtype_spelling(n)) for n in names]
    text = data.draw(st.sampled_from(["(" + ", ".join(spelled) + ")", "[" + ",".join(spelled) + "]"]))
    assert parse_answer(DTYPE, text) == tuple(canonical(n) for n in names)


# --- values --------------------------------------------------------------------------------------

numbers = (
    st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.complex_numbers(allow_nan=False, allow_infinity=False, max_magnitude=1e12)
)
# Any character but surrogates (st.text() alone works out every UTF-8 encodable character first: slow).
chars = st.characters(exclude_categories=["Cs"])
scalars = numbers | st.booleans() | st.none() | st.text(chars, max_size=8)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.integers(-9, 9) | st.text(chars, max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def value_spelling(draw: st.DrawFn, value: Any) -> str:
    """A documented way of typing `value`: Python's own repr, with words in other cases."""
    if value is None:
        return draw(st.sampled_from(["None", "none", "NONE", "null"]))
    if isinstance(value, bool):
        return draw(st.sampled_from([str(value), str(value).lower(), str(value).upper()]))
    if isinstance(value, float) and math.isnan(value):
        return draw(st.sampled_from(["nan", "NaN", "np.nan", "torch.nan", "-nan"]))
    if isinstance(value, float) and math.isinf(value):
        sign = "-" if value < 0 else draw(st.sampled_from(["", "+"]))
        return sign + draw(st.sampled_from(["inf", "Infinity", "np.inf", "math.inf"]))
    if isinstance(value, float):
        return draw(st.sampled_from([repr(value), f"np.float64({value!r})", f"tensor({value!r})"]))
    if isinstance(value, (int, complex, str)):
        return repr(value)
    if isinstance(value, dict):
        items = [f"{draw(value_spelling(k))}: {draw(value_spelling(v))}" for k, v in value.items()]
        return "{" + ", ".join(items) + "}"
    parts = [draw(value_spelling(v)) for v in value]
    if isinstance(value, tuple):
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    plain = "[" + ", ".join(parts) + "]"
    return draw(
        st.sampled_from(
            [
                plain,
                f"tensor({plain})",
                f"tensor({plain}, dtype=torch.float64)",
                f"array({plain}, dtype=int32)",
            ]
        )
    )


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN and lists, tuples and dicts compared by kind and item."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, complex) and isinstance(b, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


@PROPERTY
@given(st.data(), values)
def test_every_value_spelling_reads_back(data: st.DataObject, value: Any) -> None:
    text = data.draw(value_spelling(value))
    assert same(parse_answer(VALUE, text), value), text


# --- exceptions ----------------------------------------------------------------------------------

class_names = st.builds(
    lambda first, rest, suffix: first + rest + suffix,
    st.sampled_from(string.ascii_uppercase),
    st.text(string.ascii_letters + string.digits + "_", max_size=20),
    st.sampled_from(["Error", "Exception", "Warning"]),
)
modules = st.sampled_from(["", "torch.", "tf.errors.", "builtins.", "mxnet.base.", "keras.src.errors."])
NO_ERROR = [
    "no error",
    "No error",
    "no  error.",
    "none",
    "no exception",
    "nothing",
    "no",
    "ok",
    "doesn't raise",
]


@PROPERTY
@given(class_names, modules, st.sampled_from(["", "()"]), st.sampled_from(["", "raises ", "it raises "]))
def test_every_exception_spelling_reads_back(name: str, module: str, call: str, said: str) -> None:
    text = f"{said}{module}{name}{call}"
    assert parse_answer(RAISES, text) == name
    for kind in (Kind.SHAPE, Kind.DTYPE, Kind.BOOL, Kind.GRAD_IS_NONE, Kind.VALUE):
        assert parse_answer(card(kind, may_raise=True), text) == Raises(name)


@PROPERTY
@given(st.sampled_from(NO_ERROR), space)
def test_no_error_phrases_read_as_none(phrase: str, pad: str) -> None:
    assert parse_answer(RAISES, pad + phrase + pad) is None


# --- anything at all -----------------------------------------------------------------------------

CARDS: list[Card] = [
    SHAPE,
    DTYPE,
    VALUE,
    RAISES,
    card(Kind.BOOL),
    card(Kind.GRAD_IS_NONE),
    card(Kind.CHOICE, choices=("view", "copy", "error")),
    card(Kind.CODE),
    card(Kind.CODE, result="y"),
    card(Kind.SHAPE, may_raise=True),
    card(Kind.VALUE, may_raise=True),
    card(Kind.CHOICE, choices=("a", "b"), may_raise=True),
    card(Kind.DTYPE, answer="(a.dtype, b.dtype)"),
    card(Kind.SHAPE, answer="(a.shape, b.shape)"),
]
# Text made of what the readers look for, so the property reaches deep into them, not only the first check.
SYNTAX = "()[]{},.:=+-*/<>xX×jJeE_'\"\\ \t\n0123456789abnoneNaTtrufalsInfydtp?"
texts = (
    st.text(chars)
    | st.text(alphabet=SYNTAX)
    | st.binary().map(lambda b: b.decode("utf-8", "surrogateescape"))
    | st.binary()
)


def work(fn: Callable[[], object]) -> int:
    """How many calls (Python and C) `fn` makes: a measure of work that does not depend on the machine."""
    calls = 0

    def count(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        calls += 1

    sys.setprofile(count)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return calls


def read(c: Card, text: str | bytes) -> object:
    try:
        return parse_answer(c, text)
    except MalformedAnswer as exc:
        assert exc.hint and "\n" not in exc.hint
        return exc


PER_CHAR = 25
FIXED = 4_000


@settings(PROPERTY, max_examples=300)
@given(st.sampled_from(CARDS), texts)
def test_any_text_gives_a_value_or_malformed_answer_in_linear_work(c: Card, text: str | bytes) -> None:
    # Any other exception fails the test; so does work beyond a fixed multiple of the length.
    assert work(lambda: read(c, text)) <= PER_CHAR * len(text) + FIXED


# Repetitions that made the old reader slow (5.8 s for 800 KB of parentheses) or blew its stack.
UNITS = [
    "(",
    "[",
    "()",
    "[1,",
    "1+",
    "not ",
    "-",
    "'\\",
    "'a'",
    "f(",
    ".b",
    "9",
    "((2, 3), ",
    "x",
    "(,",
    "tensor(",
]


@settings(PROPERTY, max_examples=120)
@given(st.sampled_from(CARDS), st.sampled_from(UNITS), st.integers(1, MAX_ANSWER_BYTES // 4))
def test_long_repetitions_stay_linear(c: Card, unit: str, times: int) -> None:
    text = (unit * times)[:MAX_ANSWER_BYTES]
    assert work(lambda: read(c, text)) <= PER_CHAR * len(text) + FIXED
