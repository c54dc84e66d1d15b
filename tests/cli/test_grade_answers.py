"""`quiz grade` with answers nobody should type (one line, exit 2, nothing graded) and with `error`
on a `may_raise` card (graded against what the code raised)."""

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
id = "g"
title = "grade"

[[card]]
id = "int-grad.torch"
section = "autograd"
backend = "torch"
kind = "dtype"
may_raise = true
prompt = "What is the dtype of `x.grad`? (type `error` if you think it fails)"
code = '''
x = torch.arange(3, dtype=torch.int64).requires_grad_()
(x * x).sum().backward()
'''
answer = "x.grad.dtype"
explain = "Only floating point tensors can require gradients."

[[card]]
id = "pair.torch"
section = "dtypes"
backend = "torch"
kind = "dtype"
prompt = "What are the dtypes of `a` and `b`?"
code = '''
a = torch.ones(2, dtype=torch.float64)
b = torch.arange(2)
'''
answer = "(a.dtype, b.dtype)"
explain = "."
"""

NASTY = [
    "(" * 30_000 + ")" * 30_000,
    "not " * 16_000,
    "\x1b]0;owned\x07float32",
    b"float\xff32".decode("utf-8", "surrogateescape"),
    "\x9b2Jfloat32",
    "9" * 70_000,
]


@pytest.fixture
def deck(tmp_path: Path) -> Path:
    path = tmp_path / "g.toml"
    path.write_text(textwrap.dedent(DECK).lstrip(), encoding="utf-8")
    return path


@pytest.mark.parametrize("answer", NASTY)
def test_a_nasty_answer_is_one_line_and_exit_2(
    deck: Path, capsys: pytest.CaptureFixture[str], answer: str
) -> None:
    assert main(["grade", "pair.torch", "--answer", answer, "--deck", str(deck)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    line = err.removesuffix("\n")
    assert line.startswith("quiz: malformed answer: ") and "\n" not in line and len(line) < 400
    assert not any(ch in line for ch in "\x1b\x07\x9b") and not any(0xD800 <= ord(c) <= 0xDFFF for c in line)


@pytest.mark.parametrize("answer", NASTY[2:5])
def test_json_echoes_the_answer_visibly(deck: Path, capsys: pytest.CaptureFixture[str], answer: str) -> None:
    assert main(["grade", "pair.torch", "--answer", answer, "--deck", str(deck), "--json"]) == 2
    out = capsys.readouterr().out
    out.encode("utf-8")  # printable as UTF-8: no undecodable bytes written back
    verdict = json.loads(out)
    assert verdict["correct"] is None and verdict["error"].startswith("malformed answer: ")
    assert not any(ch in verdict["given"] for ch in "\x1b\x07\x9b")
    assert "\\x" in verdict["given"] or "\\udc" in verdict["given"]


def test_a_pair_asked_for_a_pair(deck: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", "pair.torch", "--answer", "float64", "--deck", str(deck), "--json"]) == 2
    assert "asks for 2 dtypes" in json.loads(capsys.readouterr().out)["error"]


@pytest.mark.torch
def test_error_and_pairs_graded_from_the_command_line(deck: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def grade(card: str, answer: str) -> tuple[int, dict]:  # type: ignore[type-arg]
        code = main(["grade", card, "--answer", answer, "--deck", str(deck), "--json"])
        return code, json.loads(capsys.readouterr().out)

    code, verdict = grade("int-grad.torch", "error")
    assert code == 0 and verdict["correct"] is True and verdict["expected"] == "raises RuntimeError"
    assert verdict["raised"]["type"] == "RuntimeError"
    code, verdict = grade("int-grad.torch", "int64")
    assert code == 1 and verdict["correct"] is False and verdict["expected"] == "raises RuntimeError"
    code, verdict = grade("pair.torch", "(torch.float64, torch.int64)")
    assert code == 0 and verdict["correct"] is True and verdict["expected"] == "(float64, int64)"
