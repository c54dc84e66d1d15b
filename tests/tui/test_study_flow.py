"""Pilot tests: one whole review in the real app (answer → verdict → rating → next card) and the row it leaves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from quiz.config import load_settings
from quiz.store.db import open_store
from quiz.store.models import CardState, Review
from quiz.tui.app import QuizApp
from quiz.tui.screens.study import StudyScreen
from tests.tui.conftest import gone_database, wait_for

# The apps run on the session's warm runner (`runner=`); tests/tui/test_kill_after_rating.py's
# app makes its own, as `quiz` does.
pytestmark = pytest.mark.torch


async def test_one_whole_review(small_library: Path, tmp_path: Path, runner: Any) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    app = QuizApp(load_settings(db_url=url, device="cpu"), runner=runner)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = app.study_screen
        assert isinstance(screen, StudyScreen)
        await wait_for(pilot, lambda s=screen: s.phase == "question")
        assert screen.card is not None and screen.variant is not None
        assert screen.card.id == "expand-shape.torch"  # new cards in library order
        a, b = screen.variant.values["a"], screen.variant.values["b"]
        assert f"torch.zeros({a}, 1)" in screen.variant.code

        # A malformed answer is asked again, not graded.
        await pilot.press(*"(2, 3")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "unbalanced" in str(screen.query_one("#status").render()))
        assert screen.phase == "question"  # asked again, not graded

        screen.query_one("#answer").value = ""  # type: ignore[attr-defined]
        await pilot.press(*f"{a}x{b}")
        await pilot.press("enter")
        await wait_for(pilot, lambda s=screen: s.phase == "verdict")
        assert screen.answered is not None
        assert screen.answered.verdict.correct is True
        assert screen.answered.verdict.expected == f"({a}, {b})"
        assert screen.suggested == 3

        await pilot.press("enter")  # accept the suggested rating (Good)
        await wait_for(
            pilot,
            lambda: (
                screen.phase == "question"
                and screen.card is not None
                and screen.card.id != "expand-shape.torch"
            ),
        )
        assert screen.card.id == "view-after-permute.torch"

        # A wrong answer shows the real truth and suggests Again.
        await pilot.press(*"no error")
        await pilot.press("enter")
        await wait_for(pilot, lambda s=screen: s.phase == "verdict")
        assert screen.answered.verdict.correct is False
        assert screen.answered.verdict.expected == "RuntimeError"
        await pilot.press("1")
        await wait_for(pilot, lambda: screen.phase in ("question", "done") and screen.reviewed == 2)

    store = open_store(url)
    with store.session() as s:
        rows = s.scalars(select(Review).order_by(Review.id)).all()
        states = {c.card_uid: c for c in s.scalars(select(CardState))}
    store.dispose()
    assert [(r.card_uid, r.rating, r.correct) for r in rows] == [
        ("tiny/expand-shape.torch", 3, True),
        ("tiny/view-after-permute.torch", 1, False),
    ]
    first = rows[0]
    assert first.variables == {"a": a, "b": b}
    assert first.answer_given == f"{a}x{b}" and first.expected == f"({a}, {b})"
    assert (first.backend, first.device, first.framework_version) == ("torch", "cpu", "2.13.0")
    assert states["tiny/expand-shape.torch"].reps == 1 and states["tiny/expand-shape.torch"].due is not None


@pytest.mark.slow
async def test_schedule_moves_on_after_a_restart(small_library: Path, tmp_path: Path, runner: Any) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    settings = load_settings(db_url=url, device="cpu")
    seen = []
    for _ in range(2):
        app = QuizApp(settings, runner=runner)
        async with app.run_test(size=(100, 32)) as pilot:
            screen = app.study_screen
            await wait_for(pilot, lambda s=screen: s.phase == "question")
            seen.append(screen.card.uid)  # type: ignore[union-attr]
            await pilot.press(*("1x1" if screen.card.kind.value == "shape" else "no error"))  # type: ignore[union-attr]
            await pilot.press("enter")
            await wait_for(pilot, lambda s=screen: s.phase == "verdict")
            await pilot.press("4")  # Easy: this card leaves today's queue
            await wait_for(pilot, lambda s=screen: s.reviewed == 1)
    assert seen == ["tiny/expand-shape.torch", "tiny/view-after-permute.torch"]


async def test_a_failure_while_loading_is_shown_not_hung(
    small_library: Path, tmp_path: Path, runner: Any
) -> None:
    app = QuizApp(
        load_settings(db_url=f"sqlite:///{tmp_path / 'q.db'}", device="cpu"),
        study_factory=gone_database,
        runner=runner,
    )
    async with app.run_test(size=(100, 32)) as pilot:
        screen = app.study_screen
        await wait_for(
            pilot, lambda: "the database server is gone" in str(screen.query_one("#status").render())
        )
        assert "Problem while loading" in str(screen.query_one("#status").render())


async def test_a_broken_deck_file_leaves_the_others_studyable(
    small_library: Path, tmp_path: Path, runner: Any
) -> None:
    (small_library / "broken.toml").write_text('[deck]\nid = "broken"\ntitle = "Broken"\n[[card]\nid = "x"\n')
    app = QuizApp(load_settings(db_url=f"sqlite:///{tmp_path / 'q.db'}", device="cpu"), runner=runner)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question" and app.study is not None)
        assert screen.card is not None and screen.card.deck_id == "tiny"
        (problem,) = app.study.library.problems  # type: ignore[union-attr]
        assert problem.path.endswith("broken.toml") and problem.line == 4
        assert any("problem(s) in deck files" in str(n.message) for n in app._notifications)
