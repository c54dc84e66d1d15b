"""The poison → honest pairs of `test_poison.py` through every way a card is graded: the study
session, the app itself (Pilot), the exam and `quiz deck check`.

Each path grades a poison card and then, on the same runner, the honest card it would fool; the
honest verdict must be the one a fresh worker gives. `test_poison.py` shows each poison would
change that verdict if it survived.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from quiz.checking.check import CheckOptions, run_check
from quiz.checking.records import Records
from quiz.core.cards import Card
from quiz.core.decks import parse_deck
from quiz.core.exam import ExamConfig, Question
from quiz.core.grading import format_truth
from quiz.core.variables import concrete, draw_variant
from quiz.runner.client import Runner
from quiz.runner.config import WorkerConfig
from quiz.runner.pool import RunnerPool
from quiz.session.compose import build_study
from quiz.session.exam import ExamRun
from quiz.tui.app import QuizApp
from tests.runner.test_poison import HONEST, POISONS
from tests.tui.conftest import answer, settings_for, wait_for

pytestmark = [pytest.mark.torch, pytest.mark.slow]  # every test here poisons a worker and waits for a fresh one

# (poison, the honest card it would fool): one of each way a card can change its worker.
PAIRS = [
    ("builtins", "sum"),  # a namespace: the worker is replaced
    ("printoptions", "print-len"),  # a known setting: put back in place
    ("thread", "zeros"),  # a thread that keeps patching after the card
    ("quiz-runner", "sum"),  # the runner's own code patched
    ("np-seterr", "nperr-bool"),  # state kept in C
    ("cwd", "cwd-count"),  # the process's working directory
]
# The study session, the exam and the app reach a worker only through `Runner.run`, which replaces a
# worker that asked for it before it returns, whatever the card did there: for them the three poisons
# that get the worker replaced (builtins, thread, quiz-runner) take the very same path, at a worker
# start each. They grade one of those and each poison put back in place; the deck check grades them
# all, and `test_poison.py` shows each one caught and its honest card graded afresh.
PATH_PAIRS = [pair for pair in PAIRS if pair[0] not in ("thread", "quiz-runner")]


def toml_card(card_id: str, code: str, answer: str, kind: str) -> str:
    return (
        f'[[card]]\nid = "{card_id}"\nsection = "s"\nbackend = "torch"\nkind = "{kind}"\nprompt = "?"\n'
        f"code = '''\n{code}\n'''\nanswer = '''{answer}'''\nexplain = \".\"\n\n"
    )


def poison_deck(deck_id: str = "poison") -> str:
    cards = [f'[deck]\nid = "{deck_id}"\ntitle = "Poison"\n\n']
    for poison, _ in PAIRS:
        p = POISONS["torch"][poison]
        cards.append(toml_card(f"{poison}.torch", p.code, p.answer, "value"))
    return "".join(cards)


def honest_deck(deck_id: str = "honest") -> str:
    cards = [f'[deck]\nid = "{deck_id}"\ntitle = "Honest"\n\n']
    for _, honest in dict.fromkeys(PAIRS):
        h = HONEST["torch"][honest]
        cards.append(toml_card(f"{honest}.torch", h.code, h.answer, h.kind))
    return "".join(dict.fromkeys(cards))


def mixed_deck() -> str:
    """Poison, then the honest card it would fool, and so on: the order the study session takes."""
    cards = ['[deck]\nid = "mixed"\ntitle = "Mixed"\n\n']
    for n, (poison, honest) in enumerate(PATH_PAIRS):
        p, h = POISONS["torch"][poison], HONEST["torch"][honest]
        cards.append(toml_card(f"p{n}-{poison}.torch", p.code, p.answer, "value"))
        cards.append(toml_card(f"h{n}-{honest}.torch", h.code, h.answer, h.kind))
    return "".join(cards)


@pytest.fixture(scope="module")
def torch_runner() -> Iterator[Runner]:
    """The runner the study session, the exam and the app grade on, one after the other: each poison
    there gets its worker replaced or put back, so the next test starts on a clean worker (which the
    canary checks after each test) without a runner of its own."""
    with Runner(WorkerConfig(), device="cpu") as runner:
        yield runner


@pytest.fixture(scope="module")
def fresh_truths(torch_runner: Runner) -> dict[str, Any]:
    """Each honest card's truth on the module runner's first worker, before anything else ran there."""
    deck, problems = parse_deck(honest_deck(), "honest.toml")
    assert deck is not None and not problems, problems
    assert torch_runner.state("torch") == "stopped"  # no card has run on it yet
    found: dict[str, Any] = {}
    for card in deck.cards:
        result = torch_runner.run(card, draw_variant(card, 1))
        assert result.ok and not result.state_changed, (card.id, result)
        found[card.id.removesuffix(".torch")] = result.truth
    assert torch_runner.worker("torch").restarts == 0  # all on that first worker
    return found


def right_answer(card: Card, truth: Any) -> str:
    return "yes" if truth is True else "no" if truth is False else format_truth(card, truth)


@pytest.fixture
def mixed_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "mixed.toml").write_text(mixed_deck())
    monkeypatch.setenv("QUIZ_BUILTIN_DECKS", str(decks))
    return decks


def test_the_study_session_grades_honest_cards_as_a_fresh_worker_would(
    mixed_library: Path, tmp_path: Path, fresh_truths: dict[str, Any], torch_runner: Runner
) -> None:
    study = build_study(settings_for(tmp_path), None, runner=torch_runner)
    try:
        cards = [c for c in study.library.cards() if c.deck_id == "mixed"]
        for card in cards:
            variant = study.prepare(card, seed=1)
            poison = card.id.startswith("p")
            honest = card.id.split("-", 1)[1].removesuffix(".torch")
            given = "1" if poison else right_answer(concrete(card, variant), fresh_truths[honest])
            answered = study.grade(card, variant, given, datetime.now(UTC))
            if not poison:
                assert answered.verdict.correct is True, (card.id, answered.verdict)
    finally:
        study.store.dispose()


def test_the_exam_grades_honest_cards_as_a_fresh_worker_would(
    mixed_library: Path, tmp_path: Path, fresh_truths: dict[str, Any], torch_runner: Runner
) -> None:
    study = build_study(settings_for(tmp_path), None, runner=torch_runner)
    try:
        cards = [c for c in study.library.cards() if c.deck_id == "mixed"]
        questions = [Question(i, c.uid, 1) for i, c in enumerate(cards)]
        exam = ExamRun(study, ExamConfig(questions=len(cards)), questions, study.clock())
        for i, card in enumerate(cards):
            poison = card.id.startswith("p")
            honest = card.id.split("-", 1)[1].removesuffix(".torch")
            shown = concrete(card, draw_variant(card, 1))
            given = "1" if poison else right_answer(shown, fresh_truths[honest])
            result = exam.answer(i, given, 1000)
            if not poison:
                assert result.correct is True, (card.id, result)
    finally:
        study.store.dispose()


async def test_the_app_grades_honest_cards_as_a_fresh_worker_would(
    mixed_library: Path, tmp_path: Path, fresh_truths: dict[str, Any], torch_runner: Runner
) -> None:
    app = QuizApp(settings_for(tmp_path, new_per_day=100), runner=torch_runner)  # not closed by the app
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.study_screen
        for _ in range(2 * len(PATH_PAIRS)):
            await wait_for(pilot, lambda: screen.phase == "question", timeout=300)
            card, variant = screen.card, screen.variant
            assert card is not None and variant is not None
            poison = card.id.startswith("p")
            honest = card.id.split("-", 1)[1].removesuffix(".torch")
            given = "1" if poison else right_answer(concrete(card, variant), fresh_truths[honest])
            await answer(pilot, screen, given)
            await wait_for(pilot, lambda: screen.phase == "verdict", timeout=300)
            assert screen.answered is not None
            if not poison:
                assert screen.answered.verdict.correct is True, (card.id, screen.answered.verdict)
            await pilot.press("3")


def test_deck_check_flags_the_poison_and_records_only_clean_truths(
    tmp_path: Path, fresh_truths: dict[str, Any]
) -> None:
    """The scenario that once failed: a check of a poison deck next to an honest one saved truths
    the poison had changed, so a later check of the untouched honest deck alone failed."""
    poison_path, honest_path = tmp_path / "poison.toml", tmp_path / "honest.toml"
    poison_path.write_text(poison_deck())
    honest_path.write_text(honest_deck())
    options = CheckOptions(variants=1, search=0, backends=("torch",), device="cpu")
    with RunnerPool(1, device="cpu") as pool:  # one worker: every honest card runs after a poison
        report = run_check([str(poison_path), str(honest_path)], options, pool=pool)
        by_id = {r.card.id: r for r in report.results}
        for poison, _ in PAIRS:
            flags = [f for f in by_id[f"{poison}.torch"].flags if f.code == "state"]
            assert flags and POISONS["torch"][poison].says in flags[0].message, (
                poison,
                by_id[f"{poison}.torch"].flags,
            )
        for _, honest in PAIRS:
            result = by_id[f"{honest}.torch"]
            assert result.status == "pass", (honest, result.flags)
            assert result.truths[0] == fresh_truths[honest], honest
        records = Records.load()
        assert not any(uid.startswith("poison/") for uid in records.data["cards"])
        for _, honest in PAIRS:
            assert records.data["cards"][f"honest/{honest}.torch"]["truths"]["0"] == fresh_truths[honest]

        again = run_check([str(honest_path)], options, pool=pool)
        assert again.ok, [(r.card.id, r.flags) for r in again.failed]
        assert not any(f.code == "unstable" for r in again.results for f in r.flags)
