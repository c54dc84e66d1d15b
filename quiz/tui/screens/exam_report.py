"""The exam's report: score per section and per backend, time per question, every missed card
with its truth and explanation; exportable as Markdown."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from quiz.core.exam import ExamReport, QuestionResult, report_markdown
from quiz.core.stats import Tally
from quiz.core.text import visible
from quiz.tui.base import QuizScreen
from quiz.tui.render import highlight_python, markdown_text, shown
from quiz.tui.widgets.card_view import numbered
from quiz.tui.widgets.key_bar import KeyBar


def tally_table(title: str, rows: dict[str, Tally]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", box=None, padding=(0, 1))
    table.add_column(title.split()[-1])
    table.add_column("right", justify="right")
    table.add_column("score", justify="right")
    for name, t in rows.items():
        table.add_row(Text(visible(name)), f"{t.correct}/{t.total}", t.percent())
    return table


def result_word(r: QuestionResult) -> Text:
    if r.answer is None:
        return Text("not answered", style="yellow")
    if r.correct is None:
        return Text("not graded", style="yellow")
    return Text("✓ right", style="green") if r.correct else Text("✗ wrong", style="bold red")


class ExamReportScreen(QuizScreen[None]):
    HELP = """
**Exam report.** Your score per section and per backend, your time on every question, and each
missed card with the truth and the explanation. The exam is saved in your history;
**x** writes this report as Markdown (as `quiz exam --show last --report FILE.md` does).
"""

    BINDINGS = [
        Binding("escape", "home", "Home"),
        Binding("x", "export", "Export Markdown"),
    ]

    def __init__(self, report: ExamReport, exam_id: int | None, *, saved_to: str | None = None) -> None:
        super().__init__()
        self.report = report
        self.exam_id = exam_id
        self.saved_to = saved_to

    def compose(self) -> ComposeResult:
        r = self.report
        head = Text()
        head.append("exam report", style="bold")
        head.append(f"  ·  {r.score.correct} / {r.score.total} right ({r.score.percent()})", style="bold")
        head.append(f"  ·  {r.ended}  ·  {r.duration_s / 60:.1f} min", style="dim")
        yield Static(head, id="report-head")
        with VerticalScroll(id="report-body"):
            if self.saved_to:
                yield Static(Text(f"report written to {self.saved_to}", style="green"))
            yield Static(tally_table("by section", r.by_section), classes="report-table")
            yield Static(tally_table("by backend", r.by_backend), classes="report-table")
            yield Static(self._times(), classes="report-table")
            missed = r.missed
            yield Static(Text(f"missed ({len(missed)})", style="bold"), classes="report-section")
            if not missed:
                yield Static(Text("None: every answer was right.", style="green"))
            for m in missed:
                yield Static(shown(self._missed(m)), classes="report-missed")
            broken = r.not_graded
            if broken:
                yield Static(
                    Text("not graded (left out of the score)", style="bold"), classes="report-section"
                )
                for b in broken:
                    yield Static(Text(visible(f"{b.position + 1}. {b.card_uid}: {b.error}"), style="yellow"))
        yield KeyBar()

    def _times(self) -> Table:
        table = Table(
            title="time per question", title_justify="left", title_style="bold", box=None, padding=(0, 1)
        )
        table.add_column("#", justify="right")
        table.add_column("card")
        table.add_column("result")
        table.add_column("time", justify="right")
        for r in self.report.results:
            time = "–" if r.time_ms is None else f"{r.time_ms / 1000:.0f} s"
            table.add_row(str(r.position + 1), shown(r.card_uid), result_word(r), time)
        return table

    def _missed(self, r: QuestionResult) -> Text:
        out = Text()
        out.append(f"{r.position + 1}. {r.card_uid}", style="bold")
        out.append(f"  {r.backend} · {visible(r.section)}\n", style="dim")
        out.append_text(markdown_text(r.prompt))
        out.append("\n")
        out.append_text(numbered(highlight_python(r.code.strip("\n"))))
        out.append("\nyour answer  ", style="dim")
        out.append("(not answered)" if r.answer is None else visible(r.answer))
        out.append("\ntruth        ", style="dim")
        out.append(visible(r.expected or "(could not run)"), style="bold")
        out.append("\n")
        out.append_text(markdown_text(r.explain))
        return out

    def default_export_path(self) -> Path:
        from quiz import paths

        stamp = self.report.started_at.astimezone().strftime("%Y%m%d-%H%M")
        return paths.data_dir() / "exams" / f"exam-{self.exam_id or stamp}.md"

    def action_export(self) -> None:
        path = Path(self.saved_to) if self.saved_to else self.default_export_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(report_markdown(self.report, lang=self.quiz_app.settings.lang), encoding="utf-8")
        except OSError as exc:
            self.notify(f"Could not write {path}: {exc}", severity="error", timeout=10)
            return
        self.saved_to = str(path)
        self.notify(f"Report written to {path}", timeout=8)

    def action_home(self) -> None:
        if self.quiz_app.exam_config is not None:  # started by `quiz exam`: done
            self.app.exit(0)
            return
        self.quiz_app.go_home()
