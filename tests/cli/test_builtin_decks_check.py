"""Every built-in card runs: the deck check over this checkout's decks/, on every installed backend.

Whatever decks/ holds when the suite runs is checked (cards added since are
covered without a change here), with two seeded variants and no hypothesis
search, so a change to a deck, an adapter or a framework pin that breaks a card
(it raises, its answer no longer fits its kind, it times out, its explanation
names another exception than the one raised...) fails the suite, naming file,
line, card and flags. It is `quiz deck check decks/ --variants 2 --search 0
--device cpu` (`run_check`, what the command calls), on the session's warm
workers so the suite pays no framework import for it; it prints what it cost.

Two seeds, not the check's default ten: every flag of one variant is judged,
while `constant`, `never-raises` and `inert`, which need five seeds or more and
the search to clear a card the seeds happened to agree on, are left to `quiz
deck check` at its defaults (five seeds without the search flag correct cards;
and every seed costs the suite about five seconds on two cores).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from quiz.checking.check import CardResult, CheckOptions, CheckReport, Flag, run_check
from quiz.core.cards import BACKENDS, Card
from quiz.core.decks import Library, load_library
from quiz.core.grading import RunResult
from quiz.core.variables import Variant, build_variant, draw_with_choices
from quiz.runner.backends import backend_info

DECKS = Path(__file__).resolve().parents[2] / "decks"  # the repository's, wherever pytest was started
VARIANTS = 2  # two different variants of every card; see above for why not more


class SharedWorkers:
    """The session's warm Runner as the check's pool: one worker per backend, the backends side by side.

    It notes every run after which the worker was replaced (`restarted`): the card left state the
    worker could not put back, or loaded what the warm-up had not, and the next card paid for a
    framework start (6-8 s; a learner pays it too)."""

    size = 1

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.restarted: list[str] = []
        self._locks = {b: threading.Lock() for b in BACKENDS}

    def run(
        self, card: Card, variant: Variant, given: str | None = None, device: str | None = None
    ) -> RunResult:
        backend = card.backend.value
        # One run of a backend at a time (a translate card's source runs from another backend's
        # thread): a restart is the card's that ran just before it.
        with self._locks[backend]:
            worker = self.runner.worker(backend)
            before = worker.restarts
            result: RunResult = self.runner.run(card, variant, given=given, device=device)
            if worker.restarts != before:
                self.restarted.append(f"{card.uid} seed {variant.seed} ({backend}): {result.error or 'ok'}")
        return result

    def prestart(self, backends: list[str] | tuple[str, ...]) -> None:
        self.runner.prestart(backends)


def _flag_line(flag: Flag) -> str:
    where = [f"seed {flag.seed}"] if flag.seed is not None else []
    if flag.values:
        where.append(", ".join(f"{k}={v!r}" for k, v in flag.values.items()))
    return f"    {flag.code}{' [' + '; '.join(where) + ']' if where else ''}: {flag.message}"


def describe_failures(results: list[CardResult]) -> str:
    """The flagged cards, one block each: file:line, card, backend and kind, then every flag."""
    out = []
    for r in results:
        c = r.card
        out.append(f"{c.location.path}:{c.location.line}: {c.uid} ({c.backend.value}, {c.kind.value})")
        out.extend(_flag_line(f) for f in r.flags)
    return "\n".join(out)


def check(runner: Any, decks: Path, workers: SharedWorkers | None = None) -> CheckReport:
    """`quiz deck check DECKS --variants 2 --search 0 --device cpu --no-record`, on `runner`'s workers."""
    options = CheckOptions(variants=VARIANTS, search=0, device="cpu", record=False)
    return run_check([str(decks)], options, pool=workers or SharedWorkers(runner))


def what_is_wrong(report: CheckReport, library: Library, backends: list[str]) -> str | None:
    """Why the suite fails for this report, or None: flagged cards, deck problems, cards unseen or skipped."""
    if report.failed:
        return (
            f"{len(report.failed)} card(s) flagged by `quiz deck check --variants {VARIANTS} --search 0`:\n"
            + describe_failures(report.failed)
        )
    if report.problems or not report.ok:
        return "deck problems:\n" + "\n".join(map(str, report.problems))
    # Every card of the library was seen, and every given backend's cards ran: a card is only
    # skipped for what this machine lacks (a GPU, another version, a translation's source), never silently.
    if sorted(r.card.uid for r in report.results) != sorted(c.uid for c in library.cards()):
        return "the check did not see every card of the library"
    ran = {b: sum(1 for r in report.passed if r.card.backend.value == b and r.runs) for b in backends}
    if not all(ran.values()):
        return f"cards run per installed backend: {ran}"
    odd = [
        f"{r.card.uid}: {r.reason}"
        for r in report.skipped
        if r.card.backend.value in backends
        and not (r.reason or "").startswith(("needs ", "its source"))  # a GPU, a version, a framework
    ]
    return "cards skipped on an installed backend:\n" + "\n".join(odd) if odd else None


@pytest.mark.slow
def test_every_builtin_card_passes_the_deck_check(runner: Any, capsys: pytest.CaptureFixture[str]) -> None:
    installed = [b for b in BACKENDS if backend_info(b).installed]
    if not installed:
        pytest.skip("no backend is installed")
    library = load_library([DECKS])
    assert not library.problems, "\n".join(map(str, library.problems))
    assert library.cards(), f"no cards in {DECKS}"

    started = time.perf_counter()
    for backend in installed:  # what the suite's other tests would have paid for anyway, unless none did
        runner.info(backend)
    warm_s = time.perf_counter() - started
    workers = SharedWorkers(runner)
    report = check(runner, DECKS, workers)
    check_s = time.perf_counter() - started - warm_s
    with capsys.disabled():
        print(
            f"\nbuilt-in cards: {len(report.passed)} passed, {len(report.failed)} failed, "
            f"{len(report.skipped)} skipped, {sum(r.runs for r in report.results)} runs in {check_s:.1f} s "
            f"(+{warm_s:.1f} s starting workers, {len(workers.restarted)} restarts) {report.backend_timings()}"
        )
    problem = what_is_wrong(report, library, installed)
    assert problem is None, problem
    # No built-in card costs a worker restart: what a framework does on first use (a module it
    # imports, a registry it fills) belongs in the adapter's warm-up (quiz/runner/adapters).
    assert not workers.restarted, "built-in cards after which the worker was replaced:\n" + "\n".join(
        workers.restarted
    )


# Built-in cards whose first run loaded or touched something the warm-up had not (torch.export
# swapping builtins.max for a moment; tf.data's op modules, tensorflow.saved_model, zipfile's cp437
# codec, protobuf's nested enums), each then costing a framework start.
ONCE_RESTARTED = {
    "torch": ["save-load/export-static-batch.torch"],
    "tensorflow": [
        "data-loading/dataset-len-unknown.tensorflow",
        "data-loading/dataset-item.tensorflow",
        "save-load/export-needs-forward.tensorflow",
        "write-code/load-whole-model.tensorflow",
    ],
}


@pytest.mark.torch
@pytest.mark.tensorflow
def test_cards_that_loaded_what_the_warm_up_had_not_keep_their_worker(runner: Any) -> None:
    """The same promise as above for the cards that broke it, without the slow mark (`-m 'not slow'`):
    both seeds the check runs, on the session's workers. (That a card which does change the worker's
    state still loses it: tests/runner/test_poison*.py and test_pristine_own.py.)"""
    cards = {c.uid: c for c in load_library([DECKS]).cards()}
    workers = SharedWorkers(runner)
    for backend, uids in ONCE_RESTARTED.items():
        runner.info(backend)
        for uid in uids:
            for seed in range(VARIANTS):
                values, _ = draw_with_choices(cards[uid], seed)
                result = workers.run(cards[uid], build_variant(cards[uid], seed, values), device="cpu")
                assert result.ok, (uid, seed, result.error)
                assert not result.state_changed, (uid, seed, result.state_changed)
    assert not workers.restarted, workers.restarted


BROKEN_DECK = """\
[deck]
id = "shipped"
title = "A deck as a careless change leaves it"

[[card]]
id = "fine.torch"
section = "s"
backend = "torch"
kind = "value"
prompt = "What is the sum of ${n} ones?"
code = "x = torch.ones(${n})"
answer = "int(x.sum())"
explain = "${n} ones sum to ${n}."
vars.n = { int = [2, 9] }

[[card]]
id = "broken.torch"
section = "s"
backend = "torch"
kind = "shape"
prompt = "Shape?"
code = "x = torch.ones(${n}) + torch.ones(${n} + 1)"
answer = "x.shape"
explain = "They broadcast."
vars.n = { int = [2, 9] }

[[card]]
id = "lying.torch"
section = "s"
backend = "torch"
kind = "raises"
prompt = "What does indexing past the end raise?"
code = '''
x = torch.ones(${n})
y = x[${n}]
'''
explain = "It raises a KeyError."
vars.n = { int = [2, 9] }
"""


@pytest.mark.torch
def test_a_card_that_no_longer_runs_or_lies_is_named_with_its_file_and_line(
    runner: Any, tmp_path: Path
) -> None:
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "shipped.toml").write_text(BROKEN_DECK, encoding="utf-8")
    report = check(runner, decks)
    problem = what_is_wrong(report, load_library([decks]), ["torch"])
    assert problem is not None
    path = decks / "shipped.toml"
    assert f"{path}:16: shipped/broken.torch (torch, shape)\n    raises [seed 0;" in problem, problem
    assert "RuntimeError" in problem
    assert f"{path}:27: shipped/lying.torch (torch, raises)\n    explain-raises [seed 0;" in problem, problem
    assert "fine.torch" not in problem  # only what is wrong is named
    assert [r.card.id for r in report.passed] == ["fine.torch"]
