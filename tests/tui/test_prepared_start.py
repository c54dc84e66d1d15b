"""The prepared start: the next session paints its first card at once, and only when it is still true."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quiz import paths
from quiz.config import load_settings
from quiz.session.prepared import prepared_path, read_prepared
from quiz.tui.app import QuizApp
from tests.tui.conftest import settled, wait_for

# The apps run on the session's warm runner (`runner=`); the prepared card still has its backend
# started first (`prestart`, a no-op on a warm worker).
pytestmark = pytest.mark.torch


async def _study_one_and_quit(settings, runner) -> str:  # type: ignore[no-untyped-def]
    app = QuizApp(settings, runner=runner)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question")
        first = screen.card.uid  # type: ignore[union-attr]
        await pilot.press(*("1x1" if screen.card.kind.value == "shape" else "no error"))  # type: ignore[union-attr]
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.phase == "verdict")
        await pilot.press("4")
        await wait_for(pilot, lambda: screen.reviewed == 1 and screen.phase == "question")
    return first


async def test_a_normal_exit_prepares_the_next_start(
    small_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: Any
) -> None:
    # Put the shape card second, so the prepared card is one whose `answer` must survive the round trip.
    deck = (small_library / "tiny.toml").read_text()
    head, first_card, second_card = deck.split("[[card]]")
    (small_library / "tiny.toml").write_text(head + "[[card]]" + second_card + "[[card]]" + first_card)
    settings = load_settings(db_url=f"sqlite:///{tmp_path / 'q.db'}", device="cpu")
    first = await _study_one_and_quit(settings, runner)
    prepared = read_prepared(prepared_path(paths.cache_dir(), "default"))
    assert prepared is not None and prepared.variants

    app = QuizApp(settings, runner=runner)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = app.study_screen
        # The prepared card is on screen before the study session has loaded.
        assert screen.prepared is not None
        await wait_for(pilot, lambda: screen.card is not None)
        assert screen.prepared_uid == screen.card.uid != first  # type: ignore[union-attr]
        shown = screen.card.uid  # type: ignore[union-attr]
        await wait_for(pilot, lambda: app.study is not None)
        # The study checks the prepared card against the schedule in a thread, and would replace it
        # (dropping `prepared_uid`) before that thread ends.
        await settled(pilot, app, "next")
        assert app.study.next_card().uid == shown  # type: ignore[union-attr]
        assert screen.prepared_uid == screen.card.uid == shown  # confirmed, not replaced  # type: ignore[union-attr]
        # The prepared card grades like any other.
        a, b = screen.variant.values["a"], screen.variant.values["b"]  # type: ignore[union-attr]
        await pilot.press(*f"{a}x{b}")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.phase == "verdict")
        assert screen.answered.verdict.correct is True  # type: ignore[union-attr]


async def test_a_database_changed_elsewhere_is_not_trusted(
    small_library: Path, tmp_path: Path, runner: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    settings = load_settings(db_url=url, device="cpu")
    await _study_one_and_quit(settings, runner)
    # Another program answers the card the prepared start would show.
    from quiz.store.db import open_store

    store = open_store(url)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE card_state SET suspended = 1 WHERE card_uid = 'tiny/view-after-permute.torch'"
        )
    store.dispose()

    app = QuizApp(settings, runner=runner)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = app.study_screen
        assert screen.prepared is None  # stale: the slow path asks the database
        await wait_for(pilot, lambda: screen.phase in ("question", "done") and app.study is not None)
        assert screen.card is None or screen.card.uid != "tiny/view-after-permute.torch"
