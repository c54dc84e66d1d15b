"""The study screen: one card at a time — answer, verdict, rating, next card."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
        counts = self.study.counts()
        bar = Text()
        bar.append("quiz", style="bold")
        if self.study.deck_ids:
            bar.append(f" · {', '.join(self.study.deck_ids)}")
        bar.append(f"   due {counts.due}", style="bold red" if counts.due else "dim")
        bar.append(f" · learning {counts.learning}", style="bold yellow" if counts.learning else "dim")
        bar.append(f" · new {counts.new}", style="bold blue" if counts.new else "dim")
        bar.append(f"   reviewed today {counts.reviewed_today}", style="dim")
        bar.append(f"   device {self.study.settings.device}", style="dim")
        self.query_one("#topbar", Static).update(bar)

    # --- loading and the next card -----------------------------------------------

    def start(self, study: Study) -> None:
        self.study = study
        self.update_topbar()
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
            if getattr(self.app, "exit_after_first_card", False):
                self.call_after_refresh(self.app.exit)
            return
        view.display = True
        view.show(self.card, self.variant)
        self.query_one("#card-scroll", VerticalScroll).scroll_home(animate=False)
        answer = self.query_one("#answer", Input)
        answer.value = ""
        answer.placeholder = f"{hint_for(self.card)}, then Enter"
        assert self.study is not None
        self.shown_at = self.study.clock()
        self.phase = "question"
        state = self.study.runner.state(self.card.backend.value)
        warming = (
            f"   ({self.card.backend.value} is loading in the background)" if state == "starting" else ""
        )
        self.set_status(Text(f"Enter submits · Ctrl+Q quits{warming}", style="dim"))
        if getattr(self.app, "exit_after_first_card", False):
            self.call_after_refresh(self.app.exit)

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
        assert self.study is not None
        cold = self.study.runner.state(backend) != "ready"
        note = f" ({backend} is still loading: the first card takes a few seconds)" if cold else ""
        self.set_status(Text(f"running on {backend}/{self.study.settings.device}…{note}", style="bold"))
        self.grade(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="grade")
    def grade(self, answer: str) -> None:
        study, card, variant, shown = self.study, self.card, self.variant, self.shown_at
        assert study is not None and card is not None and variant is not None and shown is not None
        try:
            answered = study.grade(card, variant, answer, shown)
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
