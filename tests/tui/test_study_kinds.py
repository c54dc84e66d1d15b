"""Study, driven by keys in the real app at 80×24: every kind of card with its own answer form,
typing ahead, undo (several steps), bury, suspend, leeches, the session summary."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from quiz.store.db import open_store
from quiz.store.models import CardState, Review
from quiz.tui.app import QuizApp
from quiz.tui.widgets.answer_box import AnswerBox, YesNo
from tests.tui.conftest import RIGHT, WRONG, Clock, answer, settings_for, wait_for

pytestmark = pytest.mark.torch

TORCH_ONLY = {"backends": ("torch",)}


def status(screen: object) -> str:
    return str(screen.query_one("#status").render())  # type: ignore[attr-defined]


def rows(url: str) -> tuple[list[Review], dict[str, CardState]]:
    store = open_store(url)
    with store.session() as s:
        reviews = list(s.scalars(select(Review).order_by(Review.id)))
        states = {c.card_uid: c for c in s.scalars(select(CardState))}
    store.dispose()
    return reviews, states


async def test_every_kind_has_its_form_and_is_graded(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    settings = settings_for(tmp_path, **TORCH_ONLY)
    app = QuizApp(settings, runner=runner)  # type: ignore[arg-type]
    seen: dict[str, tuple[str, bool | None]] = {}
    async with app.run_test() as pilot:
        screen = app.study_screen
        for n in range(8):
            await wait_for(pilot, lambda n=n: screen.phase == "question" and screen.reviewed == n)
            card = screen.card
            assert card is not None
            box = screen.query_one(AnswerBox)
            form = {"bool": "yesno", "grad_is_none": "yesno", "choice": "choice", "code": "code"}.get(
                card.kind.value, "field"
            )
            assert box.form == form, card.uid
            if form == "yesno":
                labels = [str(o.render()) for o in box.query(".yesno-option")]
                assert ("None" in labels[0]) if card.kind.value == "grad_is_none" else ("yes" in labels[0])
            # Odd cards wrong, even cards right: both verdicts for every kind over the run.
            text = (RIGHT if n % 2 == 0 else WRONG)[card.uid]
            await answer(pilot, screen, text)
            await wait_for(pilot, lambda: screen.phase == "verdict")
            assert screen.answered is not None
            seen[card.uid] = (card.kind.value, screen.answered.verdict.correct)
            await pilot.press("enter")
        await wait_for(pilot, lambda: screen.reviewed == 8)
    assert app.errors == []
    assert {k for k, _ in seen.values()} == {
        "shape",
        "dtype",
        "bool",
        "grad_is_none",
        "value",
        "raises",
        "choice",
        "code",
    }
    assert [c for _, c in seen.values()] == [True, False] * 4
    reviews, _ = rows(settings.db_url)
    assert [r.card_uid for r in reviews] == list(seen)
    assert [r.rating for r in reviews] == [
        3,
        1,
    ] * 4  # Enter took the suggestion: Good when right, Again when wrong


async def test_malformed_answers_are_asked_again_and_type_ahead_reaches_the_next_card(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    settings = settings_for(tmp_path, **TORCH_ONLY)
    app = QuizApp(settings, runner=runner)  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question")
        assert screen.card.uid == "kinds/shape.torch"  # type: ignore[union-attr]
        await pilot.press(*"(2, 3", "enter")
        await wait_for(pilot, lambda: "unbalanced" in status(screen), what="the malformed answer's hint")
        assert screen.phase == "question"  # asked again, not graded
        screen.query_one("#answer").value = ""  # type: ignore[attr-defined]
        await answer(pilot, screen, RIGHT["kinds/shape.torch"])
        await wait_for(pilot, lambda: screen.phase == "verdict")
        # Rate, and type the next answer at once, before the next card is on screen.
        await pilot.press("3", *RIGHT["kinds/dtype.torch"], "enter")
        await wait_for(pilot, lambda: screen.phase == "verdict" and screen.reviewed == 1, timeout=30)
        assert screen.card.uid == "kinds/dtype.torch"  # type: ignore[union-attr]
        assert screen.answered.answer == RIGHT["kinds/dtype.torch"]  # type: ignore[union-attr]
        assert screen.answered.verdict.correct is True  # type: ignore[union-attr]
    assert app.errors == []


async def test_undo_several_steps_then_bury_and_suspend(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    settings = settings_for(tmp_path, **TORCH_ONLY)
    app = QuizApp(settings, runner=runner)  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        screen = app.study_screen
        asked = []
        for n in range(3):
            await wait_for(pilot, lambda n=n: screen.phase == "question" and screen.reviewed == n)
            asked.append((screen.card.uid, screen.variant))  # type: ignore[union-attr]
            await answer(pilot, screen, RIGHT[screen.card.uid])  # type: ignore[union-attr]
            await wait_for(pilot, lambda: screen.phase == "verdict")
            await pilot.press("4")
        await wait_for(pilot, lambda: screen.phase == "question" and screen.reviewed == 3)
        reviews, _ = rows(settings.db_url)
        assert len(reviews) == 3

        await pilot.press("ctrl+z")  # the third answer…
        await wait_for(
            pilot,
            lambda: screen.card is not None and screen.card.uid == asked[2][0] and screen.phase == "question",
        )
        assert screen.variant == asked[2][1]  # …asked again as it was, with what was typed
        box = screen.query_one(AnswerBox)
        typed = RIGHT[asked[2][0]]
        if isinstance(box.widget, YesNo):  # one key chose an option: that option is chosen again
            assert box.widget.options[box.widget.selected][0] == typed, (box.widget.selected, typed)
        else:
            assert box.value == typed
        await pilot.press("ctrl+z")  # …and the second
        await wait_for(pilot, lambda: screen.card.uid == asked[1][0] and screen.phase == "question")  # type: ignore[union-attr]
        assert screen.reviewed == 1
        reviews, states = rows(settings.db_url)
        assert [r.card_uid for r in reviews] == [asked[0][0]]
        for uid, _ in asked[1:]:
            s = states[uid]
            assert (s.state, s.reps, s.due, s.introduced_at) == (0, 0, None, None)  # as before the answer

        # Bury the card on screen: it leaves today's queue until the next study day.
        buried = screen.card.uid  # type: ignore[union-attr]
        await pilot.press("ctrl+b")
        await wait_for(
            pilot,
            lambda: screen.card is not None and screen.card.uid != buried and screen.phase == "question",
        )
        _, states = rows(settings.db_url)
        assert states[buried].buried_until is not None and states[buried].buried_until > app.clock()
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: screen.card is not None and screen.card.uid == buried)
        _, states = rows(settings.db_url)
        assert states[buried].buried_until is None

        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: screen.card is not None and screen.card.uid != buried and screen.phase == "question",
        )
        _, states = rows(settings.db_url)
        assert states[buried].suspended is True
        assert app.study.next_card().uid != buried  # type: ignore[union-attr]
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: screen.card is not None and screen.card.uid == buried)
        _, states = rows(settings.db_url)
        assert states[buried].suspended is False

        await pilot.press("ctrl+z")  # the first answer
        await wait_for(pilot, lambda: screen.reviewed == 0 and screen.card.uid == asked[0][0])  # type: ignore[union-attr]
        await pilot.press("ctrl+z")  # nothing left: said so, nothing breaks
        await wait_for(pilot, lambda: "Nothing to undo" in status(screen), what="'Nothing to undo'")
        assert screen.reviewed == 0 and screen.card.uid == asked[0][0]  # type: ignore[union-attr]
    reviews, _ = rows(settings.db_url)
    assert reviews == []
    assert app.errors == []


async def test_a_leech_is_flagged_and_the_session_ends_with_a_summary(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    clock = Clock()
    settings = settings_for(tmp_path, **TORCH_ONLY, new_per_day=0)
    url = settings.db_url
    # A learned card forgotten four times already, due now; every other card suspended.
    from quiz.session.compose import build_study

    build_study(settings, None, runner=runner).store.dispose()  # type: ignore[arg-type]
    store = open_store(url)
    with store.session() as s:
        s.execute(update(CardState).values(suspended=True))
        s.execute(
            update(CardState)
            .where(CardState.card_uid == "kinds/value.torch")
            .values(
                suspended=False,
                state=2,
                stability=3.0,
                difficulty=6.0,
                due=clock.now - timedelta(hours=1),
                last_review=clock.now - timedelta(days=3),
                reps=9,
                lapses=4,
            )
        )
        s.commit()
    store.dispose()

    app = QuizApp(settings, runner=runner, clock=clock)  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question")
        assert screen.card.uid == "kinds/value.torch" and screen.lapses == 4  # type: ignore[union-attr]
        await answer(pilot, screen, WRONG["kinds/value.torch"])
        await wait_for(pilot, lambda: screen.phase == "verdict")
        await pilot.press("1")
        # Forgotten again: it is relearned in minutes (shown ahead of time), now carrying the flag.
        await wait_for(pilot, lambda: screen.phase == "question" and screen.reviewed == 1)
        assert screen.records[-1].leech is True
        assert any("leech" in n.message for n in app._notifications)
        assert screen.card.uid == "kinds/value.torch"  # type: ignore[union-attr]
        assert "LEECH" in str(screen.query_one("#card-meta").render())
        await answer(pilot, screen, RIGHT["kinds/value.torch"])
        await wait_for(pilot, lambda: screen.phase == "verdict")
        await pilot.press("3")
        await wait_for(pilot, lambda: screen.phase == "done")
        summary = str(screen.query_one("#summary").render())
        assert "2 answered, 1 right (50%)" in summary
        assert "leeches" in summary and "kinds/value.torch" in summary
        assert "Next card due" in summary
        await pilot.press("enter")  # Home
        from quiz.tui.screens.home import HomeScreen

        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
    assert app.errors == []
