"""Deck text a stranger wrote: control characters are refused with file, line and card; huge files are refused cheaply."""

from __future__ import annotations

import textwrap
import tracemalloc
from pathlib import Path

import pytest

from quiz.core.decks import DEFAULT_LIMITS, DeckLimits, load_deck, parse_deck

CARD = '''
[deck]
id = "d"
title = "T"

[[card]]
id = "c.torch"
section = "s"
backend = "torch"
kind = "value"
prompt = "p"
code = """
x = 1  # note{hide}
import os
"""
answer = "x"
explain = "e"
'''


@pytest.mark.parametrize(
    ("hide", "named"),
    [
        ("\\u001b[2K\\u001b[1A", "U+001B (ESC)"),  # a TOML escape: tomllib lets it through
        ("\\b\\b\\b\\b", "U+0008 (BS)"),
        ("\\r", "U+000D (CR)"),
        ("\u009b2K", "U+009B"),  # a raw C1 CSI: tomllib lets it through
        ("\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),  # Trojan Source
        ("\x1b[2K", "U+001B (ESC)"),  # raw: tomllib would only say "invalid character"
        ("\u2028", "U+2028 (LINE SEPARATOR)"),
    ],
)
def test_control_characters_are_refused_with_file_line_and_card(hide: str, named: str) -> None:
    deck, problems = parse_deck(textwrap.dedent(CARD).lstrip().replace("{hide}", hide), "f.toml")
    assert deck is None
    (problem,) = problems
    assert (problem.path, problem.line, problem.card_id) == ("f.toml", 12, "c.torch")
    assert named in problem.message and "control character" in problem.message
    assert not any(ch in str(problem) for ch in "\x1b\x08\r\u009b\u202e\u2028")  # never printed raw


def test_tab_newline_crlf_and_written_escapes_are_fine() -> None:
    text = textwrap.dedent(CARD).lstrip().replace("{hide}", "\t# tab, and an escape as text: \\\\x1b")
    deck, problems = parse_deck(text, "f.toml")
    assert deck is not None and problems == []
    assert "\\x1b" in deck.cards[0].code
    deck, problems = parse_deck(text.replace("\n", "\r\n"), "f.toml")
    assert deck is not None and problems == [] and "\r" not in deck.cards[0].code


def test_a_control_character_in_the_deck_part_or_a_key_is_refused_too() -> None:
    text = textwrap.dedent(CARD).lstrip().replace("{hide}", "")
    deck, problems = parse_deck(text.replace('title = "T"', 'title = "T\\u001b]0;owned\\u0007"'), "f.toml")
    assert deck is None and problems[0].line == 3 and problems[0].card_id is None
    deck, problems = parse_deck(text.replace('explain = "e"', 'explain = "e"\n"x\\u001b" = 1'), "f.toml")
    assert deck is None and "<U+001B (ESC)>" in problems[0].message


def cards(n: int) -> str:
    head = '[deck]\nid = "big"\ntitle = "Big"\n'
    card = (
        '\n[[card]]\nid = "c{i}.torch"\nsection = "s"\nbackend = "torch"\nkind = "value"\n'
        'prompt = "p"\ncode = "x = {i}"\nanswer = "x"\nexplain = "e"\n'
    )
    return head + "".join(card.format(i=i) for i in range(n))


def test_a_deck_over_the_card_limit_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text(cards(DEFAULT_LIMITS.max_cards + 1))
    tracemalloc.start()
    deck, problems = load_deck(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert deck is None
    (problem,) = problems
    assert "2,001 cards, more than the 2,000" in problem.message and "deck_max_cards" in problem.message
    assert peak < 20 * len(path.read_bytes())  # never parsed into cards
    deck, problems = load_deck(path, DeckLimits(max_cards=3000))
    assert deck is not None and len(deck.cards) == 2001


def test_cards_written_as_an_inline_array_count_too() -> None:
    # No [[card]] header to count: the cards are one top-level array.
    text = (
        "card = [" + ", ".join(f"{{ id = 'c{i}' }}" for i in range(5)) + ']\n[deck]\nid = "d"\ntitle = "T"\n'
    )

    deck, problems = parse_deck(text, "f.toml", DeckLimits(max_cards=4))
    assert deck is None and "5 cards, more than the 4" in problems[0].message


def test_a_file_over_the_size_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    with open(path, "wb") as f:
        f.truncate(60_000_000)  # sparse: a 60 MB file that costs no disk
    tracemalloc.start()
    deck, problems = load_deck(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert deck is None and peak < 1_000_000
    (problem,) = problems
    assert problem.message.startswith("the deck file is 60.0 MB, more than the 2.0 MB one deck file may hold")
    assert "deck_max_bytes" in problem.message
