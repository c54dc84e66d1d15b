"""The card field `may_raise`: validated by the deck loader, and set on the built-in cards that invite `error`."""

from __future__ import annotations

import re
import textwrap

import pytest

from quiz.core.answers import Raises, parse_answer
from quiz.core.decks import parse_deck
from quiz.core.variables import concrete, draw_variant

DECK = """\
[deck]
id = "d"
title = "t"

[[card]]
id = "c.torch"
section = "s"
backend = "torch"
kind = "{kind}"
prompt = "What is the dtype of `y`? (type `error` if you think it fails)"
code = "y = torch.arange(3)"
{answer}
explain = "."
{field}
"""


def load(kind: str, field: str) -> tuple[object, list[str]]:
    answer = "" if kind == "raises" else 'answer = "y.dtype"'
    text = DECK.format(kind=kind, answer=answer, field=field)
    deck, problems = parse_deck(textwrap.dedent(text), "d.toml")
    return deck, [str(p) for p in problems]


@pytest.mark.parametrize("kind", ["shape", "dtype", "bool", "grad_is_none", "value"])
def test_may_raise_loads_on_the_kinds_that_take_a_prediction(kind: str) -> None:
    deck, problems = load(kind, "may_raise = true")
    assert problems == []
    assert deck is not None and deck.cards[0].may_raise is True  # type: ignore[attr-defined]


def test_may_raise_defaults_to_false() -> None:
    deck, problems = load("dtype", "")
    assert problems == [] and deck.cards[0].may_raise is False  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kind", "field", "message"),
    [
        ("dtype", 'may_raise = "yes"', "`may_raise` must be true or false"),
        ("dtype", "may_raise = 1", "`may_raise` must be true or false"),
        ("raises", "may_raise = true", "not for 'raises' cards (it always takes an exception)"),
        ("code", "may_raise = true", "not for 'code' cards"),
    ],
)
def test_a_wrong_may_raise_names_file_line_and_card(kind: str, field: str, message: str) -> None:
    _, problems = load(kind, field)
    assert any(message in p for p in problems), problems
    line = next(p for p in problems if message in p)
    assert line.startswith("d.toml:14: card 'c.torch':"), line


def test_builtin_cards_that_invite_error_set_may_raise(builtin_library) -> None:  # type: ignore[no-untyped-def]
    invite = re.compile(r"type\s+`error`", re.S)
    inviting = {c.uid for c in builtin_library.cards() if invite.search(c.prompt)}
    assert {"autograd/int-no-grad.mxnet", "autograd/no-gradients-provided.torch"} <= inviting
    flagged = {c.uid for c in builtin_library.cards() if c.may_raise}
    assert inviting <= flagged  # a prompt that invites `error` must let the learner type it
    for uid in inviting:
        (c,) = builtin_library.find(uid)
        shown = concrete(c, draw_variant(c, 0))
        assert parse_answer(shown, "error") == Raises()
        assert parse_answer(shown, "raises RuntimeError") == Raises("RuntimeError")
