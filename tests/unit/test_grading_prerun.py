"""The truth run before the answer (pre_run) on a real worker: used only for its own card and variant,
never reachable by the answer, and the streamed verdicts end in exactly `grade`'s."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from quiz.core.cards import Card
from quiz.core.decks import load_deck
from quiz.core.variables import Variant, draw_variant
from quiz.runner.client import Runner
from quiz.session.grading import Truth, grade, grade_stream, pre_run, read_answer

pytestmark = pytest.mark.torch

DECK = """
[deck]
id = "pre"
title = "pre-run"

[[card]]
id = "sum"
section = "s"
backend = "torch"
kind = "value"
prompt = "?"
code = "x = torch.arange(${n})"
answer = "int(x.sum())"
explain = "."
vars.n = { int = [2, 40] }

[[card]]
id = "swap"
section = "s"
backend = "torch"
kind = "code"
prompt = "?"
code = "x = torch.arange(${prod(s)}).reshape(${s})"
answer = "x.transpose(-1, -2)"
explain = "."
vars.s = { shape = { rank = [2, 3], side = [2, 4] } }

[[card]]
id = "fixed"
section = "s"
backend = "torch"
kind = "code"
prompt = "?"
code = "x = torch.arange(6).reshape(2, 3)"
answer = "x.transpose(-1, -2)"
explain = "."
"""


@pytest.fixture
def cards(write_deck: Any) -> dict[str, Card]:
    deck, problems = load_deck(write_deck(DECK, "pre.toml"))
    assert deck is not None and not problems, problems
    return {c.id: c for c in deck.cards}


def two_variants(card: Card) -> tuple[Variant, Variant]:
    first = draw_variant(card, 1)
    other = next(v for v in (draw_variant(card, s) for s in range(2, 50)) if v.values != first.values)
    return first, other


def verdict_of(runner: Runner, card: Card, variant: Variant, text: str, truth: Truth | None = None) -> Any:
    return grade(runner, card, variant, read_answer(card, variant, text), device="cpu", truth=truth)


def test_a_truth_is_used_only_for_its_own_card_and_variant(runner: Runner, cards: dict[str, Card]) -> None:
    card = cards["sum"]
    mine, other = two_variants(card)
    truth = pre_run(runner, card, mine, device="cpu")
    assert truth is not None and truth.result is not None and truth.result.ok
    right = str(truth.result.truth)
    # Used for its own variant: the very run (its worker time) is in the verdict.
    v = verdict_of(runner, card, mine, right, truth)
    assert v.correct is True and v.elapsed_ms == truth.result.elapsed_ms
    # Another variant of the card, the card edited under the same uid, another device: run afresh.
    assert verdict_of(runner, card, other, right, truth).correct is False
    assert verdict_of(
        runner, card, other, str(other.values["n"] * (other.values["n"] - 1) // 2), truth
    ).correct
    edited = replace(card, explain="edited")  # the deck reloaded: not the card the truth ran for
    assert verdict_of(runner, edited, mine, right, truth).elapsed_ms != truth.result.elapsed_ms
    assert not truth.fits(card, mine, "gpu")
    # A truth planted for another card is never taken for this one.
    wrong = replace(truth, result=replace(truth.result, truth=-1))
    assert verdict_of(runner, card, other, "-1", replace(wrong, variant=other, card=edited)).correct is False


def test_a_failed_pre_run_is_not_kept(runner: Runner, tmp_path: Path) -> None:
    path = tmp_path / "slow.toml"
    path.write_text(
        DECK.replace('code = "x = torch.arange(${n})"', 'code = "x = torch.arange(${n}); assert False"'),
        encoding="utf-8",
    )
    deck, _ = load_deck(path)
    assert deck is not None
    card = deck.cards[0]
    assert pre_run(runner, card, draw_variant(card, 1), device="cpu") is None  # graded as without one


def test_code_verdicts_stream_and_end_in_grades(runner: Runner, cards: dict[str, Card]) -> None:
    card = cards["swap"]
    variant = draw_variant(card, 1)
    truth = pre_run(runner, card, variant, device="cpu")
    assert truth is not None and len(truth.references) == len(truth.variants) > 1
    honest = verdict_of(runner, card, variant, "x.transpose(-1, -2)")
    hard_coded = honest.expected  # right for the values shown only: fails on another variant
    for text in (hard_coded, "x.T", "x.flip(0)", "x.mT"):
        reading = read_answer(card, variant, text)
        streamed = list(grade_stream(runner, card, variant, reading, device="cpu", truth=truth))
        alone = grade(runner, card, variant, reading, device="cpu")  # no pre-run: the exam, `quiz grade`
        final = streamed[-1]
        assert "shrinking" not in final.extra
        assert _same(final, alone), (text, final, alone)
        for early in streamed[:-1]:  # marked, and never a different answer than the final one
            assert early.extra.get("shrinking") is True and early.correct is False is final.correct
            failing = early.extra["failing_variant"]
            assert failing["got"] != failing["expected"]
        if final.correct is False and "failing_variant" in final.extra:
            assert len(streamed) >= 2  # the failure was shown before its shrink


def _same(a: Any, b: Any) -> bool:
    da, db = a.to_dict(), b.to_dict()
    for d in (da, db):
        d.pop("elapsed_ms", None)
    return bool(da == db)


HOSTILE = (
    # Change a framework default the reference would read, hoping a later reference run sees it (the
    # worker puts it back, no restart needed; with the truth run before, there is no later run).
    "(torch.set_default_dtype(torch.float64), torch.zeros(1))[1]",
    # Find what the pre-run left in the worker (its answer's source lines, its request), and run it.
    "eval(next(iter([''.join(v[2]) for k, v in __import__('linecache').cache.items() if 'answer' in k]"
    " + [o['answer'] for o in __import__('gc').get_objects() if type(o) is dict and o.get('op') == 'run'"
    " and 'transpose' in str(o.get('answer'))])))",
)


@pytest.mark.parametrize("attack", HOSTILE, ids=["change-defaults", "read-leftovers"])
def test_a_hostile_answer_cannot_reach_the_pre_run_truth(
    runner: Runner, cards: dict[str, Card], attack: str
) -> None:
    card = cards["swap"]
    variant = draw_variant(card, 1)
    truth = pre_run(runner, card, variant, device="cpu")
    assert truth is not None
    before = [r.truth for r in truth.references]
    v = verdict_of(runner, card, variant, attack, truth)
    assert v.correct is False, v.to_dict()
    assert [r.truth for r in truth.references] == before  # held in the app: no run can change it
    # And the next pre-run is the real truth again.
    again = pre_run(runner, card, variant, device="cpu")
    assert again is not None and [r.truth for r in again.references] == before
    assert verdict_of(runner, card, variant, "x.transpose(-1, -2)", again).correct is True


Cancel = Callable[[], bool]


def test_a_cancelled_stream_ends_without_a_final_verdict(runner: Runner, cards: dict[str, Card]) -> None:
    card = cards["swap"]
    variant = draw_variant(card, 1)
    truth = pre_run(runner, card, variant, device="cpu")
    honest = verdict_of(runner, card, variant, "x.transpose(-1, -2)")
    reading = read_answer(card, variant, honest.expected)
    seen: list[Any] = []
    stop: Cancel = lambda: bool(seen)  # noqa: E731 - cancelled once the first verdict is out
    for verdict in grade_stream(runner, card, variant, reading, device="cpu", truth=truth, cancelled=stop):
        seen.append(verdict)
    assert len(seen) == 1 and seen[0].extra.get("shrinking") is True and seen[0].correct is False
    # The worker is left clean for the next card: its truth is still right.
    assert verdict_of(runner, card, variant, "x.transpose(-1, -2)").correct is True


def test_the_answers_first_probe_is_the_pre_runs_own_unless_anything_ran_since(
    runner: Runner, cards: dict[str, Card]
) -> None:
    """The pre-run ends with the probe that makes the worker's last reply a random number; the answer
    skips its own only while the worker's mark proves nothing was asked of that process since."""
    card = cards["fixed"]  # one grading variant: one learner run
    variant = draw_variant(card, 1)
    worker = runner.worker("torch")

    def requests_for(truth: Truth) -> int:
        before = worker.turn()[2]
        assert verdict_of(runner, card, variant, "x.transpose(-1, -2)", truth).correct is True
        return int(worker.turn()[2]) - int(before)  # two per turn: the request and its end

    truth = pre_run(runner, card, variant, device="cpu")
    assert truth is not None and truth.clean_turn == worker.turn()
    assert requests_for(truth) == 2 * 2  # the learner's run, the probe after it
    # Anything at all ran on the worker in between (here the card's reference): the probe comes back.
    truth = pre_run(runner, card, variant, device="cpu")
    assert truth is not None
    runner.run(card, variant, device="cpu")
    assert requests_for(truth) == 3 * 2
    # (Another worker process, restarted or started again after an idle exit, has another mark:
    # tests/runner/test_runner.py.)


def spy_runs(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The code of every run asked of the runner, in order (the runs themselves are real)."""
    asked: list[str] = []
    real = runner.run

    def run(card: Card, variant: Variant, **kw: Any) -> Any:
        asked.append(card.code)
        return real(card, variant, **kw)

    monkeypatch.setattr(runner, "run", run)
    return asked


def test_a_wrong_code_answer_is_said_before_the_probe_that_ends_its_run(
    runner: Runner, cards: dict[str, Card], monkeypatch: pytest.MonkeyPatch
) -> None:
    card = cards["swap"]
    variant = draw_variant(card, 1)
    truth = pre_run(runner, card, variant, device="cpu")
    assert truth is not None
    asked = spy_runs(runner, monkeypatch)
    reading = read_answer(card, variant, "x.flip(0)")  # wrong on the variant shown already
    stream = grade_stream(runner, card, variant, reading, device="cpu", truth=truth)
    first = next(stream)
    assert first.correct is False and first.extra.get("shrinking") is True
    assert len(asked) == 1 and asked[0] != "pass"  # the learner's run only: its probe is not sent yet
    final = list(stream)[-1]
    # Resumed, the turn's probe comes first, before any other run of the learner's code.
    assert asked[1] == "pass" and final.correct is False and not final.extra.get("misbehaved")


def test_a_failed_probe_after_an_early_incorrect_is_a_forgery_not_a_second_try(
    runner: Runner, cards: dict[str, Card], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The incorrect already on screen stands: the probe failing after it (the learner's code wrote
    into the pipe) makes it a forgery, never a second try whose verdict could differ from the line."""
    import quiz.session.grading as grading

    card = cards["swap"]
    variant = draw_variant(card, 1)
    truth = pre_run(runner, card, variant, device="cpu")
    assert truth is not None
    worker = runner.worker("torch")
    restarts = worker.restarts
    real = grading.pipe_clean
    probes: list[object] = []

    def probe_fails_once(*args: Any) -> Any:
        probes.append(args)
        return None if len(probes) == 1 else real(*args)  # what a forged line in the pipe gives

    monkeypatch.setattr(grading, "pipe_clean", probe_fails_once)
    asked = spy_runs(runner, monkeypatch)
    reading = read_answer(card, variant, "x.flip(0)")
    verdicts = list(grade_stream(runner, card, variant, reading, device="cpu", truth=truth))
    assert [v.correct for v in verdicts] == [False, False]
    assert verdicts[-1].extra.get("misbehaved") == grading.FORGED
    # The learner's code ran once: no second try, no other variant (the probe failed here sent nothing).
    assert len(asked) == 1 and asked[0] != "pass"
    assert worker.restarts == restarts + 1  # the worker it wrote into was replaced
    # And the next answer is graded on a clean worker, with the truth.
    assert verdict_of(runner, card, variant, "x.transpose(-1, -2)").correct is True
