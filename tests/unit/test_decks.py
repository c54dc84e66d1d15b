"""The deck format: what loads, and every problem reported at once with file, line and card id."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from quiz.core.cards import Backend, Kind, Tolerance
from quiz.core.decks import load_deck, load_library, parse_deck, unmet_requirement

FULL = """\
[deck]
id = "view-expand"
title = "view, permute, expand, repeat"
description = "Which operations copy, which only look different."
author = "quiz"
version = "1.0"
tags = ["tensors"]
written_against = { torch = "2.13.0", tensorflow = "2.21.0", keras = "3.15.1", mxnet = "1.9.1" }

[deck.sections]
view-permute-expand = "View, permute, contiguous, expand, repeat"

[[card]]
id = "expand-shape.torch"
section = "view-permute-expand"
backend = "torch"
kind = "shape"
tags = ["difficulty:easy", "interview"]
prompt = "What is `y.shape`?"
code = \'\'\'
x = torch.zeros(${a}, 1, ${b})
y = x.expand(${a}, ${c}, ${b})
\'\'\'
answer = "y.shape"
explain = "`expand` turns size-1 axes into any size, without copying."
timeout = 2.5
requires = { torch = ">=2.1,<3", gpu = false }
vars.a = { int = [1, 4] }
vars.b = { int = [2, 5] }
vars.c = { int = [2, 6] }
assume = ["a != c"]

[[card]]
id = "expand-shape.tensorflow"
section = "view-permute-expand"
backend = "tensorflow"
kind = "value"
prompt = "What is `y`?"
code = \'\'\'
y = tf.broadcast_to(tf.range(${n}), (2, ${n})) * 1.0
\'\'\'
answer = "y"
explain = "`broadcast_to` copies: ${n} columns."
tolerance = { rtol = 1e-3 }
requires = { keras = ">=3" }
vars.n = { int = [1, 3] }

[[card]]
id = "which-copies"
family = "expand-shape"
section = "view-permute-expand"
backend = "mxnet"
kind = "choice"
prompt = "Which call copies?"
code = "x = nd.ones((${n},))"
choices = ["broadcast_to", "${op}"]
answer = "'broadcast_to'"
explain = "MXNet's `broadcast_to` writes a new array."
constant = true
vars.n = { int = [1, 3] }
vars.op = { choice = ["reshape", "expand_dims"] }
"""


def test_the_full_format_loads() -> None:
    deck, problems = parse_deck(FULL, "full.toml")
    assert problems == []
    assert deck is not None
    assert (deck.id, deck.title, deck.author, deck.version, deck.tags) == (
        "view-expand",
        "view, permute, expand, repeat",
        "quiz",
        "1.0",
        ("tensors",),
    )
    assert deck.written_against == {
        "torch": "2.13.0",
        "tensorflow": "2.21.0",
        "keras": "3.15.1",
        "mxnet": "1.9.1",
    }
    assert deck.sections == {"view-permute-expand": "View, permute, contiguous, expand, repeat"}
    torch_card, tf_card, mx_card = deck.cards
    assert torch_card.uid == "view-expand/expand-shape.torch"
    assert (torch_card.backend, torch_card.kind, torch_card.family) == (
        Backend.TORCH,
        Kind.SHAPE,
        "expand-shape",
    )
    assert torch_card.tags == ("difficulty:easy", "interview")
    assert torch_card.timeout == 2.5
    assert torch_card.requires == {"torch": ">=2.1,<3", "gpu": False}
    assert [name for name, _ in torch_card.variables] == ["a", "b", "c"]
    assert torch_card.assume == ("a != c",)
    assert torch_card.location.line == 13
    assert tf_card.tolerance == Tolerance(rtol=1e-3, atol=1e-8)
    assert tf_card.requires == {"keras": ">=3"}
    assert (mx_card.family, mx_card.constant, mx_card.choices) == (
        "expand-shape",
        True,
        ("broadcast_to", "${op}"),
    )


def test_the_core_fields_alone_still_load() -> None:
    deck, problems = parse_deck(
        textwrap.dedent(
            """\
            [deck]
            id = "core"
            title = "Core"
            [[card]]
            id = "c1"
            section = "s"
            backend = "torch"
            kind = "bool"
            prompt = "p"
            code = "x = 1"
            answer = "x == 1"
            explain = "e"
            """
        ),
        "core.toml",
    )
    assert problems == [] and deck is not None
    card = deck.cards[0]
    assert (card.family, card.timeout, card.tags, card.variables) == ("c1", 5.0, (), ())


BROKEN = """\
[deck]
id = "broken"
title = "Broken"
colour = "red"
written_against = { torch = "two", jax = "0.4" }

[[card]]
id = "a.torch"
section = "s"
backend = "torhc"
kind = "shape"
prompt = "What is ${q}?"
code = \'\'\'
answer = 3
x = torch.zeros(${n})
\'\'\'
explain = "e"
vars.n = { int = [1, "m"] }
colour = "red"

[[card]]
id = "b.mxnet"
section = "s"
backend = "torch"
kind = "shapes"
prompt = "p"
code = "x = ("
answer = "x"
explain = "e"
requires = { keras = ">=3", gpu = "yes", jax = ">=1" }

[[card]]
id = "c.torch"
section = "s"
backend = "torch"
kind = "raises"
prompt = "p"
code = "x = 1"
answer = "x"
explain = "e"

[[card]]
id = "d.torch"
section = "s"
backend = "torch"
kind = "choice"
prompt = "p"
code = "x = 1"
choices = ["yes", "no"]
answer = "'maybe'"
explain = "e"

[[card]]
id = "e.torch"
section = "s"
backend = "torch"
kind = "bool"
prompt = "p"
code = "x = 1"
answer = "x == 1"
explain = "Uses ${ghost}."
vars.n = { int = [1, 2] }

[[card]]
id = "f.torch"
section = "s"
backend = "torch"
kind = "bool"
prompt = "p"
code = "x = 1"
answer = "x == 1"
explain = "e"

[[card]]
id = "f.torch"
section = "s"
backend = "torch"
kind = "bool"
prompt = "p"
code = "x = 1"
answer = "x == 1"
explain = "e"

[[card]]
id = "g"
family = "f"
section = "s"
backend = "torch"
kind = "bool"
prompt = "p"
code = "x = 1"
answer = "x == 1"
explain = "e"
"""


def test_every_problem_is_reported_at_once_with_file_line_and_card() -> None:
    deck, problems = parse_deck(BROKEN, "broken.toml")
    assert deck is not None  # the deck loads with the cards that are fine
    assert [c.id for c in deck.cards] == ["f.torch"]
    got = {(p.line, p.card_id, p.message.split(":")[0].split(" (")[0]) for p in problems}
    expected = {
        (4, None, "unknown deck field 'colour'"),
        (5, None, "`written_against` names 'jax'"),
        (5, None, '`written_against.torch` must be a version string such as "2.13.0"'),
        (19, "a.torch", "unknown field 'colour'"),
        (10, "a.torch", "unknown backend 'torhc'"),
        (7, "a.torch", "a 'shape' card needs an `answer` expression"),  # `answer = 3` in code is no field
        (18, "a.torch", "variable 'n' uses undefined variable m"),
        (12, "a.torch", "`prompt` uses undefined variable q"),
        (24, "b.mxnet", "the id ends in '.mxnet' but `backend` is 'torch'"),
        (25, "b.mxnet", "unknown kind 'shapes'"),
        (27, "b.mxnet", "`code` is not valid Python"),
        (30, "b.mxnet", "`requires.gpu` must be true or false"),
        (30, "b.mxnet", "unknown requirement 'jax'"),
        (30, "b.mxnet", "`requires.keras` is for tensorflow cards"),
        (39, "c.torch", "a 'raises' card takes no `answer`"),
        (50, "d.torch", "`answer` is 'maybe', which is not one of the choices"),
        (61, "e.torch", "`explain` uses undefined variable ghost"),
        (62, "e.torch", "the card draws `vars` but never uses them"),
        (74, "f.torch", "duplicate card id"),
        (84, "g", "family 'f' already has a torch card"),
    }
    assert got == expected, sorted(got ^ expected, key=str)
    twin = next(p for p in problems if p.card_id == "g")
    assert "('f.torch' at line 64); a family holds one card per backend" in twin.message
    assert all(p.path == "broken.toml" for p in problems)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[deck]\nid = "x"\ntitle = "T"\n[[card]]\nid = "a"\nprompt = """\nunclosed', 7, "invalid TOML"),
        ('[deck]\nid = "x"\ntitle = "T"\n\n[[card]]\nid = "a"\nsection = = "s"\n', 7, "invalid TOML"),
        ('[deck]\nid = "X Y"\ntitle = "T"\n', 2, "deck `id`"),
        ('[deck]\nid = "x"\n', 1, "deck needs a `title`"),
        ('id = "x"\n', 1, "missing [deck] table"),
        ('[deck]\nid = "x"\ntitle = "T"\n[card]\nid = "a"\n', 4, "use [[card]]"),
        ("", 1, "missing [deck] table"),
    ],
)
def test_unusable_files_get_one_located_problem(text: str, line: int, words: str) -> None:
    deck, problems = parse_deck(text, "f.toml")
    assert any(p.line == line and words in p.message for p in problems), problems
    assert all(isinstance(p.line, int) and p.line >= 1 for p in problems)
    if "invalid TOML" in words or "deck" in words:
        assert deck is None


def test_a_field_name_inside_code_is_not_taken_for_the_field() -> None:
    text = '[deck]\nid = "x"\ntitle = "T"\n\n[[card]]\nid = "a"\nsection = "s"\nbackend = "torch"\nkind = "value"\nprompt = "p"\ncode = \'\'\'\ncolour = 1\nanswer = 2\n\'\'\'\nexplain = "e"\ncolour = 3\n'
    _, problems = parse_deck(text, "f.toml")
    by_message = {p.message.split(" (")[0]: p.line for p in problems}
    assert by_message["unknown field 'colour'"] == 16
    assert by_message["a 'value' card needs an `answer` expression"] == 5


def test_a_broken_file_never_stops_the_other_decks(tmp_path: Path) -> None:
    good = tmp_path / "a-good.toml"
    good.write_text(FULL)
    (tmp_path / "b-broken.toml").write_text("[deck\nid=")
    (tmp_path / "c-binary.toml").write_bytes(b'[deck]\nid = "bin"\ntitle = "\xff\xfe"\n')
    other = FULL.replace('id = "view-expand"', 'id = "other"')
    (tmp_path / "d-other.toml").write_text(other)
    (tmp_path / "e-same-id.toml").write_text(FULL)
    lib = load_library([tmp_path])
    assert [d.id for d in lib.decks] == ["view-expand", "other"]
    located = {(Path(p.path).name, p.line) for p in lib.problems}
    assert ("b-broken.toml", 1) in located
    assert ("c-binary.toml", 3) in located
    assert ("e-same-id.toml", 1) in located
    assert any("already used by" in p.message for p in lib.problems)


def test_missing_and_unreadable_paths_are_problems_not_errors(tmp_path: Path) -> None:
    deck, problems = load_deck(tmp_path / "nope.toml")
    assert deck is None and "no such file" in problems[0].message
    deck, problems = load_deck(tmp_path)
    assert deck is None and "directory" in problems[0].message


def test_unmet_requirements_name_the_reason() -> None:
    deck, _ = parse_deck(FULL, "full.toml")
    assert deck is not None
    torch_card, tf_card, mx_card = deck.cards
    have = {"torch": "2.13.0", "tensorflow": "2.21.0", "keras": "3.15.1", "mxnet": "1.9.1"}
    assert unmet_requirement(torch_card, have) is None
    assert (
        unmet_requirement(torch_card, have | {"torch": "3.0.0"}) == "needs torch>=2.1,<3 (installed: 3.0.0)"
    )
    assert unmet_requirement(torch_card, {"mxnet": "1.9.1"}) == "torch is not installed"
    assert unmet_requirement(tf_card, have | {"keras": "2.15.0"}) == "needs keras>=3 (installed: 2.15.0)"
    assert unmet_requirement(tf_card, {"tensorflow": "2.21.0"}) == "needs keras>=3 (keras is not installed)"
    gpu_card = replace(mx_card, requires={"gpu": True})
    assert unmet_requirement(gpu_card, have, gpu=False) == "needs a GPU"
    assert unmet_requirement(gpu_card, have, gpu=True) is None


def test_the_built_in_decks_load_without_problems(builtin_library) -> None:  # type: ignore[no-untyped-def]
    assert builtin_library.problems == []
    assert len(builtin_library.decks) >= 14
    families: dict[tuple[str, str], set[str]] = {}
    for card in builtin_library.cards():
        families.setdefault((card.deck_id, card.family), set()).add(card.backend.value)
    assert any(len(b) == 3 for b in families.values())  # side-by-side families exist
