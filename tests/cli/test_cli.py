"""The command line as scripts use it: `grade --json` on every backend, `decks` with a broken file, `show`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from quiz.cli import main

# The commands run on the session's warm workers, lent to them (tests/cli/conftest.py).
pytestmark = pytest.mark.usefixtures("lent")

DECK = """
[deck]
id = "cli"
title = "CLI test deck"

[[card]]
id = "expand.torch"
section = "view-permute-expand"
backend = "torch"
kind = "shape"
prompt = "shape?"
code = '''
x = torch.zeros(${a}, 1)
y = x.expand(${a}, ${b})
'''
answer = "y.shape"
explain = "."
vars.a = { int = [2, 5] }
vars.b = { int = [2, 6] }

[[card]]
id = "expand.tensorflow"
section = "view-permute-expand"
backend = "tensorflow"
kind = "shape"
prompt = "shape?"
code = '''
x = tf.zeros((${a}, 1))
y = tf.broadcast_to(x, (${a}, ${b}))
'''
answer = "y.shape"
explain = "."
vars.a = { int = [2, 5] }
vars.b = { int = [2, 6] }

[[card]]
id = "expand.mxnet"
section = "view-permute-expand"
backend = "mxnet"
kind = "shape"
prompt = "shape?"
code = '''
x = nd.zeros((${a}, 1))
y = nd.broadcast_to(x, shape=(${a}, ${b}))
'''
answer = "y.shape"
explain = "."
vars.a = { int = [2, 5] }
vars.b = { int = [2, 6] }
"""


@pytest.fixture
def deck(tmp_path: Path) -> Path:
    path = tmp_path / "cli.toml"
    path.write_text(textwrap.dedent(DECK).lstrip())
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out)


@pytest.mark.parametrize(
    "backend", [pytest.param(b, marks=getattr(pytest.mark, b)) for b in ("torch", "tensorflow", "mxnet")]
)
def test_grade_returns_the_truth_on_each_backend(
    backend: str, deck: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, shown = run_json(capsys, "show", f"cli/expand.{backend}", "--seed", "5", "--deck", str(deck), "--json")
    assert code == 0
    a, b = shown["values"]["a"], shown["values"]["b"]
    assert f"{a}, {b}" in shown["code"]

    code, verdict = run_json(
        capsys,
        "grade",
        f"cli/expand.{backend}",
        "--seed",
        "5",
        "--answer",
        f"({a}, {b})",
        "--deck",
        str(deck),
        "--json",
    )
    assert code == 0
    assert verdict["correct"] is True
    assert verdict["expected"] == f"({a}, {b})"
    assert verdict["backend"] == backend and verdict["device"] == "cpu"
    assert verdict["version"] and verdict["elapsed_ms"] > 0

    code, verdict = run_json(
        capsys,
        "grade",
        "cli/expand",
        "--backend",
        backend,
        "--seed",
        "5",
        "--answer",
        f"({b}, {a + 1})",
        "--deck",
        str(deck),
        "--json",
    )
    assert code == 1
    assert verdict["correct"] is False
    assert verdict["expected"] == f"({a}, {b})"  # the real expected value is shown
    assert verdict["given"] == f"({b}, {a + 1})"


def test_malformed_answer_is_not_graded(deck: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, verdict = run_json(
        capsys, "grade", "cli/expand.torch", "--answer", "(2, 3", "--deck", str(deck), "--json"
    )
    assert code == 2
    assert verdict["correct"] is None and "malformed" in verdict["error"]


def test_unknown_card(deck: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, verdict = run_json(capsys, "grade", "nope", "--answer", "1", "--deck", str(deck), "--json")
    assert code == 2 and verdict["correct"] is None and "no card" in verdict["error"]


def test_show_is_reproducible(deck: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, first = run_json(capsys, "show", "cli/expand.torch", "--seed", "11", "--deck", str(deck), "--json")
    _, again = run_json(capsys, "show", "cli/expand.torch", "--seed", "11", "--deck", str(deck), "--json")
    assert first == again


def test_decks_reports_a_broken_file_and_still_lists_the_others(
    tmp_path: Path, deck: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(
        textwrap.dedent(
            """
            [deck]
            id = "broken"
            title = "Broken"

            [[card]]
            id = "ok.torch"
            section = "s"
            backend = "torch"
            kind = "shape"
            prompt = "p"
            code = "x = 1"
            answer = "x"
            explain = "e"

            [[card]]
            id = "bad.torch"
            section = "s"
            backend = "pytorch"
            kind = "shape"
            prompt = "p"
            code = "x = 1"
            answer = "x"
            explain = "e"
            """
        ).lstrip()
    )
    code = main(["decks", str(tmp_path), "--json"])
    captured = capsys.readouterr()
    assert code == 1
    report = json.loads(captured.out)
    assert {d["id"] for d in report["decks"]} == {"broken", "cli"}  # the other decks still load
    (problem,) = report["problems"]
    assert problem["file"] == str(broken) and problem["line"] == 18 and problem["card"] == "bad.torch"
    assert "unknown backend 'pytorch'" in problem["message"]
    assert f"{broken}:18: card 'bad.torch': unknown backend" in captured.err


@pytest.mark.torch
def test_grade_renders_the_answer_for_the_variant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deck = tmp_path / "rendered.toml"
    deck.write_text(
        textwrap.dedent(
            """
            [deck]
            id = "rendered"
            title = "Rendered answers"

            [[card]]
            id = "pick.torch"
            section = "s"
            backend = "torch"
            kind = "value"
            prompt = "What is `y[${i}]`?"
            code = "y = torch.arange(10) * 3"
            answer = "y[${i}]"
            explain = "."
            vars.i = { int = [0, 9] }
            """
        ).lstrip()
    )
    _, shown = run_json(capsys, "show", "rendered/pick.torch", "--seed", "4", "--deck", str(deck), "--json")
    i = shown["values"]["i"]
    code, verdict = run_json(
        capsys, "grade", "rendered/pick.torch", "--seed", "4", "--answer", str(3 * i), "--deck", str(deck), "--json"
    )
    assert (code, verdict["correct"], verdict["expected"]) == (0, True, str(3 * i))


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        ([], None),
        (["--db", "sqlite:///x.db"], None),
        (["--profile", "ada", "study", "matmul"], "study"),
        (["--device", "cpu", "decks"], "decks"),
        (["--help"], "--help"),
        (["deck", "check", "x.toml"], "deck"),
    ],
)
def test_the_command_word_is_found_past_options(argv: list[str], word: str | None) -> None:
    from quiz.cli import _command_word

    assert _command_word(argv) == word


def test_plain_quiz_parses_as_study_with_only_the_study_parser() -> None:
    from quiz.cli import build_parser

    parser = build_parser(only=("study",))
    args = parser.parse_args(["study", "--db", "sqlite:///x.db", "matmul"])
    assert (args.command, args.deck, args.db) == ("study", "matmul", "sqlite:///x.db")
