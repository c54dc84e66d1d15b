"""Reading learners' answers: every accepted spelling, and malformed input asked again (never graded wrong)."""

from __future__ import annotations

import pytest

from quiz.core.answers import (
    MAX_ANSWER_BYTES,
    MAX_CODE_BYTES,
    MalformedAnswer,
    Raises,
    canonical_dtype,
    hint_for,
    parse_answer,
    visible,
)
from quiz.core.cards import Card, Kind
from tests.factories import card


@pytest.mark.parametrize(
    "text",
    ["(2, 3)", "2,3", "[2, 3]", "2x3", "2 x 3", "torch.Size([2, 3])", "TensorShape([2, 3])", " ( 2 , 3 ) "],
)
def test_shape_spellings(text: str) -> None:
    assert parse_answer(card(Kind.SHAPE), text) == (2, 3)


def test_shape_scalar_one_axis_and_none() -> None:
    assert parse_answer(card(Kind.SHAPE), "()") == ()
    assert parse_answer(card(Kind.SHAPE), "(4,)") == (4,)
    assert parse_answer(card(Kind.SHAPE), "(None, 36)") == (None, 36)


@pytest.mark.parametrize(
    "text", ["float32", "torch.float32", "tf.float32", "np.float32", "torch.float", "<dtype: 'float32'>"]
)
def test_dtype_spellings(text: str) -> None:
    assert parse_answer(card(Kind.DTYPE), text) == "float32"


def test_dtype_aliases() -> None:
    assert canonical_dtype("torch.long") == "int64"
    assert canonical_dtype("double") == "float64"
    assert canonical_dtype("tf.bool") == "bool"
    assert canonical_dtype("floaty") is None


@pytest.mark.parametrize(("text", "value"), [("yes", True), ("No", False), ("true", True), ("FALSE", False)])
def test_bool(text: str, value: bool) -> None:
    assert parse_answer(card(Kind.BOOL), text) is value


@pytest.mark.parametrize(
    ("text", "is_none"), [("none", True), ("None", True), ("not none", False), ("yes", True), ("no", False)]
)
def test_grad_is_none(text: str, is_none: bool) -> None:
    assert parse_answer(card(Kind.GRAD_IS_NONE), text) is is_none


def test_value_literals_and_printed_tensors() -> None:
    c = card(Kind.VALUE)
    assert parse_answer(c, "[[1, 2], [3, 4]]") == [[1, 2], [3, 4]]
    assert parse_answer(c, "None") is None
    assert parse_answer(c, "tensor([1., 2.])") == [1.0, 2.0]
    assert parse_answer(c, "tensor([1, 2], dtype=torch.int32)") == [1, 2]


def test_raises_names() -> None:
    c = card(Kind.RAISES, answer=None)
    assert parse_answer(c, "RuntimeError") == "RuntimeError"
    assert parse_answer(c, "tf.errors.InvalidArgumentError") == "InvalidArgumentError"
    assert parse_answer(c, "no error") is None


def test_choice_by_letter_number_or_text() -> None:
    c = card(Kind.CHOICE, choices=("view", "copy", "error"))
    assert parse_answer(c, "b") == "copy"
    assert parse_answer(c, "(C)") == "error"
    assert parse_answer(c, "2") == "copy"
    assert parse_answer(c, "View") == "view"


def test_code_must_be_python() -> None:
    c = card(Kind.CODE)
    assert parse_answer(c, "x.permute(1, 0)") == "x.permute(1, 0)"
    with pytest.raises(MalformedAnswer, match="expression"):
        parse_answer(c, "y = x.permute(1, 0)")


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (Kind.SHAPE, ""),
        (Kind.SHAPE, "(2, 3"),
        (Kind.SHAPE, "two by three"),
        (Kind.VALUE, "[1, 2"),
        (Kind.DTYPE, "floaty"),
        (Kind.BOOL, "maybe"),
        (Kind.RAISES, "it crashes"),
        (Kind.CODE, "x.permute(1,"),
    ],
)
def test_malformed_answers_raise_with_a_hint(kind: Kind, text: str) -> None:
    with pytest.raises(MalformedAnswer) as info:
        parse_answer(card(kind, choices=("a", "b")) if kind == Kind.CHOICE else card(kind), text)
    assert info.value.hint


def test_choice_out_of_range_is_malformed() -> None:
    with pytest.raises(MalformedAnswer, match="a–b"):
        parse_answer(card(Kind.CHOICE, choices=("x", "y")), "e")


# --- composite answers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shapes"),
    [
        ("((2, 3), (3,))", ((2, 3), (3,))),
        ("[[2, 3], [3]]", ((2, 3), (3,))),
        ("(torch.Size([2, 3]), torch.Size([]))", ((2, 3), ())),
        ("(TensorShape([None, 3]), (4,))", ((None, 3), (4,))),
        ("((2, 3),)", ((2, 3),)),
        ("(2, 3), ()", ((2, 3), ())),
    ],
)
def test_a_tuple_of_shapes(text: str, shapes: tuple[tuple[int | None, ...], ...]) -> None:
    assert parse_answer(card(Kind.SHAPE), text) == shapes


def test_one_shape_in_brackets_is_still_one_shape() -> None:
    assert parse_answer(card(Kind.SHAPE), "((2, 3))") == (2, 3)
    assert parse_answer(card(Kind.SHAPE), "[[2, 3]]") == (2, 3)


def test_shapes_nest_one_level_only() -> None:
    with pytest.raises(MalformedAnswer, match="sizes, not shapes"):
        parse_answer(card(Kind.SHAPE), "(((2, 3), (4,)), (5,))")


@pytest.mark.parametrize(
    ("text", "dtypes"),
    [
        ("(float64, int64)", ("float64", "int64")),
        ("[torch.float32, tf.int64]", ("float32", "int64")),
        ("float64, int64", ("float64", "int64")),
        ("(np.dtype('bool'), <dtype: 'string'>)", None),
        ("(float32,)", ("float32",)),
    ],
)
def test_a_tuple_of_dtypes(text: str, dtypes: tuple[str, ...] | None) -> None:
    if dtypes is None:  # `np.dtype('bool')` is not a spelling we read
        with pytest.raises(MalformedAnswer, match="not a dtype"):
            parse_answer(card(Kind.DTYPE), text)
    else:
        assert parse_answer(card(Kind.DTYPE), text) == dtypes


def test_a_card_whose_answer_is_a_pair_asks_for_a_pair() -> None:
    pair = card(Kind.DTYPE, answer="(a.dtype, b.dtype)")
    assert parse_answer(pair, "(float64, int64)") == ("float64", "int64")
    for wrong_count in ("float64", "(float64, int64, bool)"):
        with pytest.raises(MalformedAnswer, match="asks for 2 dtypes"):
            parse_answer(pair, wrong_count)
    shapes = card(Kind.SHAPE, answer="(x.shape, tuple(y.shape))")
    assert parse_answer(shapes, "((2, 3), (3,))") == ((2, 3), (3,))
    with pytest.raises(MalformedAnswer, match=r"asks for 2 shapes.*\(\(2, 3\), \(3,\)\)"):
        parse_answer(shapes, "(2, 3)")
    # A tuple of sizes is one shape, not two.
    assert parse_answer(card(Kind.SHAPE, answer="(x.shape[0], 3)"), "(2, 3)") == (2, 3)


def test_a_value_pair_is_a_tuple() -> None:
    assert parse_answer(card(Kind.VALUE), "((2, 3), 4)") == ((2, 3), 4)


# --- `error` and `raises X` ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", [Kind.SHAPE, Kind.DTYPE, Kind.BOOL, Kind.GRAD_IS_NONE, Kind.VALUE, Kind.CHOICE]
)
@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("error", None),
        ("fails", None),
        ("raises", None),
        ("it fails.", None),
        ("raises RuntimeError", "RuntimeError"),
        ("RuntimeError", "RuntimeError"),
        ("torch.RuntimeError", "RuntimeError"),
        ("tf.errors.InvalidArgumentError()", "InvalidArgumentError"),
        ("raises MXNetError", "MXNetError"),
    ],
)
def test_a_may_raise_card_takes_error_on_every_kind(kind: Kind, text: str, name: str | None) -> None:
    c = card(kind, may_raise=True, choices=("view", "copy") if kind == Kind.CHOICE else ())
    assert parse_answer(c, text) == Raises(name)


def test_a_choice_named_error_is_still_the_choice() -> None:
    c = card(Kind.CHOICE, may_raise=True, choices=("view", "error"))
    assert parse_answer(c, "error") == "error"
    assert parse_answer(c, "fails") == Raises()


@pytest.mark.parametrize("text", ["error", "raises RuntimeError", "RuntimeError", "it fails"])
def test_without_may_raise_error_is_asked_again(text: str) -> None:
    with pytest.raises(MalformedAnswer, match="does not ask whether the code fails: type a shape"):
        parse_answer(card(Kind.SHAPE), text)


def test_the_hint_of_a_may_raise_card_offers_error() -> None:
    assert "error" in hint_for(card(Kind.VALUE, may_raise=True))
    assert "error" not in hint_for(card(Kind.VALUE))


def test_a_raises_card_wants_the_class_not_just_error() -> None:
    c = card(Kind.RAISES, answer=None)
    with pytest.raises(MalformedAnswer, match="which exception"):
        parse_answer(c, "error")
    assert parse_answer(c, "raises ValueError") == "ValueError"
    assert parse_answer(c, "struct.error") == "error"  # a real class called `error`, named with its module


# --- answers nobody should type: never a crash, never a hang ----------------------------------------

NASTY = {
    "deep brackets": "(" * 30_000 + ")" * 30_000,
    "deep lists": "[" * 20_000 + "1" + "]" * 20_000,
    "a long sum": "1+" * 32_000 + "1",
    "not not": "not " * 16_000 + "1",
    "signs": "-" * 65_000 + "1",
    "calls": "f(" * 200 + ")" * 200,
    "attributes": "a" + ".b" * 32_000,
    "power tower": "9**9**9",
    "overflowing float": "1e999999",
    "long digits": "9" * 65_000,
    "NUL": "(2, \x003)",
    "escape sequence": "\x1b[2J\x1b[31m(2, 3)",
    "bidi override": "(2, 3)\u202e",
    "C1 control": "\x9b2J",
    "bell": "yes\x07",
    "unclosed strings": "'\\" * 30_000,
    "quotes": "'a'" * 20_000,
    "invalid UTF-8": b"\xff\xfe(2, 3)".decode("utf-8", "surrogateescape"),
    "lone surrogate": "\ud800",
}
KINDS = [
    Kind.SHAPE,
    Kind.DTYPE,
    Kind.BOOL,
    Kind.GRAD_IS_NONE,
    Kind.VALUE,
    Kind.RAISES,
    Kind.CHOICE,
    Kind.CODE,
]


def any_card(kind: Kind, may_raise: bool = False) -> Card:
    return card(
        kind,
        choices=("view", "copy") if kind == Kind.CHOICE else (),
        may_raise=may_raise and kind not in (Kind.RAISES, Kind.CODE),
        answer=None if kind == Kind.RAISES else "x",
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(NASTY))
def test_a_nasty_answer_gets_a_one_line_hint(kind: Kind, name: str) -> None:
    text = NASTY[name]
    try:
        parse_answer(any_card(kind), text)
    except MalformedAnswer as exc:
        assert_one_clean_line(exc.hint)
    # Some are answers after all ('9**9**9' is a shape 9x9x9 and valid code); what matters is no other exception.


@pytest.mark.parametrize("name", ["NUL", "escape sequence", "bidi override", "C1 control", "bell"])
def test_control_characters_are_named_never_echoed(name: str) -> None:
    with pytest.raises(MalformedAnswer, match="control character") as info:
        parse_answer(any_card(Kind.SHAPE), NASTY[name])
    assert_one_clean_line(info.value.hint)


@pytest.mark.parametrize("kind", KINDS)
def test_an_answer_over_64_kib_is_rejected_before_it_is_read(kind: Kind) -> None:
    for text in ("1" * (MAX_ANSWER_BYTES + 1), "é" * (MAX_ANSWER_BYTES // 2 + 1), b"1" * (10 * 2**20)):
        with pytest.raises(MalformedAnswer, match="too long"):
            parse_answer(any_card(kind), text)


def test_a_code_answer_is_at_most_8_kib() -> None:
    assert parse_answer(card(Kind.CODE), "x" + " + x" * 40) == "x" + " + x" * 40
    with pytest.raises(MalformedAnswer, match="too long"):
        parse_answer(card(Kind.CODE), "x" + " + x" * (MAX_CODE_BYTES // 4))


def test_invalid_utf8_names_the_byte() -> None:
    from_cli = b"(2, \xff3)".decode("utf-8", "surrogateescape")
    with pytest.raises(MalformedAnswer, match=r"not UTF-8 text \(byte 0xff at position 4\)"):
        parse_answer(card(Kind.SHAPE), from_cli)
    with pytest.raises(MalformedAnswer, match=r"not UTF-8 text \(byte 0xff at position 4\)"):
        parse_answer(card(Kind.SHAPE), b"(2, \xff3)")
    assert parse_answer(card(Kind.SHAPE), b"(2, 3)") == (2, 3)


def test_nesting_deeper_than_the_limit_is_refused_on_every_kind() -> None:
    deep = "[" * 33 + "1" + "]" * 33
    ok = "[" * 32 + "1" + "]" * 32
    assert parse_answer(card(Kind.VALUE), ok) == eval(ok)  # a literal we wrote
    for kind in (Kind.VALUE, Kind.SHAPE, Kind.DTYPE):
        with pytest.raises(MalformedAnswer, match="nested more than 32 deep"):
            parse_answer(card(kind), deep)


def test_huge_numbers_are_malformed_not_converted() -> None:
    with pytest.raises(MalformedAnswer, match="too large for a float"):
        parse_answer(card(Kind.VALUE), "1e999999")
    with pytest.raises(MalformedAnswer, match="longer than 100"):
        parse_answer(card(Kind.VALUE), "9" * 5000)
    with pytest.raises(MalformedAnswer, match="not a size"):
        parse_answer(card(Kind.SHAPE), "9" * 5000)
    with pytest.raises(MalformedAnswer):
        parse_answer(card(Kind.VALUE), "9**9**9")


def test_a_code_answer_too_complex_for_pythons_parser_is_malformed() -> None:
    for text in ("1+" * 4000 + "1", "-" * 8000 + "1", "not " * 2000 + "1", "(" * 300 + ")" * 300):
        with pytest.raises(MalformedAnswer, match="not valid Python"):
            parse_answer(card(Kind.CODE), text)


def test_a_hint_quotes_at_most_a_short_piece_of_the_answer() -> None:
    with pytest.raises(MalformedAnswer) as info:
        parse_answer(card(Kind.DTYPE), "x" * 60_000)
    assert len(info.value.hint) < 200 and "…" in info.value.hint


def test_visible_escapes_what_a_terminal_would_obey() -> None:
    assert visible("a\x1b[2J\tb\udcff\u202e") == "a\\x1b[2J\\tb\\udcff\\u202e"
    assert visible("(2, 3) ×") == "(2, 3) ×"


def test_a_code_cards_hint_shows_its_result_expression_safely() -> None:
    hint = hint_for(card(Kind.CODE, result="y\x1b[2J"))
    assert "\x1b" not in hint and "\\x1b" in hint


def assert_one_clean_line(hint: str) -> None:
    assert hint and len(hint) < 400
    assert not any(ch in hint for ch in "\n\r\x1b\x00\x9b\u202e") and "\ud800" not in hint
    assert not any(0xDC80 <= ord(ch) <= 0xDCFF for ch in hint)


def test_sizes_items_and_value_tokens_are_capped() -> None:
    assert parse_answer(card(Kind.SHAPE), "x".join(["2"] * 64)) == (2,) * 64
    with pytest.raises(MalformedAnswer, match="more than 64 sizes"):
        parse_answer(card(Kind.SHAPE), "x".join(["2"] * 65))
    with pytest.raises(MalformedAnswer, match="more than 64 items"):
        parse_answer(card(Kind.SHAPE), "(" + "(1,), " * 70 + ")")
    with pytest.raises(MalformedAnswer, match="more than 64 dtypes"):
        parse_answer(card(Kind.DTYPE), "(" + "int8, " * 70 + ")")
    matrix = [[i * 32 + j for j in range(32)] for i in range(32)]
    assert parse_answer(card(Kind.VALUE), repr(matrix)) == matrix
    with pytest.raises(MalformedAnswer, match="more than 4096 numbers"):
        parse_answer(card(Kind.VALUE), "[" + "1, " * 3000 + "]")


def test_a_value_card_whose_answer_is_a_tuple_says_so_in_its_hint() -> None:
    pair = card(Kind.VALUE, answer="(tuple(y.shape), len(model.weights))")
    assert hint_for(pair) == "type 2 values in brackets, such as (2, 4)"
    assert parse_answer(pair, "((2, 3), 4)") == ((2, 3), 4)
    assert parse_answer(pair, "5") == 5  # graded (wrong), not refused: a value is read as typed
    assert hint_for(card(Kind.SHAPE)) == "type a shape such as (2, 3), 2x3 or [] for a scalar"
