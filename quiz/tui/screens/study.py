"""The study screen: one card at a time — answer, verdict with the other backends, rating, next card."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.events import Key
from textual.reactive import reactive
from textual.widgets import Static
from textual.worker import get_current_worker

from quiz.core.answers import MalformedAnswer
from quiz.core.i18n import known, t
from quiz.tui.base import QuizScreen
from quiz.tui.lang import lang_of
from quiz.tui.messages import (
    CardReady,
    CountsReady,
    Failed,
    Graded,
    PreviewsReady,
    Rated,
    SetAside,
    SiblingRan,
    SiblingsFound,
    Undid,
    VerdictRefined,
)
from quiz.tui.render import shown
from quiz.tui.widgets.answer_box import AnswerBox
from quiz.tui.widgets.card_view import CardView
from quiz.tui.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from datetime import datetime

    from textual.timer import Timer
    from textual.widget import AwaitMount, Widget

    from quiz.core.cards import Card
    from quiz.core.previews import IntervalPreview
    from quiz.core.stats import SessionRecord
    from quiz.core.variables import Variant
    from quiz.session.grading import Answered, ParsedAnswer, Truth
    from quiz.session.prepared import FirstCard
    from quiz.session.study import Study
    from quiz.tui.widgets.verdict_view import VerdictView

# While no answer form takes keys (saving, loading the next card) what the learner types is kept
# and handed to the next card's form: nothing typed ahead is lost.
TYPEAHEAD_PHASES = ("loading", "saving")

RUNNING_LINE_AFTER_S = 0.12  # "running on torch/cpu…" once an answer on a warm worker takes this long
PAINT_WAIT_S = 0.5  # how long a code answer's other variants wait for its first verdict to be on screen
HOLD_GC_S = 2.0  # the longest the cyclic collector stays paused for one answer (see _hold_gc)


class _TruthSlot:
    """The truth of the card on screen, run ahead of its answer on the grading thread (pre_run).

    Filled on that thread; read there by the grading job that comes after it, and on the UI thread
    at the key (a prediction whose truth is in already: `truth` is set once, None until then)."""

    def __init__(self, card: Card, variant: Variant, token: int) -> None:
        self.card = card
        self.variant = variant
        self.token = token
        self.truth: Truth | None = None


class StudyScreen(QuizScreen[None]):
    """States: loading → question → running → verdict → saving → question … → done."""

    HELP = """
**Study.** Predict what the code does and type it; Enter runs the card's code on the real
framework and shows the verdict, the explanation, and the same card family on the other
backends. Then rate how well you knew it: **1** Again, **2** Hard, **3** Good, **4** Easy
(Enter takes the suggested one, picked from the verdict and your time).

- Answers: a shape as `(2, 3)`, `2x3` or `[]`; a dtype as `float32` or `torch.int64`; `y`/`n`
  for yes/no cards; a letter for options; code cards run your line when it is complete.
- Keep typing while a card saves: the next card gets what you typed.
- **Ctrl+Z** on the verdict takes back this answer (nothing is saved until you rate); again, the
  answer before, a bury or a suspend.
- **Ctrl+B** buries the card until tomorrow; **Ctrl+S** suspends it until you undo.
- A card forgotten again and again is flagged as a *leech*: read its explanation, or suspend it.
"""

    # The rating keys come first (priority), before the focused widget, and only in the verdict (see
    # check_action; elsewhere they pass through to the answer form): the form keeps the focus until
    # the verdict is painted (watch_phase), and a rating key must not be typed into it meanwhile.
    BINDINGS = [
        Binding("1", "rate(1)", "Again", show=False, priority=True),
        Binding("2", "rate(2)", "Hard", show=False, priority=True),
        Binding("3", "rate(3)", "Good", show=False, priority=True),
        Binding("4", "rate(4)", "Easy", show=False, priority=True),
        Binding("enter", "accept", "Rate as suggested", show=False, priority=True),
        Binding("escape", "home", "Home"),
        Binding("ctrl+z", "undo", "Undo"),
        Binding("ctrl+b", "bury", "Bury"),
        Binding("ctrl+s", "suspend", "Suspend"),
        Binding("up", "scroll('up')", "Scroll up", show=False),
        Binding("down", "scroll('down')", "Scroll down", show=False),
        Binding("pageup", "scroll('page_up')", "Page up", show=False),
        Binding("pagedown", "scroll('page_down')", "Page down", show=False),
        Binding("home", "scroll('home')", "Top", show=False),
        Binding("end", "scroll('end')", "Bottom", show=False),
    ]

    # No repaint of the whole screen when it changes: what each phase shows refreshes itself (a
    # repaint of the screen would render every widget a second time, on the verdict too).
    phase: reactive[str] = reactive("loading", repaint=False)

    def __init__(self, study: Study | None = None, *, prepared: FirstCard | None = None) -> None:
        super().__init__()
        self.study: Study | None = study
        self.card: Card | None = None
        self.variant: Variant | None = None
        self.lapses = 0
        self.shown_at: datetime | None = None
        self.answered: Answered | None = None
        self.suggested: int | None = None
        self.previews: tuple[IntervalPreview, ...] | None = None  # of the card on the verdict
        self.reviewed = 0
        self.records: list[SessionRecord] = []
        self.prepared_uid: str | None = None
        self.prepared: FirstCard | None = prepared
        self.painted_first = False
        self.typeahead = ""
        self.welcome: str | None = None
        self.compare_token = 0
        self.verdict_painted_at: float | None = None  # perf_counter() once the verdict is on screen (bench)
        # The card's truth runs while the learner reads (_plan_truth); a new card, a skip or leaving
        # bumps `truth_token` and so drops it. `grading_token` names the grading whose later verdicts
        # (VerdictRefined) still count: rating, undo or another card end it.
        self.truth_token = 0
        self.grading_token = 0
        self._truth: _TruthSlot | None = None
        # Set once the verdict the grading thread posted is on screen: a code answer's other variants
        # wait for it (their runs took the CPU and the GIL the verdict's frame needed).
        self._painted = threading.Event()
        self._gc_held: Timer | None = None  # the collector paused from the key to the verdict (_hold_gc)
        self._extras: AwaitMount | None = None
        self._held: dict[str, Widget] = {}  # the extras by selector, once mounted (_mount_extras)
        self.box = AnswerBox(id="answer-box")  # held: queries cost time on the first paint

    def compose(self) -> ComposeResult:
        # Only what the first card needs: the verdict, the welcome and the summary are mounted
        # right after the first paint (see _mount_extras), so they do not delay it.
        yield Static("quiz", id="topbar")
        with VerticalScroll(id="card-scroll"):
            yield CardView(id="card")
        yield Static(self.say("study.loading"), id="status")
        yield self.box
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#card", CardView).display = False
        if self.prepared is not None:
            self.show_prepared(self.prepared.card, self.prepared.variant, self.prepared.counts)
        else:
            self.box.set_locked(True)  # nothing to answer until a card comes
            self._mount_extras()
            if self.study is not None:
                self.start(self.study)

    def _mount_extras(self) -> AwaitMount | None:
        if self._extras is not None or not self.is_attached or getattr(self.app, "exiting", False):
            return self._extras

        from quiz.tui.widgets.verdict_view import VerdictView

        welcome, verdict, summary = Static(id="welcome"), VerdictView(id="verdict"), Static(id="summary")
        for widget in (welcome, verdict, summary):
            widget.display = False
        if self.welcome:
            welcome.update(Text.from_markup(self.welcome))
            welcome.display = self.phase == "question" and self.answered is None
        self._held = {"#welcome": welcome, "#verdict": verdict, "#summary": summary}
        scroll = self.query_one("#card-scroll", VerticalScroll)
        scroll.mount(welcome, before=0)
        self._extras = scroll.mount(verdict, summary)
        return self._extras

    @property
    def verdict_view(self) -> VerdictView:
        from quiz.tui.widgets.verdict_view import VerdictView

        held = self._held.get("#verdict")
        return held if isinstance(held, VerdictView) else self.query_one("#verdict", VerdictView)

    def _show(self, selector: str, shown: bool) -> None:
        # The extras are held once mounted: a query walks the whole screen, on the verdict's path too.
        held = self._held.get(selector)
        for widget in [held] if held is not None else self.query(selector):
            widget.display = shown

    def say(self, key: str, **values: Any) -> str:
        """The catalog's words for `key` in the learner's language (quiz.core.i18n)."""
        return t(key, lang_of(self), **values)

    # --- state -------------------------------------------------------------------

    def watch_phase(self, phase: str) -> None:
        box = self.box
        answering = phase in ("question", "running")  # no focus move on Enter: it would cost the verdict
        box.display = answering
        if answering:
            box.set_locked(False)  # a no-op unless it was locked (on mount, or after a failed load)
        # Otherwise the box is hidden, and focus leaves it (below): hidden, it is out of the focus chain
        # and takes no clicks, so keys typed ahead reach the screen. It is not locked as well: that
        # would restyle the whole form, tens of milliseconds the verdict (and the next card) would wait for.
        self._show("#verdict", phase in ("verdict", "saving"))
        self._show("#summary", phase == "done")
        if phase in ("question", "done", "loading"):
            self._release_gc()
        if phase == "question":
            box.focus_answer()
        elif phase == "done" or (phase not in ("running", "verdict") and box.has_focus_within):
            # Nothing focused: keys go to the screen's bindings (ratings, scrolling). Moving focus
            # into the card would restyle all of it, which the verdict would wait for.
            # While the answer runs the focus stays in the form: moving it restyled the form and
            # drew a frame that the verdict's frame then waited behind (~15 ms on a code answer).
            # With the verdict it leaves once the verdict is painted (_after_verdict): the blur
            # restyles the form (~7 ms for the code editor), hidden by then, for nothing anyone sees.
            self.set_focus(None)
        # No refresh_bindings() here: the footer's keys are the same in every phase (their actions
        # check the phase), and rebuilding the footer would cost the verdict tens of milliseconds.

    def action_scroll(self, how: str) -> None:
        scroll = self.query_one("#card-scroll", VerticalScroll)
        getattr(scroll, f"action_{how}" if how.startswith("page") else f"action_scroll_{how}")()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The rating keys (not in the footer) pass through outside the verdict: typed ahead.
        if action in ("rate", "accept"):
            return self.phase == "verdict" or (self.phase == "done" and action == "accept")
        return True

    def set_status(self, text: str | Text, *, style: str = "") -> None:
        status = self.query_one("#status", Static)
        status.update(shown(text))  # errors from card code and decks pass through here
        status.set_classes(style)

    def update_topbar(self) -> None:
        """Recount in a thread (it reads every card's state) and repaint the top bar when done."""
        if self.study is not None:
            self._count()

    @work(thread=True, exclusive=True, exit_on_error=False, group="counts")
    def _count(self) -> None:
        study = self.study
        assert study is not None
        try:
            from quiz.session.dashboards import counts

            c = counts(study)
        except Exception as exc:  # counts are a nicety: never worth a crash
            self.app.log.error(f"counts: {exc}")
            return
        self.post_message(
            CountsReady(
                {"due": c.due, "learning": c.learning, "new": c.new, "reviewed_today": c.reviewed_today}
            )
        )

    @on(CountsReady)
    def _counts_ready(self, message: CountsReady) -> None:
        self._topbar_from(message.counts)

    def _topbar_from(self, counts: dict[str, int]) -> None:
        bar = Text()
        bar.append("quiz", style="bold")
        decks = self.study.deck_ids if self.study is not None else None
        if decks or self.quiz_app.deck:
            bar.append(f" · {', '.join(decks or [str(self.quiz_app.deck)])}")
        due, learning, new = counts.get("due", 0), counts.get("learning", 0), counts.get("new", 0)
        bar.append("   " + self.say("study.bar.due", n=due), style="bold red" if due else "dim")
        bar.append(
            " · " + self.say("study.bar.learning", n=learning), style="bold yellow" if learning else "dim"
        )
        bar.append(" · " + self.say("study.bar.new", n=new), style="bold blue" if new else "dim")
        bar.append("   " + self.say("study.bar.today", n=counts.get("reviewed_today", 0) + 0), style="dim")
        bar.append("   " + self.say("study.bar.device", device=self.quiz_app.settings.device), style="dim")
        if self.quiz_app.isolation_header:
            bar.append(f"   {self.quiz_app.isolation_header}", style="bold yellow")
        self.query_one("#topbar", Static).update(shown(bar))

    # --- loading and the next card -----------------------------------------------

    def show_prepared(self, card: Card, variant: Variant, counts: dict[str, int]) -> None:
        """Paint the prepared first card before the study session has loaded (quiz.session.prepared)."""
        self.prepared_uid = card.uid
        self._topbar_from(counts)
        self.show_card(CardReady(card, variant))

    def start(self, study: Study, *, welcome: str | None = None) -> None:
        self.study = study
        if welcome:
            self.welcome = welcome
            for banner in self.query("#welcome").results(Static):
                banner.update(Text.from_markup(welcome))
                banner.display = True
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
            lapses = study.memory(card).lapses if card else 0
        except Exception as exc:  # shown, logged; never a traceback on screen
            self.post_message(Failed("choosing the next card", f"{type(exc).__name__}: {exc}"))
            return
        if card is not None:
            study.runner.prestart(list(card.backends))  # a translate card needs its source's too
            self.app.call_from_thread(self.quiz_app.watch_warmup, list(card.backends))
        self.post_message(CardReady(card, variant, lapses=lapses))

    @on(CardReady)
    def show_card(self, message: CardReady) -> None:
        self.card, self.variant = message.card, message.variant
        self.lapses = message.lapses
        self.answered = None
        self.suggested = None
        self.previews = None
        view = self.query_one("#card", CardView)
        if self.card is None or self.variant is None:
            view.display = False
            self.show_summary()
            self._first_paint()
            if not self.records and not self.quiz_app.exit_after_first_card:
                self.call_after_refresh(self.quiz_app.go_home)  # nothing to study at all: Home says when
            return
        view.display = True
        view.show(self.card, self.variant, lapses=self.lapses)
        self.grading_token += 1  # a verdict still coming for the card before is not this one's
        self._plan_truth(self.card, self.variant)
        self.query_one("#card-scroll", VerticalScroll).scroll_home(animate=False)
        self.shown_at = self.quiz_app.clock()
        # Typed ahead: submitted as soon as it answers (Enter, or one key for yes/no and options).
        # Put back after undo: shown, to change or confirm.
        from_undo = bool(message.typed)
        typed = message.typed or self.typeahead
        self.typeahead = ""
        self.phase = "question"
        submit_now = typed.endswith("\n")
        chosen = self.box.ask(self.card, self.variant, typed.rstrip("\n"))
        runner = self.quiz_app.runner
        stopped = [b for b in self.card.backends if runner is not None and runner.state(b) == "stopped"]
        if runner is not None and stopped:
            self.call_after_refresh(runner.prestart, stopped)
        self.set_status(Text(self.say("study.keys.question"), style="dim"))
        if (chosen or submit_now) and typed.strip() and not from_undo:
            self.call_after_refresh(self.submit_answer, self.box.value)
        self._first_paint()

    def show_summary(self) -> None:
        """Nothing (more) to study: the session's summary, or Home when nothing was studied at all."""
        from quiz.core.stats import session_summary
        from quiz.tui.widgets.session_summary import summary_text

        self.phase = "done"
        summary = session_summary(self.records)
        study = self.study
        next_due = None
        elsewhere: tuple[int, datetime | None] = (0, None)
        if study is not None:
            try:
                from quiz.session import dashboards

                next_due = dashboards.next_due(study)
                elsewhere = dashboards.elsewhere(study)
            except Exception as exc:
                self.app.log.error(f"next due: {exc}")
        for box in self.query("#summary").results(Static):
            box.update(summary_text(summary, next_due, self.quiz_app.clock(), lang_of(self), elsewhere))
        self._show("#welcome", False)
        self.set_status("")
        self.update_topbar()

    def _first_paint(self) -> None:
        if self.painted_first:
            return
        self.painted_first = True
        # The bench's mark first: the card is on screen once this refresh is done, and the
        # loading thread (which starts next) should not hold the mark back.
        if getattr(self.app, "exit_after_first_card", False):
            self.call_after_refresh(self._mark_and_exit)
        self.call_after_refresh(self._mount_extras)
        if self.prepared is not None and self.quiz_app.study is None:
            self.call_after_refresh(self.quiz_app.load)

    def _mark_and_exit(self) -> None:
        """Start-up timing (scripts/bench.py): note when the first card was on screen, then leave."""
        import time

        mark = os.environ.get("QUIZ_BENCH_MARK")
        if mark:
            with open(mark, "w") as f:
                f.write(repr(time.time()))
        self.app.exit()

    # --- typing ahead ------------------------------------------------------------------

    def on_key(self, event: Key) -> None:
        if self.phase == "question":
            # A key that reached the screen while the answer form was still taking focus.
            box = self.box
            if event.is_printable and event.character and not box.has_focus_within:
                event.stop()
                event.prevent_default()
                box.receive(event.character)
            return
        if self.phase not in TYPEAHEAD_PHASES:
            return
        if event.key == "enter":
            self.typeahead += "\n"
        elif event.key == "backspace":
            self.typeahead = self.typeahead[:-1]
        elif event.is_printable and event.character and len(self.typeahead) < 500:
            self.typeahead += event.character
        else:
            return
        event.stop()
        event.prevent_default()

    # --- answering ---------------------------------------------------------------

    @on(AnswerBox.Submitted)
    def submitted(self, event: AnswerBox.Submitted) -> None:
        event.stop()
        self.submit_answer(event.value)

    def submit_answer(self, value: str) -> None:
        if self.phase != "question" or self.card is None or self.variant is None:
            return
        from quiz.session.grading import read_answer

        try:
            reading = read_answer(self.card, self.variant, value)  # read once: grading takes it as it is
        except MalformedAnswer as exc:
            # Asked again, never marked wrong.
            self.set_status(Text(f"⚠ {exc.text(lang_of(self))}", style="bold yellow"), style="-warning")
            return
        runner = self.quiz_app.runner
        slot = self._slot_for(self.card, self.variant)
        truth = slot.truth if slot is not None else None
        self._painted.clear()  # set again once this answer's verdict is on screen
        self._hold_gc()
        if (
            truth is not None
            and truth.result is not None
            and runner is not None
            and self.shown_at is not None
        ):
            # A prediction whose truth ran while the learner read: judging it is a comparison, here and
            # now, with no "running" line painted and no thread to wake (grading's own check that the
            # truth is this card's and variant's still applies).
            from quiz.session.grading import grade_answer

            app = self.quiz_app
            try:
                graded = grade_answer(
                    runner,
                    app.settings.device,
                    app.clock,
                    self.card,
                    self.variant,
                    reading,
                    self.shown_at,
                    truth=truth,
                )
            except Exception as exc:  # graded on the thread as without a pre-run, which says what failed
                self.app.log.error(f"grading with the pre-run: {exc}")
            else:
                self.phase = "running"
                self.grading_token += 1
                self.post_message(Graded(graded))
                return
        self.phase = "running"
        backend = self.card.backend.value
        cold = [b for b in self.card.backends if runner is None or runner.state(b) != "ready"]
        if len(cold) > 1:
            note = self.say("study.cold_many", backends=" and ".join(cold))
        else:
            note = self.say("study.cold", backend=cold[0]) if cold else ""
        device = self.quiz_app.settings.device
        running = Text(self.say("study.running", backend=backend, device=device, note=note), style="bold")
        self.grade(reading)
        if cold:
            self.set_status(running)  # seconds to wait: say so at once
        else:
            # A warm worker answers in tens of milliseconds: the line would only flash, and painting
            # it took the CPU and the GIL the grading thread needed (the verdict came ~10 ms later).
            token = self.grading_token

            def still_running() -> None:
                if self.phase == "running" and self.grading_token == token:
                    self.set_status(running)

            self.set_timer(RUNNING_LINE_AFTER_S, still_running)

    def grade(self, answer: ParsedAnswer) -> None:
        """Grade on the app's grading thread (kept warm: starting a thread per answer costs the
        verdict milliseconds), after the card's pre-run there; verdicts come back as messages."""
        card, variant, shown = self.card, self.variant, self.shown_at
        assert card is not None and variant is not None and shown is not None
        slot = self._slot_for(card, variant)
        self.grading_token += 1
        token = self.grading_token
        at = self.quiz_app.clock()  # the learner's time ends at the key, not when grading starts
        self.in_background(
            lambda: self._grade(card, variant, answer, shown, slot, token, at),
            doing="grading",
            group="grade",
            in_order=True,
            failure=self._grading_failed,
        )

    def _grade(
        self,
        card: Card,
        variant: Variant,
        answer: ParsedAnswer,
        shown: datetime,
        slot: _TruthSlot | None,
        token: int,
        answered_at: datetime,
    ) -> Failed | None:
        from quiz.session.grading import grade_answers

        app = self.quiz_app
        runner = app.wait_for_runner()
        if runner is None:
            return Failed("grading", "the runner did not start")
        truth = slot.truth if slot is not None else None  # its pre-run ran before, on this thread
        verdicts = grade_answers(
            runner,
            app.settings.device,
            app.clock,
            card,
            variant,
            answer,
            shown,
            truth=truth,
            cancelled=lambda: token != self.grading_token,
            answered_at=answered_at,
        )
        for i, answered in enumerate(verdicts):
            if i == 0:
                self.post_message(Graded(answered))
                # The other variants run once the verdict is on screen (the generator waits): a
                # provisional verdict is then seen at once, its refinement follows.
                self._painted.wait(PAINT_WAIT_S)
            else:
                self.post_message(VerdictRefined(token, answered))
        return None

    def _plan_truth(self, card: Card, variant: Variant) -> None:
        """Run the card's truth while the learner reads, unless it ran for this very variant already
        (an answer taken back). Queued after this paint, on the grading thread, before any answer."""
        slot = self._slot_for(card, variant)
        if slot is not None and slot.token == self.truth_token:
            return
        self.truth_token += 1
        slot = self._truth = _TruthSlot(card, variant, self.truth_token)
        if not self.quiz_app.exit_after_first_card:
            self.call_after_refresh(self._queue_truth, slot)

    def _queue_truth(self, slot: _TruthSlot) -> None:
        app = self.quiz_app
        device = app.settings.device

        def stale() -> bool:
            return slot.token != self.truth_token

        def job() -> None:
            if stale():
                return  # the card left before its turn: nothing of it runs
            runner = app.wait_for_runner()
            if runner is None or stale():
                return
            from quiz.session.grading import pre_run

            try:
                slot.truth = pre_run(runner, slot.card, slot.variant, device=device, cancelled=stale)
            except Exception as exc:  # graded as without it
                self.app.log.error(f"pre-run of {slot.card.uid}: {exc}")

        app.run_in_order(job)

    def _slot_for(self, card: Card | None, variant: Variant | None) -> _TruthSlot | None:
        """The pre-run slot if it is this very card and variant's (None: another's, or none)."""
        slot = self._truth
        return slot if slot is not None and slot.card is card and slot.variant is variant else None

    @property
    def truth_ready(self) -> bool:
        """Whether the truth of the card on screen has run already (the bench reports it)."""
        slot = self._slot_for(self.card, self.variant)
        return slot is not None and slot.truth is not None

    def drop_truth(self) -> None:
        """The card leaves the screen unanswered (or answered for good): its pre-run, and any later
        verdict still being found for it, are of no use."""
        self.truth_token += 1
        self.grading_token += 1
        self._truth = None

    def _hold_gc(self) -> None:
        """Keep the cyclic collector out of the stretch from the key to its verdict on screen.

        A collection that came there cost the verdict 3-9 ms (a young one, most answers) or 150-250 ms
        (a full one); held, it runs right after the paint. Released at the paint, a failure, the next
        card, or after HOLD_GC_S at most; never when something else had paused it (start-up)."""
        if self._gc_held is not None or not gc.isenabled():
            return
        gc.disable()
        self._gc_held = self.set_timer(HOLD_GC_S, self._release_gc)

    def _release_gc(self) -> None:
        held, self._gc_held = self._gc_held, None
        if held is not None:
            held.stop()  # this hold's own limit: it must not end a later answer's hold
            gc.enable()

    def _stop_waiting(self) -> None:
        """The answer's verdict is on screen (or will not come): the grading thread goes on with the
        other variants, and the collector runs again."""
        self._painted.set()
        self._release_gc()

    def on_unmount(self) -> None:
        self._stop_waiting()

    def _grading_failed(self, exc: Exception) -> Failed:
        if isinstance(exc, MalformedAnswer):  # not wrong, unreadable: asked again
            return Failed("reading your answer", exc.text(lang_of(self)))
        return Failed("grading", f"{type(exc).__name__}: {exc}")

    @on(Graded)
    async def show_verdict(self, message: Graded) -> None:
        if self.card is None or message.answered.card.uid != self.card.uid or self.phase != "running":
            self._painted.set()  # its grading need not wait for a paint that will not come
            return  # a verdict for a card no longer on screen (undo, bury)
        mounting = self._mount_extras()  # normally long done
        if mounting is not None:
            await mounting
        self.answered = message.answered
        self.verdict_painted_at = None
        self.suggested = self.verdict_view.show(message.answered, lapses=self.lapses, on_drawn=self._drawn)
        self.phase = "verdict"
        self._show("#welcome", False)
        self.set_status(self._rating_keys(None))
        # The layout this needs, noted on the screen itself: its widgets note theirs only when they
        # next idle, and a screen that saw nothing pending would run _verdict_painted before the paint.
        self.refresh(layout=True, repaint=False)
        self.call_after_refresh(self._verdict_painted)

    @on(VerdictRefined)
    def verdict_refined(self, message: VerdictRefined) -> None:
        """A code answer's later verdict (all variants, the smallest failing one), in place."""
        answered = self.answered
        if message.token != self.grading_token or self.phase != "verdict" or answered is None:
            return
        if message.answered.card is not answered.card or message.answered.variant is not answered.variant:
            return
        self.answered = message.answered
        self.verdict_view.refine(message.answered)

    def _drawn(self) -> None:
        """The verdict's line is being drawn: note the time once that frame is out (the bench reads it)."""
        import time

        def mark() -> None:
            self.verdict_painted_at = time.perf_counter()

        asyncio.get_running_loop().call_soon(mark)

    def _rating_keys(self, previews: tuple[IntervalPreview, ...] | None) -> Text:
        """`1 Again <1m · 2 Hard 6m · 3 Good 4d · 4 Easy 9d · Enter: 3 Good`: each key with when the
        card would come back (once the previews are in), the suggestion marked."""
        from quiz.core.previews import RATING_NAMES, format_interval

        out = Text()
        names = {rating: self.say(f"rating.{rating}") for rating in RATING_NAMES}
        for rating, name in names.items():
            if rating > 1:
                out.append(" · ", style="dim")
            style = "bold" if rating == self.suggested else ""
            out.append(f"{rating} {name}", style=style)
            if previews is not None:
                out.append(f" {format_interval(previews[rating - 1].interval)}", style="cyan")
        if self.suggested is not None:
            out.append(f" · Enter: {self.suggested} {names[self.suggested]}", style="dim")
        return out

    @on(PreviewsReady)
    def previews_ready(self, message: PreviewsReady) -> None:
        if self.phase == "verdict" and self.card is not None and self.card.uid == message.card_uid:
            self.previews = message.previews
            self.set_status(self._rating_keys(message.previews))

    def _verdict_painted(self) -> None:
        """After the refresh that painted the verdict: what follows it, one turn of the event loop
        later. The screen runs its after-refresh callbacks before it yields, so work done here (a
        scroll, two workers started, the collector's held-back collection, the grading thread woken)
        came before anything else could see the frame was out: 15-20 ms on a right code answer."""
        asyncio.get_running_loop().call_soon(self._after_verdict)

    def _after_verdict(self) -> None:
        self._stop_waiting()
        if self.phase in ("verdict", "saving") and self.box.has_focus_within:
            self.set_focus(None)  # the hidden form's (watch_phase): keys go to the screen's bindings
        if self.phase != "verdict":
            return  # rated (or taken back) already
        # The verdict at the top of the view: the truth and the rating first, the comparison below.
        self.query_one("#card-scroll", VerticalScroll).scroll_to_widget(
            self.verdict_view, animate=False, top=True
        )
        if self.answered is not None:
            self.preview(self.answered.card)
            self.compare_token += 1
            self.compare(self.compare_token, self.answered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="previews")
    def preview(self, card: Card) -> None:
        """Once the verdict is painted (so it costs the verdict nothing): what each rating key would
        schedule, from the real scheduler."""
        study = self.study or self.quiz_app.study
        if study is None:
            return
        try:
            self.post_message(PreviewsReady(card.uid, study.interval_previews(card)))
        except Exception as exc:  # a nicety: the keys work without it
            self.app.log.error(f"interval previews: {exc}")

    # --- the family on the other backends ---------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="compare")
    def compare(self, token: int, answered: Answered) -> None:
        """After the verdict: run the card's family on the other backends, one panel at a time."""
        from quiz.core.grading import RunResult

        app = self.quiz_app
        if app.wait_for_study() is None:
            return
        study = self.study or app.study
        if study is None:
            return
        siblings = study.siblings(answered.card)
        if not siblings:
            return
        notes = {}
        for s in siblings:
            state = study.runner.state(s.backend.value)
            notes[s.backend.value] = (
                self.say("siblings.running")
                if state == "ready"
                else self.say("siblings.starting", backend=s.backend.value)
            )
        study.runner.prestart([s.backend.value for s in siblings])
        self.post_message(SiblingsFound(token, siblings, notes))
        worker = get_current_worker()
        for s in siblings:
            if worker.is_cancelled or token != self.compare_token:
                return
            try:
                variant, same = study.sibling_variant(s, answered.variant, answered.card)
                result = study.run(s, variant)
            except Exception as exc:
                variant, same = answered.variant, False
                result = RunResult(ok=False, error=f"{type(exc).__name__}: {exc}", backend=s.backend.value)
            self.post_message(SiblingRan(token, s, variant, same, result))

    @on(SiblingsFound)
    async def siblings_found(self, message: SiblingsFound) -> None:
        if message.token == self.compare_token and self.answered is not None:
            await self.verdict_view.show_siblings(self.answered, message.siblings, message.notes)

    @on(SiblingRan)
    def sibling_ran(self, message: SiblingRan) -> None:
        if message.token == self.compare_token:
            self.verdict_view.show_sibling(message.card, message.variant, message.same_values, message.result)

    # --- rating ------------------------------------------------------------------------

    def action_accept(self) -> None:
        if self.phase == "done":
            self.action_home()
        elif self.suggested is not None:
            self.action_rate(self.suggested)
        else:
            self.set_status(Text(self.say("study.pick_rating"), style="yellow"))

    def action_rate(self, rating: int) -> None:
        if self.phase != "verdict" or self.answered is None:
            return
        self.phase = "saving"
        self.compare_token += 1  # the comparison of this card is over
        self.drop_truth()
        self.set_status(Text(self.say("study.saving"), style="dim"))
        self.save_and_next(self.answered, rating)

    @work(thread=True, exclusive=True, exit_on_error=False, group="next")
    def save_and_next(self, answered: Answered, rating: int) -> None:
        if self.quiz_app.wait_for_study() is None:
            self.post_message(Failed("saving your review", "the study session did not finish loading"))
            return
        study = self.study
        assert study is not None
        from quiz.store.db import DiskFull

        try:
            before = study.memory(answered.card)
            _, after = study.rate(answered, rating)
        except DiskFull as exc:
            self.post_message(Failed("saving your review", str(exc), line=str(exc)))
            return
        except Exception as exc:
            self.post_message(Failed("saving your review", f"{type(exc).__name__}: {exc}"))
            return
        leech = study.is_leech(after) and after.lapses > before.lapses
        self.post_message(Rated(answered, rating, before.reps == 0, leech, after.lapses))
        self._post_next()

    @on(Rated)
    def rated(self, message: Rated) -> None:
        from quiz.core.stats import SessionRecord

        a = message.answered
        self.reviewed += 1
        self.records.append(
            SessionRecord(
                a.card.uid,
                a.card.backend.value,
                a.verdict.correct,
                message.rating,
                a.response_ms,
                was_new=message.was_new,
                leech=message.leech,
            )
        )
        if message.leech:
            self.notify(
                self.say("study.leech_note", card=a.card.uid, lapses=message.lapses),
                title=self.say("study.leech_title"),
                severity="warning",
                timeout=10,
            )
        self.update_topbar()

    # --- undo, bury, suspend -----------------------------------------------------------------

    def action_undo(self) -> None:
        if self.phase not in ("question", "verdict", "done"):
            return
        if self.phase == "verdict" and self.answered is not None and self.card is not None:
            self._take_back_answer()
            return
        study = self.study
        if study is None:
            self.set_status(Text(self.say("study.undo_loading"), style="yellow"))
            return
        if not study.undo_steps:
            self.set_status(Text(self.say("study.undo_nothing"), style="yellow"), style="-warning")
            return
        self.phase = "saving"
        self.drop_truth()
        self.set_status(Text(self.say("study.undoing"), style="dim"))
        self.undo_worker()

    def _take_back_answer(self) -> None:
        """Ctrl+Z on the verdict: this answer (not rated, so not saved) comes back to change or confirm,
        on the same variant. The card answered before stays as it is (a second Ctrl+Z takes it back)."""
        answered = self.answered
        assert answered is not None
        self.compare_token += 1  # its comparison is over
        self.notify(f"Took back your answer to {answered.card.uid} (nothing was saved).", timeout=4)
        self.show_card(CardReady(answered.card, answered.variant, lapses=self.lapses, typed=answered.answer))

    @work(thread=True, exclusive=True, exit_on_error=False, group="next")
    def undo_worker(self) -> None:
        study = self.study
        assert study is not None
        try:
            undone = study.undo()
        except Exception as exc:
            self.post_message(Failed("undoing", f"{exc}"))
            return
        self.post_message(Undid(undone))

    @on(Undid)
    def undid(self, message: Undid) -> None:
        undone = message.undone
        if undone is None or undone.card is None:
            self.load_next()
            return
        card = undone.card
        if undone.kind == "review":
            self.reviewed = max(0, self.reviewed - 1)
            if self.records and self.records[-1].card_uid == card.uid:
                self.records.pop()
            self.notify(self.say("study.undid_review", card=card.uid), timeout=4)
        else:
            self.notify(self.say("study.undid_other", card=card.uid, kind=undone.kind), timeout=4)
        variant = undone.variant
        if variant is None:
            assert self.study is not None
            variant = self.study.prepare(card)
        self.update_topbar()
        self.show_card(CardReady(card, variant, typed=undone.answer))

    def action_bury(self) -> None:
        self._set_aside("bury")

    def action_suspend(self) -> None:
        self._set_aside("suspend")

    def _set_aside(self, how: str) -> None:
        if self.study is None or self.card is None or self.phase not in ("question", "verdict"):
            return
        self.phase = "saving"
        self.drop_truth()
        self.set_aside_worker(self.card, how)

    @work(thread=True, exclusive=True, exit_on_error=False, group="next")
    def set_aside_worker(self, card: Card, how: str) -> None:
        study = self.study
        assert study is not None
        try:
            until = study.bury(card) if how == "bury" else None
            if how == "suspend":
                study.suspend(card)
        except Exception as exc:
            self.post_message(Failed(f"{how}ing the card", f"{exc}"))
            return
        self.post_message(SetAside(card, how, until))
        self._post_next()

    @on(SetAside)
    def set_aside(self, message: SetAside) -> None:
        key = "study.buried" if message.how == "bury" else "study.suspended"
        self.notify(self.say(key, card=message.card.uid), timeout=5)

    # --- leaving ------------------------------------------------------------------------

    def action_home(self) -> None:
        self.drop_truth()
        if self.records:
            from quiz.core.stats import session_summary

            s = session_summary(self.records)
            self.notify(self.say("study.left", reviewed=s.reviewed, correct=s.answers.correct), timeout=4)
        self.quiz_app.go_home()

    def load_failed(self, error: str) -> None:
        """The session never came (quiz.tui.app's loading failed): no card to wait for."""
        if self.is_attached and self.study is None:
            self.box.set_locked(True)
            self.set_status(
                Text(f"Problem while loading: {error} · Ctrl+Q quits", style="bold red"), style="-error"
            )

    @on(Failed)
    def show_failure(self, message: Failed) -> None:
        message.stop()  # shown here; the app would show it a second time
        self._stop_waiting()
        self.app.log.error(f"{message.what}: {message.error}")
        # `what` is English ("grading"); the catalog has the usual ones as "study.while.<what>".
        what = (
            self.say(f"study.while.{message.what}") if known(f"study.while.{message.what}") else message.what
        )
        problem = message.line or self.say("study.problem", what=what, error=message.error)
        self.notify(problem, severity="error", timeout=10, markup=False)
        if self.phase == "running":
            self.phase = "question"
        elif self.phase == "saving":
            self.phase = "verdict" if self.answered is not None else "question"
        self.set_status(Text(problem, style="bold red"), style="-error")
