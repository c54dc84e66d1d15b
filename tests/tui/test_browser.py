"""The card browser (`b` from Home) on the real app and store: after a restart a suspended card is
counted on Home and unsuspended from the browser; search with filters; a card's history with its
variants (deck and run text shown, never obeyed); bury/unbury, reset, $EDITOR; previews on the keys."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select

from quiz.core.grading import Verdict
from quiz.session.compose import build_study
from quiz.session.grading import Answered
from quiz.store.db import open_store
from quiz.store.models import CardState, Review
from quiz.tui.app import QuizApp
from quiz.tui.screens.browser import BrowserScreen
from quiz.tui.screens.home import HomeScreen
from tests.tui.conftest import RIGHT, Clock, answer, settings_for, wait_for

pytestmark = pytest.mark.torch

HOSTILE = "\x1b]0;pwned\x07\x1b[2J"


def state_row(url: str, uid: str) -> CardState:
    store = open_store(url)
    with store.session() as s:
        row = s.scalars(select(CardState).where(CardState.card_uid == uid)).one()
        s.expunge(row)
    store.dispose()
    return row


def review_count(url: str, uid: str) -> int:
    store = open_store(url)
    with store.session() as s:
        n = s.scalar(select(func.count()).select_from(Review).where(Review.card_uid == uid)) or 0
    store.dispose()
    return n


def rows_of(screen: BrowserScreen) -> list[str]:
    return [r.card.uid for r in screen.rows]


async def test_browse_unsuspend_after_a_restart_history_bury_reset_and_edit(
    kinds_library: Path, tmp_path: Path, runner: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    settings = settings_for(tmp_path, backends=("torch",))
    url = settings.db_url
    # A first session: one card answered (with an error text a hostile card could print), one suspended.
    study = build_study(settings, None, runner=runner, clock=clock)  # type: ignore[arg-type]
    shape = study.cards["kinds/broadcast.torch"]
    variant = study.prepare(shape, seed=7)
    verdict = Verdict(False, "(3, 4)", "2x2", "torch", "cpu", "2.13.0", 1.0, error=HOSTILE)
    study.rate(Answered(shape, variant, "2x2", verdict, clock(), clock(), 4000), 1)
    study.suspend(study.cards["kinds/dtype.torch"])
    study.store.dispose()
    assert state_row(url, "kinds/dtype.torch").suspended

    # An editor that notes what it was asked to open.
    opened = tmp_path / "opened.txt"
    editor = tmp_path / "editor.sh"
    editor.write_text(f'#!/bin/sh\necho "$@" > {opened}\n')
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("VISUAL", str(editor))

    app = QuizApp(settings, runner=runner, clock=clock, use_prepared_start=False)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.study is not None and app.study_screen.phase == "question")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.data is not None)
        assert "1 suspended (b: browse)" in str(app.screen.query_one("#home-today").render())
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen) and app.screen.state is not None)
        browser = app.screen
        assert isinstance(browser, BrowserScreen)
        await wait_for(pilot, lambda: len(browser.rows) == 10)  # every card of the library

        # Search: a state filter, then words and a filter together.
        await pilot.press(*"is:suspended")
        await wait_for(pilot, lambda: rows_of(browser) == ["kinds/dtype.torch"])
        await pilot.press("enter")  # to the table; letters are operations now
        assert "1 card found" in str(browser.query_one("#browser-status").render())
        await pilot.press("s")
        await wait_for(pilot, lambda: not state_row(url, "kinds/dtype.torch").suspended)
        await wait_for(pilot, lambda: rows_of(browser) == [])  # no longer suspended
        await pilot.press("slash", *["backspace"] * len("is:suspended"), *"expand backend:torch")
        await wait_for(pilot, lambda: rows_of(browser) == ["kinds/shape.torch", "kinds/broadcast.torch"])

        # The history of the highlighted card: the variant's values, the answer, the truth, the error
        # text made visible.
        await pilot.press("enter", "down")
        detail = browser.query_one("#browser-detail")
        await wait_for(pilot, lambda: "review(s), newest first" in str(detail.render()))
        text = str(detail.render())
        assert "seed 7" in text and '"a": ' in text and "answered 2x2" in text and "truth (3, 4)" in text
        assert "\x1b" not in text and "\\x1b]0;pwned" in text

        # Bury and unbury, reset (twice r: it asks first), the editor at the card's line.
        await pilot.press("u")
        await wait_for(pilot, lambda: state_row(url, "kinds/broadcast.torch").buried_until is not None)
        await wait_for(pilot, lambda: browser.rows and browser.rows[1].status.buried_until is not None)
        await pilot.press("u")
        await wait_for(pilot, lambda: state_row(url, "kinds/broadcast.torch").buried_until is None)
        await pilot.press("r")
        await pilot.pause(0.2)
        assert state_row(url, "kinds/broadcast.torch").reps == 1  # asked, not done
        await pilot.press("r")
        await wait_for(pilot, lambda: state_row(url, "kinds/broadcast.torch").state == 0)
        assert review_count(url, "kinds/broadcast.torch") == 1  # the history stays
        await pilot.press("e")
        await wait_for(pilot, lambda: opened.exists())
        line = shape.location.line
        assert opened.read_text().split() == [f"+{line}", str(shape.location.path)]
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)
    assert app.errors == []


async def test_rating_keys_show_the_intervals_the_scheduler_would_give(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    settings = settings_for(tmp_path, backends=("torch",))
    app = QuizApp(settings, runner=runner, clock=Clock(), use_prepared_start=False)  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question")
        await answer(pilot, screen, RIGHT[screen.card.uid])  # type: ignore[union-attr]
        await wait_for(pilot, lambda: screen.phase == "verdict" and screen.previews is not None)
        status = str(screen.query_one("#status").render())
        previews = screen.previews
        assert previews is not None and screen.study is not None
        expected = screen.study.interval_previews(screen.card)  # type: ignore[arg-type]
        assert [p.interval for p in previews] == [p.interval for p in expected]
        # A new card: Again in a minute, Good in ten (the learning steps), as the scheduler says.
        assert "1 Again 1m" in status and "3 Good 10m" in status and "Enter: " in status
    assert app.errors == []


@pytest.mark.parametrize("size", [(80, 24), (160, 40)])
async def test_browser_fits_80x24_and_uses_160_columns(
    kinds_library: Path, tmp_path: Path, runner: object, size: tuple[int, int]
) -> None:
    settings = settings_for(tmp_path, backends=("torch",))
    app = QuizApp(settings, runner=runner, clock=Clock(), use_prepared_start=False)  # type: ignore[arg-type]
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.study is not None)
        app.open_browser("tag:none-such")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen) and app.screen.state is not None)
        browser = app.screen
        await wait_for(pilot, lambda: "0 cards found" in str(browser.query_one("#browser-status").render()))
        for wid in ("#browser-search", "#browser-table", "#browser-status", "#browser-detail-scroll"):
            region = browser.query_one(wid).region
            assert region.height > 0 and region.bottom <= size[1] - 1, (wid, region)  # above the key bar
        keys = str(browser.query_one("KeyBar").render())
        assert "Search" in keys and "Suspend" in keys
    assert app.errors == []


async def test_custom_study_optimize_refuses_politely_and_the_year_tab(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    from quiz.tui.screens.custom_study import CustomStudyScreen
    from quiz.tui.screens.optimize import OptimizeScreen
    from quiz.tui.screens.settings import SettingsScreen
    from quiz.tui.screens.stats import StatsScreen

    settings = settings_for(tmp_path, backends=("torch",))
    app = QuizApp(settings, runner=runner, clock=Clock(), use_prepared_start=False)  # type: ignore[arg-type]
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.study is not None and app.study_screen.phase == "question")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.data is not None)
        # Custom study: a slice that has no card is refused, a real one studies only it.
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomStudyScreen))
        await pilot.press(*"tag:nothing", "enter")
        assert "No card you study matches" in str(app.screen.query_one("#custom-error").render())
        await pilot.press(*["backspace"] * len("tag:nothing"), *"section:memory", "enter")
        await wait_for(pilot, lambda: app.screen is app.study_screen and app.study_screen.phase == "question")
        assert app.study_screen.card is not None and app.study_screen.card.section == "memory"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        # Optimize from Settings: too little history, said so; nothing applied.
        await pilot.press("comma")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await pilot.click("#settings-optimize")
        await wait_for(pilot, lambda: isinstance(app.screen, OptimizeScreen) and app.screen.problem is not None)
        assert "review" in app.screen.problem  # type: ignore[attr-defined]
        await pilot.press("a")  # nothing to apply
        assert isinstance(app.screen, OptimizeScreen)
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert app.settings.fsrs_parameters == ()
        # The year's heatmap in statistics.
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, StatsScreen) and app.screen.data is not None)
        await pilot.press("5")
        year = str(app.screen.query_one("#year-heatmap").render())
        assert "Mon" in year and "today" in year and "0 days studied" in year
    assert app.errors == []
