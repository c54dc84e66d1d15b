"""The study screen: one card at a time — answer, verdict, rating, next card."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from quiz.core.answers import MalformedAnswer, hint_for, parse_answer
from quiz.tui.messages import CardReady, Failed, Graded
from quiz.tui.widgets.card_view import CardView
from quiz.tui.widgets.verdict_view import VerdictView

if TYPE_CHECKING:
    from datetime import datetime

    from quiz.core.cards import Card
    from quiz.core.variables import Variant
    from quiz.prepared import FirstCard
    from quiz.study import Answered, Study


class StudyScreen(Screen[None]):
    """States: loading → question → running → verdict → (next) question … → done."""

    BINDINGS = [
        Binding("1", "rate(1)", "Again", show=False),
        Binding("2", "rate(2)", "Hard", show=False),
        Binding("3", "rate(3)", "Good", show=False),
        Binding("4", "rate(4)", "Easy", show=False),
        Binding("enter", "accept", "Rate as suggested", show=False),
        Binding("ctrl+q", "app.quit", "Quit", priority=True),
    ]

    phase: reactive[str] = reactive("loading")

    def __init__(self) -> None:
        super().__init__()
        self.study: Study | None = None
        self.card: Card | None = None
        self.variant: Variant | None = None
        self.shown_at: datetime | None = None
        self.answered: Answered | None = None
        self.suggested: int | None = None
        self.reviewed = 0
        self.prepared_uid: str | None = None
        self.prepared: FirstCard | None = None
        self.painted_first = False

    def compose(self) -> ComposeResult:
        yield Static("quiz", id="topbar")
        with VerticalScroll(id="card-scroll"):
            yield CardView(id="card")
            yield VerdictView(id="verdict")
        yield Static("loading decks and schedule…", id="status")
        yield Input(placeholder="your prediction, then Enter", id="answer")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#card", CardView).display = False
        self.query_one("#verdict", VerdictView).display = False
        self.query_one("#answer", Input).disabled = True
        if self.prepared is not None:
            self.show_prepared(self.prepared.card, self.prepared.variant, self.prepared.counts)

    # --- state -------------------------------------------------------------------

    def watch_phase(self, phase: str) -> None:
        answer = self.query_one("#answer", Input)
        answer.disabled = phase not in ("question", "running")
        answer.display = phase in ("question", "running")
        self.query_one("#verdict", VerdictView).display = phase == "verdict"
        if phase == "question":
            answer.focus()
        elif phase == "verdict":
            self.query_one("#card-scroll").focus()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("rate", "accept"):
            return self.phase == "verdict"
        return True

    def set_status(self, text: str | Text, *, style: str = "") -> None:
        status = self.query_one("#status", Static)
        status.update(text)
        status.set_classes(style)

    def update_topbar(self) -> None:
        if self.study is None:
            return
        c = self.study.counts()
        self._topbar_from(
            {"due": c.due, "learning": c.learning, "new": c.new, "reviewed_today": c.reviewed_today}
        )

    def _topbar_from(self, counts: dict[str, int]) -> None:
        app: Any = self.app
        bar = Text()
        bar.append("quiz", style="bold")
        if app.deck:
            bar.append(f" · {app.deck}")
        due, learning, new = counts.get("due", 0), counts.get("learning", 0), counts.get("new", 0)
        bar.append(f"   due {due}", style="bold red" if due else "dim")
        bar.append(f" · learning {learning}", style="bold yellow" if learning else "dim")
        bar.append(f" · new {new}", style="bold blue" if new else "dim")
        bar.append(f"   reviewed today {counts.get('reviewed_today', 0)}", style="dim")
        bar.append(f"   device {app.settings.device}", style="dim")
        self.query_one("#topbar", Static).update(bar)

    # --- loading and the next card -----------------------------------------------

    def show_prepared(self, card: Card, variant: Variant, counts: dict[str, int]) -> None:
        """Paint the prepared first card before the study session has loaded (quiz.prepared)."""
        self.prepared_uid = card.uid
        self._topbar_from(counts)
        self.show_card(CardReady(card, variant))

    def start(self, study: Study) -> None:
        self.study = study
        self.update_topbar()
        if self.card is not None and self.prepared_uid == self.card.uid:
            self.confirm_prepared(self.card.uid)
        else:
            self.load_next()

    @work(thread=True, exclusive=True, exit_on_error=False, group="next")
    def confirm_prepared(self, uid: str) -> None:
        """The real schedule must agree with the prepared start; if not (rare), show its card instead."""
        study = self.study
        assert study is not None
        try:
            card = study.next_card()
        except Exception as exc:
            self.post_message(Failed("choosing the next card", f"{type(exc).__name__}: {exc}"))
            return
        if card is not None and card.uid == uid:
            return
        self.app.call_from_thread(self._replace_prepared, card)

    def _replace_prepared(self, card: Card | None) -> None:
        if self.phase == "question" and self.card is not None and self.card.uid == self.prepared_uid:
            self.app.log.warning(f"prepared start disagreed with the schedule: {self.prepared_uid} vs {card}")
            self.prepared_uid = None
            self.load_next()

    @work(thread=True, exclusive=True, exit_on_error=False, group="next")
    def load_next(self) -> None:
        self._post_next()

    def _post_next(self) -> None:
        """Runs in a thread worker: pick the next card, draw its variant, warm its backend."""
        study = self.study
        assert study is not None
        try:
            card = study.next_card()
            variant = study.prepare(card) if card else None
        except Exception as exc:  # shown, logged; never a traceback on screen
            self.post_message(Failed("choosing the next card", f"{type(exc).__name__}: {exc}"))
            return
        if card is not None:
            study.runner.prestart([card.backend.value])
        self.post_message(CardReady(card, variant))

    @on(CardReady)
    def show_card(self, message: CardReady) -> None:
        self.card, self.variant = message.card, message.variant
        self.answered = None
        view = self.query_one("#card", CardView)
        if self.card is None or self.variant is None:
            view.display = False
            self.phase = "done"
            done = Text()
            done.append("All done for now. ", style="bold green")
            done.append(f"{self.reviewed} reviewed this session. Come back later for the next due cards. ")
            done.append("Ctrl+Q quits.", style="dim")
            self.set_status(done)
            self.update_topbar()
            self._first_paint()
            return
        view.display = True
        view.show(self.card, self.variant)
        self.query_one("#card-scroll", VerticalScroll).scroll_home(animate=False)
        answer = self.query_one("#answer", Input)
        answer.value = ""
        answer.placeholder = f"{hint_for(self.card)}, then Enter"
        app: Any = self.app
        self.shown_at = app.clock()
        self.phase = "question"
        backend = self.card.backend.value
        if app.runner is not None and app.runner.state(backend) == "stopped":
            self.call_after_refresh(app.runner.prestart, [backend])
        self.set_status(Text("Enter submits · Ctrl+Q quits", style="dim"))
        self._first_paint()

    def _first_paint(self) -> None:
        if self.painted_first:
            return
        self.painted_first = True
        app: Any = self.app
        if self.prepared is not None and app.study is None:
            self.call_after_refresh(app.load)
        if getattr(self.app, "exit_after_first_card", False):
            self.call_after_refresh(self._mark_and_exit)

    def _mark_and_exit(self) -> None:
        """Start-up timing (scripts/bench.py): note when the first card was on screen, then leave."""
        import time

        mark = os.environ.get("QUIZ_BENCH_MARK")
        if mark:
            with open(mark, "w") as f:
                f.write(repr(time.time()))
        self.app.exit()

    # --- answering ---------------------------------------------------------------

    @on(Input.Submitted, "#answer")
    def submit(self, event: Input.Submitted) -> None:
        if self.phase != "question" or self.card is None or self.variant is None:
            return
        try:
            parse_answer(self.card, event.value)
        except MalformedAnswer as exc:
            # Asked again, never marked wrong.
            self.set_status(Text(f"⚠ {exc.hint}", style="bold yellow"), style="-warning")
            return
        self.phase = "running"
        backend = self.card.backend.value
        app: Any = self.app
        cold = app.runner is None or app.runner.state(backend) != "ready"
        note = f" ({backend} is still loading: the first card takes a few seconds)" if cold else ""
        self.set_status(Text(f"running on {backend}/{app.settings.device}…{note}", style="bold"))
        self.grade(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="grade")
    def grade(self, answer: str) -> None:
        app: Any = self.app
        card, variant, shown = self.card, self.variant, self.shown_at
        assert card is not None and variant is not None and shown is not None
        from quiz.study import grade_answer

        if not app.runner_ready.wait(timeout=300):
            self.post_message(Failed("grading", "the runner did not start"))
            return
        try:
            answered = grade_answer(app.runner, app.settings.device, app.clock, card, variant, answer, shown)
        except MalformedAnswer as exc:
            self.post_message(Failed("reading your answer", exc.hint))
            return
        except Exception as exc:
            self.post_message(Failed("grading", f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(Graded(answered))

    @on(Graded)
    def show_verdict(self, message: Graded) -> None:
        self.answered = message.answered
        self.suggested = self.query_one("#verdict", VerdictView).show(message.answered)
        self.phase = "verdict"
        self.set_status(
            Text("1 Again · 2 Hard · 3 Good · 4 Easy · Enter accepts the suggestion", style="dim")
        )
        self.query_one("#card-scroll", VerticalScroll).scroll_end(animate=False)

    def action_accept(self) -> None:
        if self.suggested is not None:
            self.action_rate(self.suggested)
        else:
            self.set_status(Text("This card could not be graded: pick a rating 1-4.", style="yellow"))

    def action_rate(self, rating: int) -> None:
        if self.phase != "verdict" or self.answered is None:
            return
        self.phase = "saving"
        self.set_status(Text("saving…", style="dim"))
        self.save_and_next(self.answered, rating)

    @work(thread=True, exclusive=True, exit_on_error=False, group="next")
    def save_and_next(self, answered: Answered, rating: int) -> None:
        app: Any = self.app
        if not app.study_ready.wait(timeout=300):
            self.post_message(Failed("saving your review", "the study session did not finish loading"))
            return
        study = self.study
        assert study is not None
        try:
            study.rate(answered, rating)
        except Exception as exc:
            self.post_message(Failed("saving your review", f"{type(exc).__name__}: {exc}"))
            return
        self.reviewed += 1
        self.app.call_from_thread(self.update_topbar)
        self._post_next()

    @on(Failed)
    def show_failure(self, message: Failed) -> None:
        self.app.log.error(f"{message.what}: {message.error}")
        self.notify(f"Problem while {message.what}: {message.error}", severity="error", timeout=10)
        if self.phase == "running":
            self.phase = "question"
        elif self.phase == "saving":
            self.phase = "verdict"
        self.set_status(
            Text(f"Problem while {message.what}: {message.error}", style="bold red"), style="-error"
        )
