"""`quiz deck check` on code and translate cards: a translation checked against its source on every
variant (and shrunk when wrong), and a code card without variables flagged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quiz.checking.check import CheckOptions, CheckReport, run_check

pytestmark = [pytest.mark.torch, pytest.mark.mxnet]

DECK = """
[deck]
id = "t"
title = "T"

[[card]]
id = "unsqueeze.mxnet"
section = "s"
backend = "mxnet"
kind = "translate"
source_backend = "torch"
prompt = "p"
source_code = '''
x = torch.tensor(${x}, dtype=torch.float32)
a = ${a}
y = x.unsqueeze(a)
'''
code = '''
x = nd.array(${x}, dtype="float32")
a = ${a}
'''
answer = "ANSWER"
result = "y"
explain = "e"
vars.s = { shape = { rank = [1, 3], side = [1, 3] } }
vars.x = { array = "s", elements = [-9, 9] }
vars.a = { int = [0, "len(s)"] }

[[card]]
id = "fixed.torch"
section = "s"
backend = "torch"
kind = "code"
prompt = "p"
code = "x = torch.arange(6)"
answer = "x.view(2, 3)"
explain = "e"
"""


@pytest.fixture(scope="module")
def pool(runner: Any) -> Any:
    """The session's warm runner as a pool of one worker per backend, what `RunnerPool(1)` is: no
    framework start of this module's own (the canary checks the runner after each test)."""
    from quiz.commands.common import PoolOfOne

    return PoolOfOne(runner)


def check(pool: Any, tmp_path: Path, answer: str) -> dict[str, Any]:
    path = tmp_path / "deck.toml"
    path.write_text(DECK.replace("ANSWER", answer))
    report: CheckReport = run_check(
        [str(path)], CheckOptions(variants=6, search=5, device="cpu", record=False), pool=pool
    )
    assert report.problems == []
    return {r.card.id: r for r in report.results}


def test_a_right_translation_passes_and_a_code_card_without_vars_is_flagged(
    pool: Any, tmp_path: Path
) -> None:
    results = check(pool, tmp_path, "y = x.expand_dims(axis=a)")
    assert results["unsqueeze.mxnet"].status == "pass", results["unsqueeze.mxnet"].flags
    assert results["unsqueeze.mxnet"].truths  # the reference translation's results are its truths
    fixed = results["fixed.torch"]
    assert fixed.status == "fail" and [f.code for f in fixed.flags] == ["no-vars"]
    assert "hard-codes its result" in fixed.flags[0].message


def test_a_wrong_reference_translation_is_flagged_with_the_smallest_input(pool: Any, tmp_path: Path) -> None:
    result = check(pool, tmp_path, "y = x.expand_dims(axis=0)")["unsqueeze.mxnet"]
    assert result.status == "fail"
    assert {f.code for f in result.flags} == {"translate"}
    assert "the torch source gives" in result.flags[0].message
    assert result.minimal is not None and result.minimal.flag == "translate"
    # The smallest input where they differ: with one element, (1, 1) is both sides' shape.
    assert result.minimal.values["s"] == [2] and result.minimal.values["a"] == 1
