"""RunnerPool starts a backend's workers as runs need them, not one per core up front.

One torch worker for the module (a pool of two that never needs its second): the check of a deck
with one card and two variants used to prestart two workers and rotate its runs over both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from quiz.checking.check import CheckOptions, run_check
from quiz.runner.pool import RunnerPool

DECK = """\
[deck]
id = "small"
title = "One card"

[[card]]
id = "sum.torch"
section = "s"
backend = "torch"
kind = "value"
prompt = "What is the sum of ${n} ones?"
code = "x = torch.ones(${n})"
answer = "int(x.sum())"
explain = "${n} ones sum to ${n}."
vars.n = { int = [2, 9] }
"""


@pytest.mark.torch
def test_a_check_with_a_few_runs_starts_one_worker_and_reuses_it(tmp_path: Path) -> None:
    (tmp_path / "small.toml").write_text(DECK, encoding="utf-8")
    with RunnerPool(2, device="cpu") as pool:
        options = CheckOptions(variants=2, search=0, backends=("torch",), device="cpu", record=False)
        # Two runs on two threads: the second waits for the first worker (still starting when it
        # asked), rather than starting a second framework for one card.
        report = run_check([str(tmp_path)], options, pool=pool)
        assert [r.card.id for r in report.passed] == ["sum.torch"], report.failed
        assert pool.started("torch") == 1
        # Two quick runs on a warm worker: the second waits a millisecond, far less than a start.
        report = run_check([str(tmp_path)], options, pool=pool)
        assert report.passed and pool.started("torch") == 1
        assert pool.started("tensorflow") == 0  # a backend with no runs starts nothing
