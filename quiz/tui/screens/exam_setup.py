"""Setting up an exam: sections, backends, number of questions, time limit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, SelectionList, Static

from quiz.core.cards import BACKENDS
from quiz.core.exam import ExamConfig, ExamError
from quiz.core.text import visible
from quiz.tui.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from quiz.session.study import Study


class ExamSetupScreen(ModalScreen[ExamConfig | None]):
    """Returns the chosen ExamConfig, or None when cancelled."""

    HELP = """
**Exam setup.** Pick the sections and backends to be asked about (Space toggles, Tab moves
between the lists and fields), the number of questions and the time limit in minutes (0: none).
Every question gets a fresh variant; the verdicts come at the end, and your study schedule is
not touched. **Ctrl+S** or the Start button begins.
"""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "start", "Start"),
    ]

    def __init__(self, study: Study) -> None:
        super().__init__()
        self.study = study

    def compose(self) -> ComposeResult:
        cards = self.study.library.cards()
        sections = sorted({c.section for c in cards})
        counts = {s: sum(1 for c in cards if c.section == s) for s in sections}
        with Vertical(id="exam-setup"):
            yield Static(
                "[b]Exam[/b]: a timed self-assessment; your study schedule is left alone.",
                id="exam-setup-title",
            )
            with Horizontal():
                with Vertical(id="exam-setup-left"):
                    yield Label("sections")
                    yield SelectionList[str](
                        *[(Text(visible(f"{s} ({counts[s]})")), s, True) for s in sections],  # deck text
                        id="exam-sections",
                    )
                with Vertical(id="exam-setup-right"):
                    yield Label("backends")
                    yield SelectionList[str](
                        *[
                            (b, b, self.study.backend_enabled(b))
                            for b in BACKENDS
                            if self.study.backend_enabled(b)
                        ],
                        id="exam-backends",
                    )
                    yield Label("questions")
                    yield Input("20", id="exam-questions", type="integer")
                    yield Label("time limit, minutes (0: none)")
                    yield Input("20", id="exam-minutes", type="integer")
                    with Horizontal(id="exam-setup-buttons"):
                        yield Button("Start", variant="primary", id="exam-start")
                        yield Button("Cancel", id="exam-cancel")
            yield Static(id="exam-setup-error")
        yield KeyBar()

    def config(self) -> ExamConfig:
        """The chosen options; raises ExamError (shown to the learner) when they do not make an exam."""
        sections = tuple(self.query_one("#exam-sections", SelectionList).selected)
        backends = tuple(self.query_one("#exam-backends", SelectionList).selected)
        if not sections:
            raise ExamError("pick at least one section")
        if not backends:
            raise ExamError("pick at least one backend")
        try:
            questions = int(self.query_one("#exam-questions", Input).value or "0")
            minutes = int(self.query_one("#exam-minutes", Input).value or "0")
        except ValueError:
            raise ExamError("questions and minutes are whole numbers") from None
        all_sections = {c.section for c in self.study.library.cards()}
        return ExamConfig(
            questions=questions,
            time_limit_s=minutes * 60 if minutes > 0 else None,
            sections=() if set(sections) == all_sections else sections,
            backends=backends,
        )

    def action_start(self) -> None:
        try:
            config = self.config()
        except ExamError as exc:
            self.query_one("#exam-setup-error", Static).update(Text(visible(str(exc)), style="bold red"))
            return
        self.dismiss(config)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#exam-start")
    def start_pressed(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#exam-cancel")
    def cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Input.Submitted)
    def input_submitted(self) -> None:
        self.action_start()
