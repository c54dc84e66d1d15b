"""Reading learners' answers: every accepted spelling, and malformed input asked again (never graded wrong)."""

from __future__ import annotations

import pytest

from quiz.core.answers import MalformedAnswer, canonical_dtype, parse_answer
from quiz.core.cards import Kind
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
