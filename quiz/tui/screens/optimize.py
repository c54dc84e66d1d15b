"""Personal scheduling from Settings: fit FSRS to this learner's review history (quiz.session.optimize), show
the expected change in recall and workload, apply on confirmation; below the history it needs, say so."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Static

from quiz.tui.base import QuizModalScreen
from quiz.tui.render import shown

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.session.optimize import OptimizeReport


@dataclass
class Fitted(Message):
    """The fit's report, or why there is none."""

    report: OptimizeReport | None
    problem: str | None


class OptimizeScreen(QuizModalScreen["Settings | None"]):
    """Returns the settings with the fitted weights once applied, else None."""

    HELP = """
**Optimize FSRS.** Fits the scheduler's weights to your own review history with the `fsrs`
package's optimizer (it takes a minute), then shows how well the current and the fitted weights
predict your recall and how many reviews each gives in the next 30 days. **a** applies the fitted
weights (from your next review on); Esc leaves everything as it is. `quiz optimize` does the same.
"""

    DEFAULT_CSS = """
    OptimizeScreen { align: center middle; }
    OptimizeScreen #optimize { width: 90; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; }
    OptimizeScreen #optimize-buttons { height: auto; }
    """

    BINDINGS = [
        Binding("a", "apply", "Apply"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.report: OptimizeReport | None = None
        self.problem: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="optimize"):
            yield Static(Text("Optimize FSRS for your history", style="bold"))
            yield Static("Reading your reviews and fitting (this can take a minute)…", id="optimize-body")
            with Horizontal(id="optimize-buttons"):
                yield Button("Apply (a)", variant="primary", id="optimize-apply", disabled=True)
                yield Button("Close (Esc)", id="optimize-close")

    def on_mount(self) -> None:
        self.fit()

    def fit(self) -> None:
        self.in_background(self._fit, doing="fitting", group="optimize", failure=_why_not)

    def _fit(self) -> Fitted:
        from quiz.session.optimize import optimize
        from quiz.store.stats import review_facts

        study = self.quiz_app.study
        if study is None:
            return Fitted(None, "the schedule is still loading; try again in a moment")
        with study.store.session() as s:
            history = review_facts(s, study.profile)
        current = self.settings.fsrs_parameters or _defaults()
        report = optimize(
            history,
            current=current,
            now=datetime.now(UTC),
            desired_retention=self.settings.desired_retention,
        )
        return Fitted(report, None)

    @on(Fitted)
    def fitted(self, message: Fitted) -> None:
        from quiz.session.optimize import render

        body = self.query_one("#optimize-body", Static)
        self.report, self.problem = message.report, message.problem
        if message.report is None:
            body.update(shown(Text(message.problem or "nothing to fit", style="bold yellow")))
            return
        body.update(shown(render(message.report, custom=bool(self.settings.fsrs_parameters))))
        self.query_one("#optimize-apply", Button).disabled = False

    def action_apply(self) -> None:
        from quiz.session.optimize import apply_weights

        report = self.report
        if report is None:
            return
        weights = report.after.parameters
        try:
            apply_weights(self.settings, weights, datetime.now(UTC))
        except Exception as exc:
            self.notify(f"Could not save the weights: {exc}", severity="error", timeout=8)
            return
        self.notify("Fitted FSRS weights applied: from your next review on.", timeout=5)
        self.dismiss(replace(self.settings, fsrs_parameters=tuple(weights)))

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#optimize-apply")
    def apply_pressed(self) -> None:
        self.action_apply()

    @on(Button.Pressed, "#optimize-close")
    def close_pressed(self) -> None:
        self.action_close()


def _defaults() -> tuple[float, ...]:
    from fsrs.scheduler import DEFAULT_PARAMETERS

    return tuple(DEFAULT_PARAMETERS)


def _why_not(exc: Exception) -> Fitted:
    """What the dialog says when the fit fails: too little history, no optimizer here, or the error."""
    from quiz.session.optimize import NotEnoughHistory

    if isinstance(exc, NotEnoughHistory):
        return Fitted(None, str(exc))
    if isinstance(exc, ImportError):
        return Fitted(None, f"fsrs's optimizer is not installed here ({exc})")
    return Fitted(None, f"{type(exc).__name__}: {exc}")
