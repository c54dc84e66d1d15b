"""Home (decks, counts, first-start greeting, picking decks), statistics from real history,
settings saved and used again, errors as messages, NO_COLOR."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from quiz.config import learner_settings_file, load_settings
from quiz.core.grading import Verdict
from quiz.session.compose import build_study
from quiz.session.grading import Answered
from quiz.store.db import open_store
from quiz.store.models import Setting
from quiz.tui.app import QuizApp
from quiz.tui.screens.home import HomeScreen
from quiz.tui.screens.settings import SettingsScreen
from quiz.tui.screens.stats import StatsScreen
from tests.tui.conftest import RIGHT, Clock, answer, settings_for, wait_for

pytestmark = pytest.mark.torch


def cell_text(table: object, row: int) -> list[str]:
    return [str(c) for c in table.get_row_at(row)]  # type: ignore[attr-defined]


async def test_first_start_greets_and_home_picks_a_deck(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    settings = settings_for(tmp_path, backends=("torch",))
    app = QuizApp(settings, runner=runner)  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question")
        await wait_for(pilot, lambda: screen.query_one("#welcome").display)
        assert "cards in 1 decks are ready" in str(screen.query_one("#welcome").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.data is not None)
        home = app.screen
        assert isinstance(home, HomeScreen)
        assert "Welcome!" in str(home.query_one("#home-greeting").render())
        # What is warming up, then ready (refreshed every second).
        await wait_for(pilot, lambda: "torch ready" in str(home.query_one("#home-backends").render()))
        assert "mxnet off" in str(home.query_one("#home-backends").render())
        table = home.query_one("#home-decks")
        all_row, kinds_row = cell_text(table, 0), cell_text(table, 1)
        # 9 torch cards usable (the mxnet one is off in these settings), all new.
        assert all_row[1:] == ["All decks", "0", "0", "9", "9"]
        assert kinds_row[1].startswith("kinds") and kinds_row[4:] == ["9", "9"]
        await pilot.press("down", "space")
        assert home.picked == {"kinds"}
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is app.study_screen and app.study_screen.phase == "question")
        study = app.study_screen
        assert study.study is not None and study.study.deck_ids == ["kinds"]
        await answer(pilot, study, RIGHT[study.card.uid])  # type: ignore[union-attr]
        await wait_for(pilot, lambda: study.phase == "verdict")
        await pilot.press("enter")
        await wait_for(pilot, lambda: study.reviewed == 1 and study.phase == "question")
        await pilot.press("escape")  # back to the same Home, refreshed
        await wait_for(
            pilot, lambda: app.screen is home and home.data is not None and home.data.reviewed_today == 1
        )
        assert "1 answered, 1 right" in str(home.query_one("#home-today").render())
        assert "streak 1 day" in str(home.query_one("#home-today").render())
        assert not home.query_one("#home-greeting").display
    assert app.errors == []


async def test_statistics_from_the_review_history(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    clock = Clock()
    settings = settings_for(tmp_path, backends=("torch",))
    study = build_study(settings, None, runner=runner, clock=clock)  # type: ignore[arg-type]
    study.rng = random.Random(3)
    # Three days of answers through the real rating path: 2 right and 1 wrong a day, one card always wrong.
    cards = [study.cards[u] for u in ("kinds/shape.torch", "kinds/dtype.torch", "kinds/value.torch")]
    for _day in range(3):
        for card, correct in zip(cards, (True, True, False), strict=True):
            variant = study.prepare(card)
            verdict = Verdict(correct, "x", "y", "torch", "cpu", "2.13.0", 1.0)
            study.rate(Answered(card, variant, "y", verdict, clock(), clock(), 3000), 3 if correct else 1)
            clock.advance(minutes=1)
        clock.advance(days=1)
    study.store.dispose()

    app = QuizApp(settings, runner=runner, clock=clock)  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.study is not None)
        app.open_stats()
        await wait_for(pilot, lambda: isinstance(app.screen, StatsScreen) and app.screen.data is not None)
        stats = app.screen
        assert isinstance(stats, StatsScreen) and stats.data is not None
        head = str(stats.query_one("#stats-head").render())
        assert "9 answers" in head and "67% right" in head and "3 cards seen" in head
        assert [d.total for d in stats.data.per_day[-4:]] == [3, 3, 3, 0]
        assert {k: (t.correct, t.total) for k, t in stats.data.by_section.items()} == {
            "dtypes": (3, 3),
            "reductions": (0, 3),
            "shapes": (3, 3),
        }
        assert sum(n for _, n in stats.data.forecast) == 3  # every answered card is scheduled
        await pilot.press("4")
        table = stats.query_one("#hardest-table")
        assert cell_text(table, 0)[0] == "kinds/value.torch" and cell_text(table, 0)[3] == "0/3"
        plot = stats.query_one("#plot-reviews")
        assert "answers per day" in plot.plt.build()  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert not isinstance(app.screen, StatsScreen)
    assert app.errors == []


async def test_settings_are_saved_and_used_at_the_next_start(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    settings = settings_for(tmp_path)  # device given on the command line: pinned
    app = QuizApp(settings, runner=runner)  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.study is not None and app.study_screen.phase == "question")
        app.open_settings()
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, SettingsScreen) and bool(app.screen.query("#set-backends")),
            what="the settings form",
        )
        form = app.screen
        assert form.query_one("#set-device").disabled  # set by --device for this run
        form.query_one("#set-new").value = "7"  # type: ignore[attr-defined]
        form.query_one("#set-retention").value = "0.85"  # type: ignore[attr-defined]
        form.query_one("#set-theme").value = "textual-light"  # type: ignore[attr-defined]
        backends = form.query_one("#set-backends")
        backends.deselect("mxnet")  # type: ignore[attr-defined]
        form.query_one("#set-retention").value = "1.5"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for(
            pilot,
            lambda: "0.70 to 0.99" in str(form.query_one("#settings-error").render()),
            what="the refusal",
        )
        assert isinstance(app.screen, SettingsScreen)  # refused, and says why
        form.query_one("#set-retention").value = "0.85"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, SettingsScreen))
        assert app.theme == "textual-light"
        assert (app.settings.new_per_day, app.settings.desired_retention) == (7, 0.85)
        assert app.study is not None and app.study.settings.new_per_day == 7
        assert app.study.scheduler.desired_retention == 0.85
        assert not app.study.backend_enabled("mxnet")
    assert app.errors == []
    assert learner_settings_file("default").exists()
    again = load_settings(db_url=settings.db_url)
    assert (again.new_per_day, again.desired_retention, again.theme, again.backends) == (
        7,
        0.85,
        "textual-light",
        ("torch", "tensorflow"),
    )
    store = open_store(settings.db_url)
    with store.session() as s:
        saved = {r.key: r.value for r in s.scalars(select(Setting))}
    store.dispose()
    assert (
        saved["new_per_day"] == 7 and saved["backends"] == ["torch", "tensorflow"] and "device" not in saved
    )
    # On another machine (no settings file), the database's copy is taken up at start-up.
    learner_settings_file("default").unlink()
    fresh = settings_for(tmp_path)
    app = QuizApp(fresh, runner=runner)  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        # Taken up while loading, before the study is ready: no wait beyond that.
        await wait_for(pilot, lambda: app.study is not None, what="the study to load")
        assert app.settings.new_per_day == 7 and app.study.settings.new_per_day == 7
    assert learner_settings_file("default").exists()


async def test_an_unexpected_error_is_a_message_not_a_traceback(
    kinds_library: Path, tmp_path: Path, runner: object, caplog: pytest.LogCaptureFixture
) -> None:
    app = QuizApp(settings_for(tmp_path, backends=("torch",)), runner=runner)  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question")

        def broken() -> None:
            raise RuntimeError("a bug in a handler")

        screen.action_bury = broken  # type: ignore[method-assign]
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: app.errors, what="the error to be reported")
        assert app.errors == ["RuntimeError: a bug in a handler"]
        assert any("a bug in a handler" in n.message for n in app._notifications)
        assert app.is_running and app.return_code in (None, 0)
        await answer(pilot, screen, RIGHT[screen.card.uid])  # type: ignore[union-attr]
        await wait_for(pilot, lambda: screen.phase == "verdict")  # the app goes on
    assert any(r.exc_info and "a bug in a handler" in str(r.exc_info[1]) for r in caplog.records)


async def test_no_color_paints_in_monochrome(
    kinds_library: Path, tmp_path: Path, runner: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = QuizApp(settings_for(tmp_path, backends=("torch",)), runner=runner)  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question")
        await answer(pilot, screen, "2x1x3")
        await wait_for(pilot, lambda: screen.phase == "verdict")
        await wait_for(pilot, lambda: "INCORRECT" in app.export_screenshot(), what="the verdict painted")
        svg = app.export_screenshot()
    assert app.no_color
    assert "INCORRECT" in svg  # said in words, not only in red
    import re

    # Every colour painted is a grey ("c5c8c6" is the screenshot template's own default text colour).
    colours = set(re.findall(r"fill: #([0-9a-f]{6})", svg)) - {"c5c8c6"}
    assert colours and all(c[0:2] == c[2:4] == c[4:6] for c in colours), colours  # greys only


def test_build_study_respects_the_chosen_backends(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    study = build_study(settings_for(tmp_path, backends=("mxnet",)), None, runner=runner)  # type: ignore[arg-type]
    try:
        assert study.next_card().uid == "kinds/broadcast.mxnet"  # type: ignore[union-attr]
        study = study.with_settings(replace(study.settings, backends=("torch",)))
        assert study.next_card().uid == "kinds/shape.torch"  # type: ignore[union-attr]
        assert [c.uid for c in study.siblings(study.cards["kinds/broadcast.torch"])] == []
    finally:
        study.store.dispose()
