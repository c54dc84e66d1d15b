"""A runner lent to the commands of this process is taken only where it is the one they would start.

The tests run the CLI in-process on the session's warm workers (`lend_runner`, tests/cli/conftest.py).
A lent runner built differently (another device, no opt-in for added decks, other threads or another
sandbox) would change what a command's verdict is tested against: `lent_or_own` must pass it over.
Nothing here starts a worker.
"""

from __future__ import annotations

import pytest

from quiz.commands.common import PoolOfOne, lend_runner, lent, lent_or_own
from quiz.runner.client import Runner
from quiz.runner.isolation import Sandbox
from quiz.runner.pool import RunnerPool


def test_a_matching_runner_is_taken_and_left_open() -> None:
    shared = Runner(device="cpu", allow_unisolated=True)
    own = Runner(device="cpu", allow_unisolated=True, log_dir=None, idle_s=5.0)  # where it logs, when it idles
    with lend_runner(shared), lent_or_own(own) as used:
        assert used is shared
    assert lent(own) is None  # no longer lent


def test_a_runner_built_otherwise_is_passed_over() -> None:
    shared = Runner(device="cpu", allow_unisolated=True)
    with lend_runner(shared):
        assert lent(Runner(device="auto", allow_unisolated=True)) is None  # the device
        assert lent(Runner(device="cpu", allow_unisolated=False)) is None  # the opt-in for added decks
        assert lent(Runner(device="cpu", allow_unisolated=True, threads=1)) is None
        assert lent(Runner(device="cpu", allow_unisolated=True, isolation="rlimits")) is None


def test_the_opt_in_is_read_from_the_environment_as_a_runner_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUIZ_ALLOW_UNISOLATED", "1")
    shared = Runner(device="cpu")
    monkeypatch.delenv("QUIZ_ALLOW_UNISOLATED")
    with lend_runner(shared):
        assert lent(Runner(device="cpu")) is None  # this command's runner would refuse added decks


def test_workers_started_in_another_sandbox_are_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = Runner(device="cpu", allow_unisolated=True)
    own = Runner(device="cpu", allow_unisolated=True)
    started = shared.worker("torch")  # the object only: no process
    started.sandbox = Sandbox("not-this-one")  # as if started before QUIZ_ISOLATION changed
    with lend_runner(shared):
        assert lent(own) is None
        started.sandbox = shared.sandbox()
        assert lent(own) is shared


def test_a_runner_stands_in_for_a_pool_of_one_only() -> None:
    shared = Runner(device="cpu", allow_unisolated=True)
    with lend_runner(shared):
        one = lent(RunnerPool(1, device="cpu", allow_unisolated=True))
        assert isinstance(one, PoolOfOne) and one.runner is shared and one.size == 1
        assert lent(RunnerPool(2, device="cpu", allow_unisolated=True)) is None


def test_a_lent_pool_stands_in_for_a_pool_of_its_size() -> None:
    pool = RunnerPool(2, device="cpu", allow_unisolated=True)
    with lend_runner(pool):
        assert lent(RunnerPool(2, device="cpu", allow_unisolated=True)) is pool
        assert lent(RunnerPool(1, device="cpu", allow_unisolated=True)) is None
        assert lent(Runner(device="cpu", allow_unisolated=True)) is None


def test_an_own_runner_is_closed_after_use() -> None:
    own = Runner(device="cpu")
    closed = []
    own.close = lambda: closed.append(True)  # type: ignore[method-assign]
    with lent_or_own(own) as used:
        assert used is own and not closed
    assert closed == [True]
