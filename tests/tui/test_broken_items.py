"""Issue 13 §1 "Broken", each as the learner met it: a deck typo, a load that fails, Ctrl+E in a typed
answer, Ctrl+Z on the verdict, Esc mid-card, `quiz` without a terminal, a mistyped command."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from quiz.cli import main
from quiz.core.exam import ExamConfig
from quiz.store.db import open_store
from quiz.store.models import Review
from quiz.tui.app import QuizApp
from quiz.tui.screens.exam import ExamScreen
from quiz.tui.screens.exam_report import ExamReportScreen
from quiz.tui.screens.home import HomeScreen
from quiz.tui.widgets.answer_box import AnswerBox
from tests.tui.conftest import RIGHT, WRONG, Clock, answer, settings_for, wait_for

ROOT = Path(__file__).resolve().parents[2]


def _quiz_frames() -> list[str]:
    """Threads other than this one that are running quiz's TUI code right now (file:function)."""
    here = threading.get_ident()
    found = []
    for ident, frame in sys._current_frames().items():
        if ident == here:
            continue
        f = frame
        while f is not None:
            if "/quiz/tui/" in f.f_code.co_filename.replace(os.sep, "/"):
                found.append(f"{Path(f.f_code.co_filename).name}:{f.f_code.co_name}")
                break
            f = f.f_back
    return found


# --- the command line ----------------------------------------------------------------------


def test_study_of_an_unknown_deck_is_one_line_and_a_failure(
    kinds_library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    assert main(["study", "nosuchdeck", "--db", db]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and "no deck 'nosuchdeck'" in lines[0] and "quiz decks" in lines[0]
    assert main(["study", "kind", "--db", db]) == 2  # a near miss: the deck it meant
    assert "did you mean 'kinds'?" in capsys.readouterr().err


def test_a_mistyped_command_gets_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stduy"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "quiz: unknown command 'stduy'; did you mean 'study'?"
    assert main(["xyzzy"]) == 2
    assert "`quiz --help` lists the commands" in capsys.readouterr().err
    assert main(["\x1b[2Jcard"]) == 2  # a hostile word is shown, not obeyed
    assert "\x1b" not in capsys.readouterr().err


def test_quiz_without_a_terminal_says_so_and_exits(kinds_library: Path, tmp_path: Path) -> None:
    env = {**os.environ, "QUIZ_DB": f"sqlite:///{tmp_path / 'q.db'}", "QUIZ_HOME": str(tmp_path / "home")}
    env.pop("QUIZ_HEADLESS", None)
    env.pop("TEXTUAL_DRIVER", None)
    done = subprocess.run(
        [sys.executable, "-m", "quiz"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2
    assert "needs a terminal" in done.stderr and len(done.stderr.strip().splitlines()) == 1


# --- the app -------------------------------------------------------------------------------


@pytest.mark.torch
async def test_a_failed_load_leaves_a_usable_app_that_quits(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    settings = settings_for(tmp_path, backends=("torch",))
    # The deck is checked on the command line first; the app itself must survive any load failure.
    app = QuizApp(settings, deck="nosuchdeck", runner=runner, use_prepared_start=False)  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.load_error is not None)
        assert "no deck 'nosuchdeck'" in app.load_error  # type: ignore[operator]
        await wait_for(pilot, lambda: "Problem while loading" in str(app.study_screen.query_one("#status").render()))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        home = app.screen
        await wait_for(pilot, lambda: "Could not load" in str(home.query_one("#home-today").render()))
        await pilot.press("t")  # statistics: says it cannot, does not hang either
        await pilot.pause(0.2)
        await pilot.press("ctrl+q")
    # Nothing of the app is left waiting (before: a loader sat 300 s on an event, and the process with it).
    deadline = time.monotonic() + 5
    while _quiz_frames() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _quiz_frames() == []


@pytest.mark.torch
async def test_ctrl_e_ends_the_exam_from_a_typed_answer(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    settings = settings_for(tmp_path, backends=("torch",))
    config = ExamConfig(questions=2, time_limit_s=600, sections=("shapes",), seed=3)
    app = QuizApp(settings, runner=runner, clock=Clock(), exam=config)  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        exam = app.screen
        assert isinstance(exam, ExamScreen)
        await wait_for(pilot, lambda: exam.run is not None and exam.query_one("#card").display)
        card, _ = exam.run.question(0)  # type: ignore[union-attr]
        assert card.kind.value in ("shape", "code")  # a typed answer: the input has the focus
        await pilot.press("2", "x")
        assert exam.query_one(AnswerBox).has_focus_within
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExamReportScreen), timeout=60)
        assert app.screen.report.ended == "stopped"  # type: ignore[attr-defined]
    assert app.errors == []


@pytest.mark.torch
async def test_ctrl_z_on_the_verdict_takes_back_this_answer(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    settings = settings_for(tmp_path, backends=("torch",))
    app = QuizApp(settings, runner=runner, clock=Clock(), use_prepared_start=False)  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question")
        await answer(pilot, screen, RIGHT[screen.card.uid])  # type: ignore[union-attr]
        await wait_for(pilot, lambda: screen.phase == "verdict")
        await pilot.press("3")
        await wait_for(pilot, lambda: screen.reviewed == 1 and screen.phase == "question")
        second, variant = screen.card, screen.variant
        assert second is not None and variant is not None
        typed = WRONG[second.uid]
        await answer(pilot, screen, typed)
        await wait_for(pilot, lambda: screen.phase == "verdict")
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: screen.phase == "question")
        # The same card, the same values, the answer back in the box; the first card's review kept.
        assert screen.card is second and screen.variant is variant
        if second.kind.value not in ("bool", "grad_is_none", "choice"):
            assert screen.box.value == typed
        assert screen.study is not None and len(screen.study.undo_steps) == 1
        store = open_store(settings.db_url)
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(Review)) == 1
        store.dispose()
        # Undo again: now the card before.
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: screen.phase == "question" and screen.card is not second)
        assert screen.study.undo_steps == []
    assert app.errors == []


@pytest.mark.torch
async def test_esc_mid_card_does_not_reroll_the_variables(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    settings = settings_for(tmp_path, backends=("torch",), new_card_order="by-topic")
    app = QuizApp(settings, runner=runner, clock=Clock(), use_prepared_start=False)  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question")
        seen = []
        for _ in range(3):
            assert screen.card is not None and screen.variant is not None
            seen.append((screen.card.uid, screen.variant.seed, screen.variant.values_json()))
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.data is not None)
            await pilot.press("enter")  # all decks, as before
            await wait_for(
                pilot, lambda: app.screen is app.study_screen and app.study_screen.phase == "question"
            )
            screen = app.study_screen
        assert screen.card is not None and screen.variant is not None
        seen.append((screen.card.uid, screen.variant.seed, screen.variant.values_json()))
        assert len(set(map(str, seen))) == 1, seen
    assert app.errors == []
