"""The exam from start to report: fresh variants, a visible timer, grading in the background, the
report saved and exported; the schedule never touched. Also `quiz exam` on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from quiz.cli import main
from quiz.core.exam import ExamConfig
from quiz.store.db import open_store
from quiz.store.models import CardState, Exam, ExamAnswer, Review
from quiz.tui.app import QuizApp
from quiz.tui.screens.exam import ExamScreen
from quiz.tui.screens.exam_report import ExamReportScreen
from tests.tui.conftest import RIGHT, WRONG, Clock, settings_for, wait_for

pytestmark = pytest.mark.torch


def schedule(url: str) -> tuple[list[tuple[str, int, int]], int]:
    store = open_store(url)
    with store.session() as s:
        states = sorted((c.card_uid, c.state, c.reps) for c in s.scalars(select(CardState)))
        reviews = s.scalar(select(func.count()).select_from(Review)) or 0
    store.dispose()
    return states, reviews


async def test_an_exam_to_its_report(
    kinds_library: Path, tmp_path: Path, runner: object, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    settings = settings_for(tmp_path, backends=("torch",))
    report = tmp_path / "out" / "exam.md"
    config = ExamConfig(questions=4, time_limit_s=600, sections=("memory", "shapes", "dtypes"), seed=11)
    app = QuizApp(settings, runner=runner, clock=clock, exam=config, report_path=report)  # type: ignore[arg-type]
    asked: list[str] = []
    async with app.run_test() as pilot:
        exam = app.screen
        assert isinstance(exam, ExamScreen)
        await wait_for(pilot, lambda: exam.run is not None and exam.query_one("#card").display)
        assert "10:00 left" in str(exam.query_one("#exam-bar").render())
        for n in range(4):
            await wait_for(pilot, lambda n=n: exam.position == n)
            card, _ = exam.run.question(n)  # type: ignore[union-attr]
            asked.append(card.uid)
            clock.advance(seconds=20 + n)
            if n == 3:
                await pilot.press("ctrl+n")  # skipped: counts as missed
                continue
            text = (WRONG if n == 1 else RIGHT)[card.uid]
            await pilot.press(*text)
            if card.kind.value not in ("bool", "grad_is_none", "choice"):
                await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExamReportScreen), timeout=60)
        shown = app.screen
        assert isinstance(shown, ExamReportScreen)
        r = shown.report
        assert (r.score.correct, r.score.total, r.ended) == (2, 4, "completed")
        assert [x.card_uid for x in r.results] == asked
        assert [x.time_ms for x in r.results] == [20000, 21000, 22000, 23000]
        assert [x.position for x in r.missed] == [1, 3]
        assert r.results[3].answer is None and r.results[3].expected  # run for its truth all the same
        assert sum(t.total for t in r.by_section.values()) == 4
        text = str(shown.query_one("#report-head").render())
        assert "2 / 4 right (50%)" in text
    assert app.errors == []
    md = report.read_text()
    assert "**Score: 2 / 4 (50%)**" in md and "## Missed (2)" in md
    assert f"### 4. {asked[3]}" in md and "(not answered)" in md

    # Saved in the history, the schedule untouched.
    states, reviews = schedule(settings.db_url)
    assert reviews == 0 and all(state == 0 and reps == 0 for _, state, reps in states)
    store = open_store(settings.db_url)
    with store.session() as s:
        exam_row = s.scalars(select(Exam)).one()
        answers = s.scalars(select(ExamAnswer).order_by(ExamAnswer.position)).all()
    store.dispose()
    assert (exam_row.score, exam_row.total, exam_row.config["seed"]) == (2, 4, 11)
    assert [a.card_uid for a in answers] == asked and answers[1].correct is False

    # Exported again from the command line, without the app.
    again = tmp_path / "again.md"
    assert main(["exam", "--db", settings.db_url, "--show", "last", "--report", str(again)]) == 0
    assert again.read_text() == md.replace("# quiz exam\n", f"# quiz exam {exam_row.id}\n", 1)
    assert main(["exam", "--db", settings.db_url, "--list"]) == 0
    assert "2/4" in capsys.readouterr().out


async def test_the_time_limit_ends_the_exam(kinds_library: Path, tmp_path: Path, runner: object) -> None:
    clock = Clock()
    settings = settings_for(tmp_path, backends=("torch",))
    app = QuizApp(settings, runner=runner, clock=clock, exam=ExamConfig(questions=3, time_limit_s=60, seed=5))  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        exam = app.screen
        assert isinstance(exam, ExamScreen)
        await wait_for(pilot, lambda: exam.run is not None and exam.query_one("#card").display)
        clock.advance(seconds=45)
        exam.tick()
        assert "00:15 left" in str(exam.query_one("#exam-bar").render())
        clock.advance(seconds=16)
        await wait_for(pilot, lambda: isinstance(app.screen, ExamReportScreen), timeout=60)
        r = app.screen.report  # type: ignore[attr-defined]
        assert r.ended == "time up" and r.score.correct == 0 and len(r.missed) == 3
    assert app.errors == []


def test_quiz_exam_checks_its_options_before_starting(
    kinds_library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    assert main(["exam", "--db", db, "--sections", "nope"]) == 2
    assert "no section 'nope'; sections: autograd, broadcast" in capsys.readouterr().err
    assert main(["exam", "--db", db, "--questions", "0"]) == 2
    assert "number of questions" in capsys.readouterr().err
    assert main(["exam", "--db", db, "--show", "last"]) == 1
    assert "no finished exam" in capsys.readouterr().err
