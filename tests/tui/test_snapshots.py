"""Snapshots of home, study (before and after the verdict, with the other backends), statistics (and
its year heatmap), the card browser (80×24 and 160 columns), the exam report, settings, help (F1), an
added deck's trust review, an exam question with its timer, the session summary, the yes/no, options
and code answer forms, and a long prompt with long code (top and scrolled to the end), at 80×24
unless said otherwise.

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
from quiz.session.compose import build_study
from quiz.session.grading import Answered
from quiz.store.models import CardState
from quiz.tui.app import QuizApp
from tests.tui.conftest import RIGHT, WRONG, Clock, settings_for, study_only

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
        await until(pilot, lambda: screen.phase == "verdict" and screen.previews is not None)
        quiet(app)

    assert snap_compare(app, run_before=wrong_answer)


@pytest.mark.mxnet
@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["wide", "narrow"])
def test_study_verdict_with_the_other_backends(
    kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any, size: tuple[int, int]
) -> None:
    """Wide: side by side. Narrow: stacked, below the fold, with the hint carrying the mark."""
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
        await until(pilot, lambda: screen.previews is not None)
        quiet(app)

    assert snap_compare(app, run_before=right_answer, terminal_size=size)


def test_statistics(kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any) -> None:
    clock = Clock()
    history(tmp_path, runner, clock)
    app = make_app(tmp_path, runner, clock)

    async def open_stats(pilot: Any) -> None:
        await until(pilot, lambda: app.study is not None)
        app.open_stats()
        await until(pilot, lambda: getattr(app.screen, "data", None) is not None)

    assert snap_compare(app, run_before=open_stats)


def test_statistics_year(kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any) -> None:
    clock = Clock()
    history(tmp_path, runner, clock)
    app = make_app(tmp_path, runner, clock)

    async def open_year(pilot: Any) -> None:
        await until(pilot, lambda: app.study is not None)
        app.open_stats()
        await until(pilot, lambda: getattr(app.screen, "data", None) is not None)
        await pilot.press("5")
        await pilot.pause(0.2)

    assert snap_compare(app, run_before=open_year)


@pytest.mark.parametrize("size", [(80, 24), (160, 40)])
def test_browser(
    kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any, size: tuple[int, int]
) -> None:
    clock = Clock()
    history(tmp_path, runner, clock)
    app = make_app(tmp_path, runner, clock)

    async def browse(pilot: Any) -> None:
        from quiz.tui.screens.browser import BrowserScreen

        await until(pilot, lambda: app.study is not None)
        app.open_browser("is:review")
        await until(pilot, lambda: isinstance(app.screen, BrowserScreen) and len(app.screen.rows) == 2)
        await pilot.press("enter")
        await until(pilot, lambda: "newest first" in str(app.screen.query_one("#browser-detail").render()))
        quiet(app)

    assert snap_compare(app, run_before=browse, terminal_size=size)


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


# --- the screens that had no picture (#15 item 7) ------------------------------------------------


async def first_question(pilot: Any, app: QuizApp) -> None:
    screen = app.study_screen
    await until(pilot, lambda: screen.phase == "question" and screen.welcome is not None)
    quiet(app)


@pytest.mark.tensorflow
@pytest.mark.mxnet
def test_settings(kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any) -> None:
    """Every backend installed (the form lists the installed ones), so the picture is the same everywhere."""
    app = make_app(tmp_path, runner, Clock())

    async def open_settings(pilot: Any) -> None:
        from quiz.tui.screens.settings import SettingsScreen

        await until(pilot, lambda: app.study is not None)
        app.open_settings()
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        quiet(app)

    assert snap_compare(app, run_before=open_settings)


def test_help(kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any) -> None:
    """F1 on a question: the keys of the study screen."""
    app = make_app(tmp_path, runner, Clock())

    async def press_f1(pilot: Any) -> None:
        from quiz.tui.screens.help import HelpScreen

        await first_question(pilot, app)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))

    assert snap_compare(app, run_before=press_f1)


ADDED = """
[deck]
id = "shared"
title = "A deck from a colleague"

[[card]]
id = "sum.torch"
section = "reductions"
backend = "torch"
kind = "value"
prompt = "What is `y`?"
code = "y = int(torch.arange(${n}).sum())"
answer = "y"
explain = "0 + 1 + ... + (n - 1)."
vars.n = { int = [2, 9] }
"""


def test_trust_review(
    kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An added deck waiting for trust: all the code it would run, nothing run yet.

    The file's path is under this test's temporary QUIZ_HOME, which differs on every run: the
    screen is given the same request with a fixed path (in its head and in each card's file:line).
    """
    import textwrap

    import quiz.tui.screens.trust as trust_screen
    from quiz.library import write_into_library

    write_into_library(textwrap.dedent(ADDED).lstrip().encode(), "shared")

    class FixedPath(trust_screen.TrustScreen):
        def __init__(self, request: Any) -> None:
            fixed, real = "~/.local/share/quiz/added/shared.toml", str(request.path)
            cards = tuple(replace(c, where=c.where.replace(real, fixed)) for c in request.review.cards)
            assert all(c.where.startswith(fixed) for c in cards)
            review = replace(request.review, cards=cards)
            super().__init__(request._replace(path=Path(fixed), review=review))

    monkeypatch.setattr(trust_screen, "TrustScreen", FixedPath)
    app = make_app(tmp_path, runner, Clock())

    async def offered(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, FixedPath))
        quiet(app)

    assert snap_compare(app, run_before=offered)


def test_exam_question_with_its_timer(
    kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any
) -> None:
    """The timer is read from the test's clock: 2 min 5 s into a 10 min exam it says 7:55 left."""
    clock = Clock()
    config = ExamConfig(questions=3, time_limit_s=600, sections=("memory",), seed=2)
    app = make_app(tmp_path, runner, clock, exam=config)

    async def two_minutes_in(pilot: Any) -> None:
        from quiz.tui.screens.exam import ExamScreen

        exam = app.screen
        assert isinstance(exam, ExamScreen)
        await until(pilot, lambda: exam.run is not None and exam.query_one("#card").display)
        clock.advance(minutes=2, seconds=5)
        exam.tick()
        await until(pilot, lambda: "7:55 left" in str(exam.query_one("#exam-bar").render()))
        quiet(app)

    assert snap_compare(app, run_before=two_minutes_in)


def test_session_summary(kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any) -> None:
    """One card studied (one run on the warm torch worker), rated Easy: what the session did, when next."""
    study_only(tmp_path, runner, "kinds/shape.torch")
    clock = Clock()
    app = make_app(tmp_path, runner, clock)

    async def study_one(pilot: Any) -> None:
        screen = app.study_screen
        await first_question(pilot, app)
        clock.advance(seconds=12)
        await pilot.press(*RIGHT["kinds/shape.torch"], "enter")
        await until(pilot, lambda: screen.phase == "verdict" and screen.previews is not None)
        await pilot.press("4")  # Easy: out of learning, so nothing is left today (Good would show it again)
        await until(pilot, lambda: screen.phase == "done")
        quiet(app)

    assert snap_compare(app, run_before=study_one)


@pytest.mark.parametrize(
    "uid",
    ["kinds/bool.torch", "kinds/choice.torch", "kinds/code.torch", "kinds/value.torch"],
    ids=["yes-no", "choice", "code", "hint-under-the-field"],
)
def test_answer_form(kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any, uid: str) -> None:
    """The question of a yes/no, an options and a write-the-code card: each kind's own answer form; and
    at 80×24 a hint too long for the field (a value card's), wrapped under it, whole."""
    study_only(tmp_path, runner, uid)
    app = make_app(tmp_path, runner, Clock())

    async def asked(pilot: Any) -> None:
        await first_question(pilot, app)
        assert app.study_screen.card.uid == uid  # type: ignore[union-attr]

    assert snap_compare(app, run_before=asked)


LONG = '''
[deck]
id = "long"
title = "Long"

[[card]]
id = "long.torch"
section = "long"
backend = "torch"
kind = "value"
prompt = """
A long prompt, as an instructor writes one: it sets the scene over several lines, and every word of it \
must be on screen, wrapped at the terminal's width and never cut at the right edge. The tensor `x` starts \
as a column of ones; each step below doubles it, adds a row index, and keeps a running total in `acc`. \
Read all of the code (it is longer than the screen: scroll down) and say what `y` is at the very end. \
THE LAST WORD OF THE PROMPT.
"""
code = """
x = torch.ones(3, 1)
acc = torch.zeros(3, 1)
x = x * 2 + torch.arange(3).reshape(3, 1)  # step 1: a comment long enough to run past eighty columns on its line
acc = acc + x
x = x * 2 + torch.arange(3).reshape(3, 1)  # step 2
acc = acc + x
x = x * 2 + torch.arange(3).reshape(3, 1)  # step 3
acc = acc + x
x = x * 2 + torch.arange(3).reshape(3, 1)  # step 4
acc = acc + x
x = x * 2 + torch.arange(3).reshape(3, 1)  # step 5
acc = acc + x
x = x * 2 + torch.arange(3).reshape(3, 1)  # step 6
acc = acc + x
y = acc.sum()  # THE LAST LINE OF THE CODE
"""
answer = "y"
explain = "Each step doubles and adds."
'''


@pytest.mark.parametrize("where", ["top", "end"])
def test_long_prompt_and_code(
    kinds_library: Path, tmp_path: Path, runner: Any, snap_compare: Any, where: str
) -> None:
    """Longer than 80×24: wrapped, never cut; the top with its scroll bar, and scrolled to the last line."""
    (kinds_library / "long.toml").write_text(LONG.lstrip())
    study_only(tmp_path, runner, "long/long.torch")
    app = make_app(tmp_path, runner, Clock())

    async def scrolled(pilot: Any) -> None:
        from textual.containers import VerticalScroll

        await first_question(pilot, app)
        assert app.study_screen.card.uid == "long/long.torch"  # type: ignore[union-attr]
        if where == "end":
            scroll = app.study_screen.query_one("#card-scroll", VerticalScroll)

            def at_end() -> bool:
                """Scrolled to the last line. scroll_end() scrolls after the next refresh, to the height
                laid out by then; under load the layout can still grow after it: ask again until it holds."""
                if scroll.max_scroll_y > 0 and scroll.scroll_y == scroll.max_scroll_y:
                    return True
                scroll.scroll_end(animate=False)
                return False

            await until(pilot, at_end)
            await pilot.pause()
            await until(pilot, at_end)  # and still there once what the scroll changed is painted
        await pilot.pause()

    assert snap_compare(app, run_before=scrolled)
