"""A canary on shared warm workers: after each test that used one, a known card still gives its known truth.

Runners and pools shared between tests (the session's `runner`, module-scoped
ones) carry whatever one test's card code left in a worker into every later
test's truths. The `canary` fixture (autouse, tests/conftest.py) runs one known
card per started backend on every Runner or RunnerPool the test had among its
fixtures, after the test; a wrong truth fails that test's teardown with its
node id, so the report names the test that left the worker dirty, and the dirty
worker is replaced so later tests start clean.

Only workers that are ready, and were asked something since the canary last
found them clean, are checked: one not started (or stopped), or left alone,
holds nothing a test could have left.
"""

from __future__ import annotations

import contextlib
import textwrap
import time
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from quiz.core.cards import Card
from quiz.core.decks import parse_deck
from quiz.core.variables import Variant, draw_variant

# Everyday operations (zeros, ones, arange, reshape, matmul, sum) and the global switches cards
# like to flip (grad mode, eager execution, autograd recording). The truths are written out: a
# canary compared with another worker's answer would be fooled by a worker dirty in the same way.
CANARY_DECK = '''
[deck]
id = "canary"
title = "The shared workers' canary"

[[card]]
id = "canary.torch"
section = "canary"
backend = "torch"
kind = "value"
prompt = "?"
code = """
x = torch.arange(6).reshape(2, 3) + torch.zeros(2, 3) + torch.ones(2, 3)
y = (x @ torch.ones(3)).sum()
"""
answer = "[x.tolist(), str(x.dtype), y.item(), torch.is_grad_enabled()]"
explain = "."

[[card]]
id = "canary.tensorflow"
section = "canary"
backend = "tensorflow"
kind = "value"
prompt = "?"
code = """
x = tf.reshape(tf.range(6, dtype=tf.float32), (2, 3)) + tf.zeros((2, 3)) + tf.ones((2, 3))
y = tf.reduce_sum(tf.linalg.matvec(x, tf.ones(3)))
"""
answer = "[x.numpy().tolist(), x.dtype.name, float(y), tf.executing_eagerly()]"
explain = "."

[[card]]
id = "canary.mxnet"
section = "canary"
backend = "mxnet"
kind = "value"
prompt = "?"
code = """
x = nd.arange(6).reshape((2, 3)) + nd.zeros((2, 3)) + nd.ones((2, 3))
y = nd.dot(x, nd.ones(3)).sum()
"""
answer = "[x.asnumpy().tolist(), np.dtype(x.dtype).name, float(y.asscalar()), autograd.is_recording()]"
explain = "."
'''

X = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
TRUTHS: dict[str, Any] = {
    "torch": [X, "torch.float32", 21.0, True],
    "tensorflow": [X, "float32", 21.0, True],
    "mxnet": [X, "float32", 21.0, False],
}


@dataclass(frozen=True)
class Canary:
    card: Card
    variant: Variant
    truth: Any


@cache
def canaries() -> dict[str, Canary]:
    # No file path: the canary is the tests' own card, allowed to run on any runner a test built
    # (an added deck's cards may be refused where isolation is partial).
    deck, problems = parse_deck(textwrap.dedent(CANARY_DECK).lstrip(), "")
    assert deck is not None and not problems, problems
    return {c.backend.value: Canary(c, draw_variant(c, 0), TRUTHS[c.backend.value]) for c in deck.cards}


def runners_of(value: Any) -> list[Any]:
    """The Runners a fixture value holds: itself, or a pool's runners."""
    from quiz.runner.client import Runner
    from quiz.runner.pool import RunnerPool

    if isinstance(value, Runner):
        return [value]
    if isinstance(value, RunnerPool):
        return list(getattr(value, "_all", []))  # no public list of a pool's runners
    return []


# Each worker found clean, with the request it had answered last then: a worker asked nothing since
# holds nothing new, and is not checked again (most tests use one backend of three).
_CLEAN: weakref.WeakKeyDictionary[Any, tuple[int, int]] = weakref.WeakKeyDictionary()


def _mark(worker: Any) -> tuple[int, int] | None:
    """Which process, and how many requests it had been sent (None where the runner does not say)."""
    sent = getattr(worker, "_next_id", None)  # no public count of requests
    proc = getattr(worker, "proc", None)
    return (proc.pid, sent) if isinstance(sent, int) and proc is not None else None


def dirty_workers(runner: Any, *, replace: bool = True, only_used: bool = True) -> list[str]:
    """Run the canary on each ready worker of `runner`; what is wrong, one line per worker.

    With `only_used`, a worker asked nothing since the canary last found it clean is skipped.
    A worker that fails is replaced (when `replace`), so the next test gets a clean one.
    """
    problems = []
    for backend, canary in canaries().items():
        if runner.state(backend) != "ready":
            continue
        worker = runner.worker(backend)
        mark = _mark(worker)
        if only_used and mark is not None and _CLEAN.get(worker) == mark:
            continue
        result = runner.run(canary.card, canary.variant)
        if result.ok and result.truth == canary.truth:
            after = _mark(worker)
            if after is not None:
                _CLEAN[worker] = after
            continue
        got = f"gave {result.truth!r}" if result.ok else f"failed ({result.error_kind}: {result.error})"
        problems.append(f"{backend} worker {got} for the canary card, whose truth is {canary.truth!r}")
        if replace:
            with contextlib.suppress(Exception):  # replaced or not, the report stands
                runner.worker(backend).restart()
    return problems


def canary_report(test_id: str, fixtures: Iterable[tuple[str, Any]]) -> str | None:
    """The teardown failure for `test_id`, or None when every shared worker it used is still clean."""
    lines = []
    for name, value in fixtures:
        for runner in runners_of(value):
            lines += [f"  `{name}`: {problem}" for problem in dirty_workers(runner)]
    if not lines:
        return None
    return (
        f"canary: {test_id} left a shared worker dirty (a known card no longer gives its known truth; "
        "the worker was replaced):\n" + "\n".join(lines)
    )


# What the canary cost this session: it runs after most runner tests, so the suite's time should show it.
SPENT = {"seconds": 0.0, "tests": 0}


@pytest.fixture(autouse=True)
def canary(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the test (and its own fixtures' teardown), check the warm workers it shared."""
    yield
    # Function-scoped runners are closed by now (this fixture is set up first, so torn down last):
    # only the shared ones still have ready workers to check.
    item = request.node
    fixtures = [(name, value) for name, value in getattr(item, "funcargs", {}).items() if runners_of(value)]
    if not fixtures:
        return
    started = time.perf_counter()
    report = canary_report(item.nodeid, fixtures)
    SPENT["seconds"] += time.perf_counter() - started
    SPENT["tests"] += 1
    if report:
        pytest.fail(report, pytrace=False)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line at the end of the run: what the canary cost."""
    if SPENT["tests"]:
        terminalreporter.write_line(
            f"canary: shared workers checked after {SPENT['tests']} tests in {SPENT['seconds']:.1f} s"
        )
