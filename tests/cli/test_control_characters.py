"""A terminal nobody can write into: deck text and what card code produced never reach the CLI's output raw.

The hostile deck holds escape sequences (window title, erase line, blink)
and markup-like text in its title, a section, a prompt, a choice and an
explanation; its cards print escapes and raise exceptions whose messages
hold them. Every command that shows such text must write the escapes out
visibly (`\\x1b`) and show markup-like text as it is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quiz.cli import main
from quiz.core.text import visible

ESC = "\x1b"
TITLE = "\x1b]0;pwned\x07"  # would retitle the window (and the tmux pane)
ERASE = "\x1b[2K"  # would erase the line it is on
BLINK = "\x1b[5m"

DECK = r"""
[deck]
id = "hostile"
title = "Hostile \u001b]0;pwned\u0007 [bold]deck[/bold]"

[[card]]
id = "pick.torch"
section = "sec [/x] \u001b[5m"
backend = "torch"
kind = "choice"
prompt = "Pick one \u001b]0;pwned\u0007 [/x] [bold]now[/bold]"
code = '''
x = torch.arange(3)
print("\x1b[2Kcard stdout [/x]")
'''
answer = '''"[/x] \x1b[5m blink"'''
choices = ["[/x] \u001b[5m blink", "plain [red]choice[/red]"]
explain = "Because \u001b[2K [/x] it is so."

[[card]]
id = "boom.torch"
section = "sec [/x] \u001b[5m"
backend = "torch"
kind = "value"
prompt = "What is x? \u009b2K \u202e"
code = '''
print("\x1b]0;pwned\x07 from stdout")
raise ValueError("bad \x1b]0;pwned\x07 [/x] value")
'''
answer = "1"
explain = "."

[[card]]
id = "odd.torch"
section = "plain"
backend = "torch"
kind = "value"
prompt = "What is v?"
code = '''v = "v\x1b[5m[/x]\x9b2K\u202e"'''
answer = "v"
explain = "."
"""


@pytest.fixture
def deck(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.toml"
    path.write_text(DECK)
    return path


def assert_safe(text: str) -> None:
    """Nothing raw: no ESC, no BEL, no C1 CSI, no bidi override anywhere in what was written."""
    for ch in (ESC, "\x07", "\x9b", "\u202e"):
        assert ch not in text, f"{ch!r} reached the output: {text!r}"


def test_show_makes_escapes_visible_and_never_reads_deck_text_as_markup(
    deck: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "hostile/pick.torch", "--deck", str(deck)]) == 0
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert "Pick one \\x1b]0;pwned\\x07 [/x] [bold]now[/bold]" in out  # the prompt still reads
    assert "a) [/x] \\x1b[5m blink" in out and "b) plain [red]choice[/red]" in out
    assert 'print("\\x1b[2Kcard stdout [/x]")' in out  # the code as written


def test_show_json_escapes_every_control_character(deck: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "hostile/pick.torch", "--deck", str(deck), "--json"]) == 0
    out = capsys.readouterr().out
    assert_safe(out)
    shown = json.loads(out)
    assert shown["prompt"] == f"Pick one {TITLE} [/x] [bold]now[/bold]"  # the data itself is intact
    assert shown["choices"][0] == f"[/x] {BLINK} blink"


@pytest.mark.torch
def test_grade_shows_an_exception_message_from_card_code_visibly(
    deck: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["grade", "hostile/boom.torch", "--deck", str(deck), "--answer", "1"]) == 3
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert "not graded: ValueError: bad \\x1b]0;pwned\\x07 [/x] value" in out
    assert "from stdout" not in out  # what the card printed is captured, not shown


@pytest.mark.torch
def test_grade_shows_a_truth_and_a_choice_with_escapes_visibly(
    deck: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["grade", "hostile/pick.torch", "--deck", str(deck), "--answer", "b"]) == 1
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert "you said b; torch on cpu gave [/x] \\x1b[5m blink" in out
    assert main(["grade", "hostile/odd.torch", "--deck", str(deck), "--answer", "'v'"]) == 1
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert "[/x]" in out


def test_json_keeps_the_data_and_escapes_c1_and_bidi_too(
    deck: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "hostile/boom.torch", "--deck", str(deck), "--json"]) == 0
    out = capsys.readouterr().out
    assert_safe(out)
    assert "\\u009b2K \\u202e" in out
    assert json.loads(out)["prompt"] == "What is x? \x9b2K \u202e"


def test_decks_lists_a_hostile_section_and_title(deck: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decks", str(deck)]) == 0
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert "sec [/x] \\x1b[5m" in out


@pytest.mark.torch
def test_deck_check_output_shows_the_failure_visibly(deck: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["deck", "check", str(deck), "--variants", "1", "--search", "0", "--no-record"])
    out, err = capsys.readouterr()
    assert code == 1  # the boom card raises
    assert_safe(out + err)
    assert "ValueError: bad \\x1b]0;pwned\\x07 [/x] value" in out
    main(["deck", "check", str(deck), "--variants", "1", "--search", "0", "--no-record", "--json"])
    out = capsys.readouterr().out
    assert_safe(out)
    json.loads(out)


def test_errors_and_problems_are_shown_visibly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "no-such\x1b]0;pwned\x07card"]) == 2
    err = capsys.readouterr().err
    assert_safe(err)
    assert "no-such\\x1b]0;pwned\\x07card" in err
    broken = tmp_path / "broken.toml"
    broken.write_text('[deck]\nid = "b"\ntitle = "t"\n[[card]]\nid = "c"\nkind = "nope \\u001b[2K"\n')
    main(["decks", str(broken)])
    out, err = capsys.readouterr()
    assert_safe(out + err)


def test_the_exam_report_in_markdown_is_safe() -> None:
    from datetime import UTC, datetime

    from quiz.core.exam import ExamConfig, ExamReport, QuestionResult, report_markdown

    result = QuestionResult(
        position=0,
        card_uid="hostile/boom.torch",
        section=f"sec [/x] {BLINK}",
        backend="torch",
        kind="value",
        seed=0,
        values={},
        prompt=f"What {TITLE} is x?",
        code=f"raise ValueError('{ERASE}')",
        explain=f"Because {ERASE} so.",
        answer=f"1{ESC}[5m",
        expected=None,
        correct=None,
        error=f"ValueError: bad {TITLE} value",
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    report = ExamReport(ExamConfig(questions=1, seed=1), now, now, "completed", (result,))
    text = report_markdown(report)
    assert_safe(text)
    assert "ValueError: bad \\x1b]0;pwned\\x07 value" in text and "`1\\x1b[5m`" in text


def test_visible_keeps_newlines_and_tabs_and_reads_back() -> None:
    assert visible("a\tb\nc") == "a\tb\nc"
    assert visible(f"{TITLE}x\r\x00\x7f\x9b\u2028") == "\\x1b]0;pwned\\x07x\\r\\x00\\x7f\\x9b\\u2028"
    assert visible("日本語 [/x]") == "日本語 [/x]"
