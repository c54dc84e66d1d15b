"""`quiz grade --batch`: one verdict a line, in order, with `quiz grade --json`'s keys, on the same warm
workers; bad lines get an error verdict and the batch goes on; `-` streams stdin line by line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from quiz.cli import main

# The commands run on the session's warm workers, lent to them (tests/cli/conftest.py); reading
# stdin through a pipe is tested on a real `quiz` process (test_stdin_is_graded_line_by_line_as_it_comes).
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("lent")]

DECK = """
[deck]
id = "batch"
title = "Batch test deck"

[[card]]
id = "expand.torch"
section = "s"
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
section = "s"
backend = "tensorflow"
kind = "shape"
prompt = "shape?"
code = '''
y = tf.broadcast_to(tf.zeros((${a}, 1)), (${a}, ${b}))
'''
answer = "y.shape"
explain = "."
vars.a = { int = [2, 5] }
vars.b = { int = [2, 6] }

[[card]]
id = "expand.mxnet"
section = "s"
backend = "mxnet"
kind = "shape"
prompt = "shape?"
code = '''
y = nd.broadcast_to(nd.zeros((${a}, 1)), shape=(${a}, ${b}))
'''
answer = "y.shape"
explain = "."
vars.a = { int = [2, 5] }
vars.b = { int = [2, 6] }

[[card]]
id = "pid.torch"
section = "s"
backend = "torch"
kind = "value"
prompt = "Which process?"
code = "import os"
answer = "os.getpid()"
explain = "."
constant = true

[[card]]
id = "swap.torch"
section = "s"
backend = "torch"
kind = "code"
prompt = "Swap the last two axes of `x`."
code = "x = torch.arange(${prod(s)}).reshape(${s})"
answer = "x.transpose(-1, -2)"
explain = "."
vars.s = { shape = { rank = [2, 3], side = [2, 4] } }

[[card]]
id = "hang.torch"
section = "s"
backend = "torch"
kind = "value"
prompt = "?"
code = "while True:\\n    pass"
answer = "1"
explain = "."
timeout = 1
"""


@pytest.fixture
def deck(tmp_path: Path) -> Path:
    path = tmp_path / "batch.toml"
    path.write_text(textwrap.dedent(DECK).lstrip())
    return path


def batch(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, deck: Path, lines: list[Any]
) -> tuple[int, list[dict[str, Any]]]:
    path = tmp_path / "answers.jsonl"
    with open(path, "wb") as f:
        for line in lines:
            f.write(line if isinstance(line, bytes) else json.dumps(line).encode() + b"\n")
    code = main(["grade", "--batch", str(path), "--json", "--deck", str(deck)])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines()]


def shape_of(capsys: pytest.CaptureFixture[str], deck: Path, card: str, seed: int) -> str:
    assert main(["show", card, "--seed", str(seed), "--deck", str(deck), "--json"]) == 0
    values = json.loads(capsys.readouterr().out)["values"]
    return f"({values['a']}, {values['b']})"


@pytest.mark.tensorflow
@pytest.mark.mxnet
@pytest.mark.slow
def test_every_line_is_graded_in_order_on_the_same_warm_workers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, deck: Path
) -> None:
    # Ids qualified by the deck where a built-in deck has a card of the same id (translate's expand).
    right = {b: shape_of(capsys, deck, f"batch/expand.{b}", 3) for b in ("torch", "tensorflow", "mxnet")}
    lines = [
        {"card": "pid.torch", "seed": 0, "answer": "0"},
        {"card": "expand.torch", "seed": 3, "answer": right["torch"]},
        {"card": "batch/expand", "backend": "tensorflow", "seed": 3, "answer": right["tensorflow"]},
        {"card": "expand.mxnet", "seed": 3, "answer": "(1, 1)", "device": "cpu"},
        {"card": "swap.torch", "seed": 2, "answer": "x.mT"},
        {"card": "swap.torch", "seed": 2, "answer": "x"},
        {"card": "pid.torch", "seed": 5, "answer": "0"},
    ]
    code, verdicts = batch(capsys, tmp_path, deck, lines)
    assert code == 0  # every line graded, right or wrong
    assert [v["card"] for v in verdicts] == [
        "batch/pid.torch",
        "batch/expand.torch",
        "batch/expand.tensorflow",
        "batch/expand.mxnet",
        "batch/swap.torch",
        "batch/swap.torch",
        "batch/pid.torch",
    ]
    assert [v["correct"] for v in verdicts] == [False, True, True, False, True, False, False]
    assert [v["backend"] for v in verdicts[1:4]] == ["torch", "tensorflow", "mxnet"]
    assert verdicts[3]["expected"] == right["mxnet"]
    assert verdicts[0]["expected"] == verdicts[-1]["expected"]  # one warm torch worker throughout
    assert verdicts[4]["variants_checked"] == 4 and "failing_variant" in verdicts[5]

    # The same keys, and the same verdict, as `quiz grade --json` for that line.
    for line, verdict in ((lines[1], verdicts[1]), (lines[5], verdicts[5])):
        argv = ["grade", line["card"], "--seed", str(line["seed"]), "--answer", line["answer"]]
        main([*argv, "--deck", str(deck), "--json"])
        single = json.loads(capsys.readouterr().out)
        assert single.keys() == verdict.keys()
        assert {k: v for k, v in single.items() if k != "elapsed_ms"} == {
            k: v for k, v in verdict.items() if k != "elapsed_ms"
        }


def test_a_bad_line_gets_an_error_verdict_and_the_batch_goes_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, deck: Path
) -> None:
    good = {"card": "expand.torch", "seed": 1, "answer": shape_of(capsys, deck, "expand.torch", 1)}
    lines: list[Any] = [
        b"{not json\n",
        {"card": "nope", "seed": 1, "answer": "1"},
        {"card": "expand.torch", "seed": 1, "answer": "(2, 3"},
        {"card": "expand.torch", "seed": 1, "anwser": "(2, 3)"},
        {"card": "expand.torch", "seed": "one", "answer": "(2, 3)"},
        {"card": "expand.torch", "seed": 1},
        {"card": "expand.torch", "seed": 1, "answer": "(2, 3)", "device": "tpu"},
        [1, 2],
        b"\xff\xfe\n",
        b"   \n",  # blank: skipped
        good,
    ]
    code, verdicts = batch(capsys, tmp_path, deck, lines)
    assert code == 2
    assert len(verdicts) == 10
    assert all(v["correct"] is None for v in verdicts[:9])
    errors = [v["error"] for v in verdicts[:9]]
    assert "line 1: not JSON" in errors[0]
    assert "no card 'nope'" in errors[1] and verdicts[1]["card"] == "nope"
    assert errors[2].startswith("malformed answer") and verdicts[2]["card"] == "batch/expand.torch"
    assert verdicts[2]["seed"] == 1 and verdicts[2]["given"] == "(2, 3"
    assert "unknown key 'anwser'" in errors[3]
    assert '"seed" must be a whole number' in errors[4]
    assert '"answer" must be a string' in errors[5]
    assert '"device" is auto, cpu, gpu' in errors[6]
    assert "each line is a JSON object" in errors[7]
    assert "line 9: not UTF-8" in errors[8]
    assert verdicts[9]["correct"] is True and verdicts[9]["card"] == "batch/expand.torch"


def test_a_card_that_cannot_be_run_is_exit_status_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, deck: Path
) -> None:
    code, verdicts = batch(
        capsys,
        tmp_path,
        deck,
        [{"card": "hang.torch", "seed": 0, "answer": "1"}, {"card": "pid.torch", "seed": 0, "answer": "1"}],
    )
    assert code == 3
    assert verdicts[0]["correct"] is None and "timed out" in verdicts[0]["error"]
    assert verdicts[1]["correct"] is False  # the next line runs on the fresh worker


def test_stdin_is_graded_line_by_line_as_it_comes(tmp_path: Path, deck: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "quiz",
            "grade",
            "--batch",
            "-",
            "--json",
            "--device",
            "cpu",
            "--deck",
            str(deck),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        seen = []
        for seed in (1, 2):
            line = {"card": "pid.torch", "seed": seed, "answer": "0"}
            proc.stdin.write(json.dumps(line).encode() + b"\n")
            proc.stdin.flush()
            seen.append(json.loads(proc.stdout.readline()))  # answered before the next line is sent
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert [v["seed"] for v in seen] == [1, 2]
    assert seen[0]["expected"] == seen[1]["expected"]


def test_batch_takes_no_card_and_says_what_it_needs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, deck: Path
) -> None:
    assert main(["grade", "expand.torch", "--batch", "x.jsonl"]) == 2
    assert "give no CARD_ID" in capsys.readouterr().err
    assert main(["grade", "--batch", str(tmp_path / "missing.jsonl"), "--json"]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["grade", "expand.torch"]) == 2
    assert "give CARD_ID and --answer" in capsys.readouterr().err
