"""A terminal nobody can write into: deck text and what card code produced never reach the CLI's output raw.

Two promises, both guarded here. A deck whose text holds control characters
(RAW_DECK) is refused at load, with a problem naming file, line and card and
the character written visibly, and none of its text is shown. Text that still
reaches the terminal at run time is shown with its escapes made visible
(`\\x1b`) and is never read as markup: what a card prints and raises, truths
its code computes, text a `${...}` substitution makes (the expression is
Python, so `${'\\x1b[5m'}` puts an ESC into a prompt the loader never saw),
typed answers, file paths, and the markup-like text (`[/x]`, `[bold]`) the
loader allows. So the hostile DECK holds its escape sequences only as Python
escapes inside TOML literal strings, where they load and are made at run time.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from quiz.cli import main
from quiz.core.text import visible

# The commands run on the session's warm workers, lent to them (tests/cli/conftest.py); `deck check`
# and `export` with --jobs 1, the pool of one worker the lent runner stands in for.
pytestmark = pytest.mark.usefixtures("lent")

ESC = "\x1b"
TITLE = "\x1b]0;pwned\x07"  # would retitle the window (and the tmux pane)
ERASE = "\x1b[2K"  # would erase the line it is on
BLINK = "\x1b[5m"

# Loads: every escape is a Python escape in a TOML literal string ('...', '''...'''), made at
# run time by the card's code or by a `${...}` substitution; the deck's own text is markup-like.
DECK = r"""
[deck]
id = "hostile"
title = "Hostile [bold]deck[/bold] [/x]"

[[card]]
id = "pick.torch"
section = "sec [/x] [blink]"
backend = "torch"
kind = "choice"
prompt = '''Pick one ${'\x1b]0;pwned\x07'} [/x] [bold]now[/bold]'''
code = '''
x = torch.arange(3)
s = "[/x] \x1b[5m blink"
print("\x1b[2Kcard stdout [/x]")
'''
answer = "s"
choices = ['''[/x] ${'\x1b[5m'} blink''', "plain [red]choice[/red]"]
explain = '''Because ${'\x1b[2K'} [/x] it is so.'''

[[card]]
id = "boom.torch"
section = "sec [/x] [blink]"
backend = "torch"
kind = "value"
prompt = '''What is x? ${'\x9b2K \u202e'}'''
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

# Refused at load: control characters in the deck's text itself (title, section, prompt, a
# choice, explain), written as TOML escapes that tomllib turns into the characters;
# RAW_BYTES_DECK holds the characters themselves. Each text holds a "leak" word to look for.
RAW_DECK = r"""
[deck]
id = "raw"
title = "leaktitle \u001b]0;pwned\u0007"

[[card]]
id = "pick.torch"
section = "leaksection \u001b[5m"
backend = "torch"
kind = "choice"
prompt = "leakprompt \u001b]0;pwned\u0007 [/x]"
code = "x = 1"
answer = '"leakchoice"'
choices = ["leakchoice", "leakother \u001b[5m"]
explain = "leakexplain \u001b[2K."

[[card]]
id = "bidi.torch"
section = "plain"
backend = "torch"
kind = "value"
prompt = "leakbidi \u009b2K"
code = "x = 1"
answer = "x"
explain = "leakrtl \u202e."
"""
RAW_BYTES_DECK = (
    RAW_DECK.replace("\\u001b", ESC)
    .replace("\\u0007", "\x07")
    .replace("\\u009b", "\x9b")
    .replace("\\u202e", "\u202e")
)
# File names are hostile too: a path is text that reaches the terminal.
HOSTILE_NAME = "hostile \x1b]0;pwned\x07 [bold].toml"
SHOWN_NAME = "hostile \\x1b]0;pwned\\x07 [bold].toml"


@pytest.fixture
def deck(tmp_path: Path) -> Path:
    path = tmp_path / HOSTILE_NAME
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
    assert shown["section"] == "sec [/x] [blink]"


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
def test_grade_shows_a_truth_a_choice_and_a_typed_answer_visibly(
    deck: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["grade", "hostile/pick.torch", "--deck", str(deck), "--answer", "b"]) == 1
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert "you said b; torch on cpu gave [/x] \\x1b[5m blink" in out  # a truth computed by the code
    assert main(["grade", "hostile/odd.torch", "--deck", str(deck), "--answer", "'[/x] [bold]v'"]) == 1
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert "you said '[/x] [bold]v'; torch on cpu gave 'v\\x1b[5m[/x]\\x9b2K\\u202e'" in out
    # A typed answer holding an escape is malformed (asked again), and echoed visibly.
    main(["grade", "hostile/odd.torch", "--deck", str(deck), "--answer", f"'{ERASE} [/x]'", "--json"])
    out, err = capsys.readouterr()
    assert_safe(out + err)
    shown = json.loads(out)
    assert shown["correct"] is None and shown["given"] == "'\\x1b[2K [/x]'"
    assert "control character (\\x1b at position 1)" in shown["error"]


def test_grade_batch_echoes_a_hostile_card_id_and_answer_visibly(
    deck: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Neither line runs code (no such card; a malformed answer) and stdin is read line by line
    # (no prestart), so no worker starts.
    lines = [
        {"card": f"no{TITLE}\x9b2K\u202e", "seed": 0, "answer": "1"},
        {"card": "hostile/odd.torch", "seed": 0, "answer": f"1\x9b\u202e\x7f{ESC}"},
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()

    def batch(*extra: str) -> int:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
        return main(["grade", "--batch", "-", "--deck", str(deck), *extra])

    assert batch() == 2
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert "line 1 no\\x1b]0;pwned\\x07\\x9b2K\\u202e seed 0: not graded" in out
    assert "line 2 hostile/odd.torch seed 0: not graded: malformed answer" in out
    assert batch("--json") == 2
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert "\x7f" not in out
    verdicts = [json.loads(line) for line in out.splitlines()]
    assert verdicts[0]["card"] == lines[0]["card"]  # the data intact, escaped by JSON
    assert verdicts[1]["given"] == lines[1]["answer"] and verdicts[1]["correct"] is None


def test_json_keeps_the_data_and_escapes_c1_and_bidi_too(
    deck: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "hostile/boom.torch", "--deck", str(deck), "--json"]) == 0
    out = capsys.readouterr().out
    assert_safe(out)
    assert "\\u009b2K \\u202e" in out
    assert json.loads(out)["prompt"] == "What is x? \x9b2K \u202e"


def test_decks_lists_a_markup_like_section_literally(deck: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decks", str(deck)]) == 0
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert "sec [/x] [blink]" in out


@pytest.mark.torch
def test_deck_check_output_shows_the_failure_visibly(deck: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["deck", "check", str(deck), "--variants", "1", "--search", "0", "--no-record", "--jobs", "1"]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 1  # the boom card raises
    assert_safe(out + err)
    assert "ValueError: bad \\x1b]0;pwned\\x07 [/x] value" in out
    assert f"{SHOWN_NAME}:" in out  # the path, visibly
    main([*argv, "--json"])
    out = capsys.readouterr().out
    assert_safe(out)
    json.loads(out)


@pytest.mark.torch
def test_anki_export_names_a_failed_variant_visibly(
    deck: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "hostile.apkg"
    argv = ["export", "--anki", str(out), str(deck), "--variants", "1", "--device", "cpu", "--jobs", "1"]
    assert main(argv) == 0
    shown, err = capsys.readouterr()
    assert_safe(shown + err)
    assert "hostile/boom.torch seed 0: ValueError: bad \\x1b]0;pwned\\x07 [/x] value" in shown


@pytest.mark.parametrize("text", [RAW_DECK, RAW_BYTES_DECK], ids=["toml-escapes", "raw-characters"])
def test_a_deck_with_control_characters_in_its_text_is_refused_and_none_of_it_is_shown(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / HOSTILE_NAME
    path.write_text(text)
    lines = text.splitlines()

    def line_of(word: str) -> int:
        return next(n for n, line in enumerate(lines, start=1) if word in line)

    assert main(["show", "raw/pick.torch", "--deck", str(path)]) == 2  # no such card: the deck did not load
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert "leak" not in out + err  # none of the deck's text
    assert f"{SHOWN_NAME}:{line_of('leaktitle')}: " in err  # file and line of the title
    assert "U+001B (ESC)" in err  # the character, named visibly

    assert main(["decks", str(path)]) == 1
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert "leak" not in out + err and "0 decks, 0 cards" in out
    if text is RAW_BYTES_DECK:  # each line holding one is named, with its card
        for word, card in [
            ("leaktitle", ""),
            ("leakprompt", "card 'pick.torch': "),
            ("leakrtl", "card 'bidi.torch': "),
        ]:
            assert f"{SHOWN_NAME}:{line_of(word)}: {card}this line holds the control character" in err
    else:  # each field holding one is named, with its card
        for key in ("section", "prompt", "choices", "explain"):
            assert f"card 'pick.torch': `{key}` holds the control character U+001B (ESC)" in err
    assert "U+009B" in err and "card 'bidi.torch'" in err

    assert main(["decks", str(path), "--json"]) == 1
    out, err = capsys.readouterr()
    assert_safe(out + err)
    shown = json.loads(out)
    assert shown["decks"] == [] and "leak" not in out
    problems = shown["problems"]
    assert {p["card"] for p in problems} == {None, "pick.torch", "bidi.torch"}
    assert all(p["file"] == str(path) and isinstance(p["line"], int) for p in problems)  # the data is intact
    assert any("U+202E (RIGHT-TO-LEFT OVERRIDE)" in p["message"] for p in problems)


def test_errors_and_problems_are_shown_visibly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "no-such\x1b]0;pwned\x07card"]) == 2
    err = capsys.readouterr().err
    assert_safe(err)
    assert "no-such\\x1b]0;pwned\\x07card" in err
    broken = tmp_path / "broken [bold].toml"
    broken.write_text('[deck]\nid = "b"\ntitle = "t"\n[[card]]\nid = "c"\nkind = "nope [/x] [bold]"\n')
    assert main(["decks", str(broken)]) == 1
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert "broken [bold].toml:6: card 'c':" in err and "nope [/x] [bold]" in err  # literally, not as markup


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
