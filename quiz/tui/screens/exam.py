"""Taking an exam: one question after another with a visible timer; verdicts only in the report.

Answers are graded in the background, one at a time, while the learner goes
on, and saved to the exam's history as they come; the schedule is never
touched. When the questions run out, the time is up, or the learner ends it,
the questions left are run for their truth and the report opens.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from quiz.core.answers import MalformedAnswer
from quiz.tui.base import QuizScreen
from quiz.tui.lang import lang_of
from quiz.tui.messages import ExamFinished, ExamGraded, ExamStarted, Failed
from quiz.tui.render import shown
from quiz.tui.widgets.answer_box import AnswerBox
from quiz.tui.widgets.card_view import CardView
from quiz.tui.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from datetime import datetime

    from quiz.core.exam import ExamConfig
    from quiz.session.exam import ExamRun
    from quiz.session.grading import ParsedAnswer


def clock_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


class ExamScreen(QuizScreen[None]):
    HELP = """
**Exam.** Answer each question as in study (Enter); there is no verdict until the end, so keep
going. **Ctrl+N** skips a question (it counts as missed), **Ctrl+E** ends the exam now. When
the time is up the exam ends by itself. The report shows your score per section and per
backend, your time on each question, and every missed card with its truth and explanation.
"""

    BINDINGS = [
        # Priority: the answer input binds Ctrl+E (end of line) itself, and a typed-answer question
        # has the focus there: without priority the exam could not be ended from it.
        Binding("ctrl+n", "skip", "Skip", priority=True),
        Binding("ctrl+e", "end", "End exam", priority=True),
        Binding("escape", "escape", "Back", show=False),
    ]

    def __init__(self, config: ExamConfig, *, report_path: Path | None = None) -> None:
        super().__init__()
        self.config = config
        self.report_path = report_path
        self.run: ExamRun | None = None
        self.position = 0
        self.shown_at: datetime | None = None
        self.times: dict[int, int] = {}
        self.graded = 0
        self.finishing = False

    def compose(self) -> ComposeResult:
        yield Static("exam · preparing the questions…", id="exam-bar")
        with VerticalScroll(id="card-scroll"):
            yield CardView(id="card")
        yield Static(id="status")
        yield AnswerBox(id="answer-box")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#card", CardView).display = False
        self.query_one(AnswerBox).set_locked(True)
        self.set_interval(1.0, self.tick, name="exam-timer")
        self.prepare()

    def prepare(self) -> None:
        self.in_background(
            self._prepare,
            doing="preparing the exam",
            group="exam",
            failure=lambda exc: Failed("preparing the exam", f"{exc}"),
        )

    def _prepare(self) -> ExamStarted | Failed:
        from quiz.session.exam import ExamRun

        study = self.quiz_app.wait_for_study()
        if study is None:
            return Failed("preparing the exam", "the decks and database did not load")
        run = ExamRun.start(study, self.config)
        for position in range(len(run.questions)):
            run.question(position)  # every variant drawn before the clock starts
        backends = sorted({b for q in run.questions for b in run.study.cards[q.card_uid].backends})
        run.study.runner.prestart(backends)
        return ExamStarted(run)

    @on(ExamStarted)
    def started(self, message: ExamStarted) -> None:
        self.run = message.run
        self.run.started_at = self.quiz_app.clock()
        self.show_question(0)

    # --- questions -------------------------------------------------------------------

    def show_question(self, position: int) -> None:
        run = self.run
        assert run is not None
        if position >= len(run.questions):
            self.finish("completed")
            return
        self.position = position
        card, variant = run.question(position)
        view = self.query_one("#card", CardView)
        view.display = True
        view.show(card, variant)
        self.query_one("#card-scroll", VerticalScroll).scroll_home(animate=False)
        box = self.query_one(AnswerBox)
        box.set_locked(False)
        box.ask(card, variant)
        self.shown_at = self.quiz_app.clock()
        self.set_status(Text("Enter answers · Ctrl+N skips · Ctrl+E ends the exam", style="dim"))
        self.tick()

    def set_status(self, text: str | Text) -> None:
        self.query_one("#status", Static).update(shown(text))  # errors from card code and decks pass here

    def _spent_ms(self) -> int:
        if self.shown_at is None:
            return 0
        return max(0, int((self.quiz_app.clock() - self.shown_at).total_seconds() * 1000))

    @on(AnswerBox.Submitted)
    def submitted(self, event: AnswerBox.Submitted) -> None:
        event.stop()
        run = self.run
        if run is None or self.finishing:
            return
        try:
            reading = run.check(self.position, event.value)
        except MalformedAnswer as exc:
            self.set_status(Text(f"⚠ {exc.text(lang_of(self))}", style="bold yellow"))
            return
        position, spent = self.position, self._spent_ms()
        self.times[position] = spent
        # On the app's grading thread, in order: finishing queues behind the last answer there.
        self.in_background(
            lambda: self._grade(run, position, reading, spent),
            doing=f"grading question {position + 1}",
            group="exam-grade",
            in_order=True,
        )
        self.show_question(position + 1)

    def _grade(self, run: ExamRun, position: int, answer: ParsedAnswer, spent: int) -> ExamGraded:
        return ExamGraded(run.answer(position, answer, spent))

    @on(ExamGraded)
    def graded_one(self, message: ExamGraded) -> None:
        self.graded += 1
        self.tick()

    def action_skip(self) -> None:
        if self.run is None or self.finishing:
            return
        self.times[self.position] = self._spent_ms()
        self.show_question(self.position + 1)

    def action_end(self) -> None:
        if self.run is not None and not self.finishing:
            if self.position not in self.times:
                self.times[self.position] = self._spent_ms()
            self.finish("stopped")

    def action_escape(self) -> None:
        if self._leave_on_escape:
            if len(self.app.screen_stack) > 2:
                self.app.pop_screen()
            else:
                self.quiz_app.go_home()
            return
        self.notify(
            "Ctrl+E ends the exam (your answers so far are kept); Ctrl+N skips this question.", timeout=4
        )

    # --- the clock ----------------------------------------------------------------------

    def remaining_s(self) -> float | None:
        run = self.run
        if run is None or self.config.time_limit_s is None:
            return None
        elapsed: float = (self.quiz_app.clock() - run.started_at).total_seconds()
        return self.config.time_limit_s - elapsed

    def tick(self) -> None:
        run = self.run
        if run is None:
            return
        bar = Text()
        bar.append("exam", style="bold")
        shown = min(self.position + 1, len(run.questions))
        bar.append(f"  ·  question {shown} of {len(run.questions)}")
        bar.append(f"  ·  answered {len(self.times)}", style="dim")
        if self.graded < len(self.times):
            bar.append(f" (grading {len(self.times) - self.graded})", style="dim")
        left = self.remaining_s()
        if left is not None:
            style = "bold red" if left < 60 else "bold yellow" if left < 300 else "bold"
            bar.append(f"  ·  ⏱ {clock_text(left)} left", style=style)
            if left <= 0 and not self.finishing:
                if self.position not in self.times:
                    self.times[self.position] = self._spent_ms()
                self.finish("time up")
        else:
            elapsed = (self.quiz_app.clock() - run.started_at).total_seconds()
            bar.append(f"  ·  ⏱ {clock_text(elapsed)}", style="bold")
        if self.quiz_app.isolation_header:
            bar.append(f"  ·  {self.quiz_app.isolation_header}", style="bold yellow")
        self.query_one("#exam-bar", Static).update(bar)

    # --- the end ------------------------------------------------------------------------

    def finish(self, ended: str) -> None:
        if self.finishing:
            return
        self.finishing = True
        self.query_one(AnswerBox).set_locked(True)
        what = {"time up": "Time is up.", "stopped": "Exam ended.", "completed": "All questions answered."}[
            ended
        ]
        self.set_status(Text(f"{what} Grading the last answers and writing the report…", style="bold"))
        # In order behind every answer handed to the grading thread: all are graded before the report.
        self.in_background(
            lambda: self._finish(ended), doing="finishing the exam", group="exam-finish", in_order=True
        )

    def _finish(self, ended: str) -> ExamFinished:
        run = self.run
        assert run is not None
        report = run.finish(ended, self.times)
        saved_to = None
        if self.report_path is not None:
            from quiz.core.exam import report_markdown

            try:
                self.report_path.parent.mkdir(parents=True, exist_ok=True)
                self.report_path.write_text(
                    report_markdown(report, lang=run.study.settings.lang), encoding="utf-8"
                )
                saved_to = str(self.report_path)
            except OSError as exc:
                self.post_message(Failed("writing the report", f"{exc}"))
        return ExamFinished(report, run.exam_id, saved_to)

    @on(ExamFinished)
    def finished(self, message: ExamFinished) -> None:
        from quiz.tui.screens.exam_report import ExamReportScreen

        self.app.switch_screen(ExamReportScreen(message.report, message.exam_id, saved_to=message.saved_to))

    @on(Failed)
    def failed(self, message: Failed) -> None:
        self.notify(f"Problem while {message.what}: {message.error}", severity="error", timeout=15)
        if self.run is None:
            self.set_status(
                Text(f"Problem while {message.what}: {message.error}. Esc goes back.", style="bold red")
            )
            self.query_one("#exam-bar", Static).update(Text("exam", style="bold"))
            self._leave_on_escape = True

    _leave_on_escape = False
