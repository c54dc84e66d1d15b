"""Snapshots of home, study (before and after the verdict, with the other backends), statistics and
the exam report, at 80×24 unless said otherwise.

Deterministic: a fixed clock and time zone, seeded variants, no cursor blink, and run times
pinned to 1 ms (the card code still runs, on the real torch and mxnet workers; only the
measured milliseconds, which differ on every run, are replaced). Regenerate with
`pytest tests/tui/test_snapshots.py --snapshot-update`, and look at every changed picture
before accepting it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from quiz.core.exam import ExamConfig
from quiz.core.grading import Verdict
from quiz.store.models import CardState
from quiz.study import Answered
from quiz.tui.app import QuizApp, build_study
from tests.tui.conftest import RIGHT, WRONG, Clock, settings_for

pytestmark = pytest.mark.torch


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class PinnedRunner:
    """The real runner, with the measured run time pinned (it changes on every run)."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner

    def run(self, *args: Any, **kwargs: Any) -> Any:
        return replace(self.runner.run(*args, **kwargs), elapsed_ms=1.0)

    def sandbox(self) -> Any:
        """Pinned too: without bubblewrap the top bar would add "partial isolation" (test_control_characters)."""
        from quiz.runner.isolation import Sandbox

        return Sandbox("bwrap")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.runner, name)


def seeded(settings: Any, deck: Any, **kw: Any) -> Any:
    study = build_study(settings, deck, **kw)
    study.rng = random.Random(1)
    return study


def quiet(app: QuizApp) -> None:
    for widget in app.screen.query("Input"):
        widget.cursor_blink = False  # type: ignore[attr-defined]


async def until(pilot: Any, condition: Any, timeout: float = 60) -> None:
    from tests.tui.conftest import wait_for

    await wait_for(pilot, condition, timeout)


def make_app(tmp_path: Path, runner: Any, clock: Clock, **kw: Any) -> QuizApp:
    settings = settings_for(tmp_path, backends=kw.pop("backends", ("torch",)))
    return QuizApp(settings, runner=PinnedRunner(runner), clock=clock, study_factory=seeded, **kw)  # type: ignore[arg-type]


def history(tmp_path: Path, runner: Any, clock: Clock) -> None:
    """Two days of answers, through the real rating path."""
    study = seeded(settings_for(tmp_path, backends=("torch",)), None, runner=runner, clock=clock)
    plan = [("kinds/shape.torch", True), ("kinds/dtype.torch", False), ("kinds/value.torch", True)]
    for _day in range(2):
        for uid, correct in plan:
            card = study.cards[uid]
            verdict = Verdict(correct, "x", "y", "torch", "cpu", "2.13.0", 1.0)
            study.rate(
                Answered(card, study.prepare(card), "y", verdict, clock(), clock(), 4000), 3 if correct else 1
            )
            clock.advance(minutes=2)
        clock.advance(days=1)
    study.store.dispose()


def test_home(kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any) -> None:
    clock = Clock()
    history(tmp_path, runner, clock)
    app = make_app(tmp_path, runner, clock)

    async def go_home(pilot: Any) -> None:
        await until(pilot, lambda: app.study is not None and app.study_screen.phase == "question")
        app.go_home()
        await until(pilot, lambda: getattr(app.screen, "data", None) is not None)
        await until(pilot, lambda: "torch ready" in str(app.screen.query_one("#home-backends").render()))

    assert snap_compare(app, run_before=go_home)


def test_study_question(kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any) -> None:
    app = make_app(tmp_path, runner, Clock())

    async def first_card(pilot: Any) -> None:
        await until(
            pilot, lambda: app.study_screen.phase == "question" and app.study_screen.welcome is not None
        )
        quiet(app)

    assert snap_compare(app, run_before=first_card)


def test_study_verdict(kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any) -> None:
    app = make_app(tmp_path, runner, Clock())

    async def wrong_answer(pilot: Any) -> None:
        screen = app.study_screen
        await until(pilot, lambda: screen.phase == "question")
        await pilot.press(*WRONG["kinds/shape.torch"], "enter")
        await until(pilot, lambda: screen.phase == "verdict")
        quiet(app)

    assert snap_compare(app, run_before=wrong_answer)


@pytest.mark.mxnet
def test_study_verdict_with_the_other_backends(
    kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any
) -> None:
    settings = settings_for(tmp_path, backends=("torch", "mxnet"))
    study = build_study(settings, None, runner=runner)
    with study.store.session() as s:
        s.execute(
            update(CardState).where(CardState.card_uid != "kinds/broadcast.torch").values(suspended=True)
        )
        s.commit()
    study.store.dispose()
    app = make_app(tmp_path, runner, Clock(), backends=("torch", "mxnet"))

    async def right_answer(pilot: Any) -> None:
        screen = app.study_screen
        await until(pilot, lambda: screen.phase == "question")
        a, b = screen.variant.values["a"], screen.variant.values["b"]  # type: ignore[union-attr]
        await pilot.press(*f"{a}x{b}", "enter")
        await until(pilot, lambda: bool(screen.query("#sibling-mxnet")))
        await until(pilot, lambda: "→" in str(screen.query_one("#sibling-mxnet .sibling-out").render()), 90)
        quiet(app)

    assert snap_compare(app, run_before=right_answer, terminal_size=(120, 36))


def test_statistics(kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any) -> None:
    clock = Clock()
    history(tmp_path, runner, clock)
    app = make_app(tmp_path, runner, clock)

    async def open_stats(pilot: Any) -> None:
        await until(pilot, lambda: app.study is not None)
        app.open_stats()
        await until(pilot, lambda: getattr(app.screen, "data", None) is not None)

    assert snap_compare(app, run_before=open_stats)


def test_exam_report(kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any) -> None:
    clock = Clock()
    config = ExamConfig(questions=3, time_limit_s=300, sections=("memory",), seed=2)
    app = make_app(tmp_path, runner, clock, exam=config)

    async def take_exam(pilot: Any) -> None:
        from quiz.tui.screens.exam import ExamScreen
        from quiz.tui.screens.exam_report import ExamReportScreen

        exam = app.screen
        assert isinstance(exam, ExamScreen)
        await until(pilot, lambda: exam.run is not None and exam.query_one("#card").display)
        for n in range(3):
            await until(pilot, lambda n=n: exam.position == n)
            card, _ = exam.run.question(n)  # type: ignore[union-attr]
            clock.advance(seconds=30)
            text = (WRONG if n == 0 else RIGHT)[card.uid]
            await pilot.press(*text)
            if card.kind.value not in ("bool", "grad_is_none", "choice"):
                await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ExamReportScreen))

    assert snap_compare(app, run_before=take_exam)
