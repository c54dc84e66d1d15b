"""The shared workers' canary (tests/canary.py) can fail, and names the test that left a worker dirty."""

from __future__ import annotations

import textwrap

import pytest

from quiz.runner.backends import backend_info
from tests.canary import TRUTHS, canaries, dirty_workers

pytest_plugins = ["pytester"]

# An inner test session: a session-wide runner shared by three tests, the middle one leaving its
# torch worker dirty. The dirt is made where no check inside the runner can see it (the runner now
# finds and replaces a worker whose state a card changed): while the worker process that was
# dirtied lives, the runner's client hands back a wrong sum for every card it runs there. A
# replaced worker is clean. So the canary is tested on its own, whatever the runner does about
# dirty workers.
INNER_CONFTEST = """
from dataclasses import replace

import pytest

from quiz.runner.client import Runner
from tests.canary import canary  # noqa: F401  (the autouse fixture under test)


class DirtyRunner(Runner):
    dirty_pid = None

    def soil(self, backend):
        self.info(backend)
        self.dirty_pid = self.worker(backend).proc.pid

    def run(self, card, variant, *args, **kwargs):
        result = super().run(card, variant, *args, **kwargs)
        proc = self.worker(card.backend.value).proc
        if self.dirty_pid is not None and proc is not None and proc.pid == self.dirty_pid and result.ok:
            truth = list(result.truth)
            truth[2] = -1.0
            result = replace(result, truth=type(result.truth)(truth))
        return result


@pytest.fixture(scope="session")
def runner():
    r = DirtyRunner(device="cpu")
    yield r
    r.close()
"""

INNER_TESTS = """
from tests.canary import canaries


def zeros_sum(runner):
    c = canaries()["torch"]
    return runner.run(c.card, c.variant).truth


def test_clean(runner):
    assert zeros_sum(runner)[2] == 21.0


def test_leaves_dirt(runner):
    runner.soil("torch")
    zeros_sum(runner)  # a card ran where the dirt is


def test_after_it(runner):
    assert zeros_sum(runner)[2] == 21.0  # the dirty worker was replaced
"""


@pytest.mark.torch
def test_the_canarys_truths_are_what_clean_workers_give(runner: object) -> None:
    installed = [b for b in canaries() if backend_info(b).installed]
    assert "torch" in installed
    for backend in installed:
        runner.info(backend)  # type: ignore[attr-defined]  # started: the canary checks ready workers only
    assert dirty_workers(runner, replace=False, only_used=False) == []
    assert set(canaries()) == set(TRUTHS) == {"torch", "tensorflow", "mxnet"}


@pytest.mark.torch
def test_a_test_that_leaves_a_worker_dirty_is_named(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(textwrap.dedent(INNER_CONFTEST))
    pytester.makepyfile(test_inner=textwrap.dedent(INNER_TESTS))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:textual-snapshot")
    result.assert_outcomes(passed=3, errors=1)
    out = result.stdout.str()
    assert "ERROR at teardown of test_leaves_dirt" in out, out
    assert "canary: test_inner.py::test_leaves_dirt left a shared worker dirty" in out, out
    # What the dirty worker gave: the right tensor with a wrong sum.
    assert "torch worker gave [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], 'torch.float32', -1.0, True]" in out, out
    # Only that test's teardown fails: not the clean test, nor the one after (the short summary at
    # the end repeats the message, in full under CI=true, so count the teardown errors).
    assert out.count("ERROR at teardown of") == 1, out
    assert "teardown of test_clean" not in out and "teardown of test_after_it" not in out
