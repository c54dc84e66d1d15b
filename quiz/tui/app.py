"""The Textual app: wiring only. Paints the first card at once, loads the study session in a thread.

Start-up: if the previous session left a prepared start that still matches
the database (quiz.session.prepared), its first card is shown immediately; the deck
library comes from its cache. The database layer (SQLAlchemy, migrations),
the schedule and the first backend worker load in a thread meanwhile, and
the card is confirmed against the real schedule before anything is saved.

`quiz` opens on the day's first card; Home (decks, progress, exam,
statistics, settings) is one key away (Esc). When there is nothing to study
Home opens by itself. Every screen other than study is imported when first
opened, so none of them costs start-up time.
"""

from __future__ import annotations

import concurrent.futures
import gc
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel

from quiz.core.text import visible
from quiz.tui.messages import Failed, StudyReady
from quiz.tui.screens.study import StudyScreen

if TYPE_CHECKING:
    from rich.console import RenderableType

    from quiz.config import Settings
    from quiz.core.decks import Library
    from quiz.core.exam import ExamConfig
    from quiz.core.queue import StudyScope
    from quiz.library import TrustRequest
    from quiz.runner.client import Runner
    from quiz.session.compose import StudyFactory
    from quiz.session.study import Study
    from quiz.tui.base import QuizAppAPI

log = logging.getLogger("quiz.tui")

WELCOME = (
    "[b]Welcome![/b] {cards} cards in {decks} decks are ready. Predict, press Enter, and see what the "
    "real frameworks do. [dim]Esc: Home (decks, exam, statistics, settings) · F1: help[/dim]"
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class QuizStopped(Exception):
    """An unexpected error stopped quiz: shown as one line when the app has closed (Textual prints an
    error with a `__rich__` as it renders; the traceback is in the log)."""

    def __init__(self, error: Exception, log_file: Path) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.log_file = log_file

    def __rich__(self) -> Text:
        return Text(f"quiz stopped after an unexpected error ({self}); details in {self.log_file}")


class QuizApp(App[int]):
    """`study_factory(settings, deck, runner=, library=, clock=)` builds the Study; tests pass their own.

    `exam`: start straight into an exam with these options (`quiz exam`), writing its
    Markdown report to `report_path` at the end. `runner`: share a warm runner (tests);
    the app closes only a runner it made.
    """

    CSS_PATH = "app.tcss"
    TITLE = "quiz"
    ENABLE_COMMAND_PALETTE = False  # the footer's keys and F1 say it all; Ctrl+P stays free
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        deck: str | None = None,
        study_factory: StudyFactory | None = None,
        clock: Callable[[], datetime] = _utcnow,
        use_prepared_start: bool = True,
        exit_after_first_card: bool = False,
        runner: Runner | None = None,
        exam: ExamConfig | None = None,
        report_path: Path | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.deck = deck
        # None: the real one (quiz.session.compose.build_study), imported by the loading thread.
        self.study_factory = study_factory
        self.clock = clock
        self.use_prepared_start = use_prepared_start
        self.exit_after_first_card = exit_after_first_card
        self.runner: Runner | None = runner  # made by the loading thread, off the first paint's path
        self.owns_runner = runner is None
        self.study: Study | None = None
        # Set once the study session is loaded, or once it never will be (load_error, the app quit):
        # worker threads wait on them through wait_for_study / wait_for_runner.
        self._study_ready = threading.Event()
        self.trust_checked = False
        self._runner_ready = threading.Event()
        self.library: Library | None = None
        # Set once the app is on its way out: screens stop mounting widgets (Textual keeps its own
        # flag private).
        self.exiting = False
        self.fingerprint: str | None = None
        self.trust_requests: list[TrustRequest] = []  # added decks waiting for trust, read with the library
        self.exam_config = exam
        self.report_path = report_path
        self.first_run = False
        self.errors: list[str] = []  # unexpected errors shown as messages (see run_action)
        # Why loading failed (None: it did not). The waits end then too, so nothing waits forever.
        self.load_error: str | None = None
        # "partial isolation: install bubblewrap…" for the screens' top bars; None when full (see _load).
        self.isolation_header: str | None = None
        self.study_screen = StudyScreen()
        # One long-lived thread grades answers, one at a time, in order (run_in_order).
        self._grader = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="quiz-grader")
        # The cyclic GC paused for start-up by `quiz study` (quiz.cli.main; see run_app): resumed once
        # loading starts, which is after the first paint when a prepared card is shown.
        self.resume_gc = False

    # --- what the screens wait for (quiz.tui.base.QuizAppAPI) ---------------------------------

    def wait_for_study(self, timeout: float = 300) -> Study | None:
        """From a worker thread: the study session once loaded; None if loading failed, the app quit or
        `timeout` seconds passed."""
        if not self._study_ready.wait(timeout):
            return None
        return self.study

    def wait_for_runner(self, timeout: float = 300) -> Runner | None:
        """From a worker thread: the runner once made; None if it was not (loading failed, the app quit)."""
        if not self._runner_ready.wait(timeout):
            return None
        return self.runner

    def run_in_order(self, job: Callable[[], None]) -> None:
        """Run `job` on the grading thread, after every job handed to it before (see QuizScreen.in_background)."""
        self._grader.submit(job)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Notifications carry errors and card ids (deck and run text): always plain text, controls visible."""
        super().notify(
            visible(message), title=visible(title), severity=severity, timeout=timeout, markup=False
        )

    def on_mount(self) -> None:
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        if self.exam_config is not None:
            from quiz.tui.screens.exam import ExamScreen

            self.push_screen(ExamScreen(self.exam_config, report_path=self.report_path))
            self.load()
            return
        if self.use_prepared_start:
            self._try_prepared_start()
        self.push_screen(self.study_screen)
        if self.study_screen.prepared is None:
            self.load()
        # else: the screen starts loading once the prepared card is on screen, so the
        # database layer's imports don't compete with the first paint for the GIL.

    def _try_prepared_start(self) -> None:
        from quiz.session.prepared import first_card

        try:
            first = first_card(self.settings, self.deck, self.clock())
        except Exception as exc:  # a bad cache only costs speed
            log.warning("prepared start unusable: %s", exc)
            return
        if first is not None:
            self.fingerprint = first.fingerprint
        self.study_screen.prepared = first  # painted as soon as the screen is mounted

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self) -> None:
        self.startup_done()
        try:
            self._load()
        except Exception as exc:  # anything: the learner sees it, the log has the traceback
            log.exception("loading failed")
            self.post_message(Failed("loading", f"{type(exc).__name__}: {exc}"))

    def _load(self) -> None:
        from quiz import library as L
        from quiz.runner.isolation import header_notice
        from quiz.session.compose import build_study, make_runner, open_study

        if self.runner is None:
            self.runner = make_runner(self.settings)
        self.isolation_header = header_notice(self.runner.sandbox())
        self._runner_ready.set()
        first = self.study_screen.card
        if first is not None:  # the prepared card is on screen: warm its backend first
            self.runner.prestart(list(first.backends))
            self.watch_warmup(list(first.backends))
        # The one database connection of this app: the library reads the trust pins through it, the
        # study keeps it (a reload after trusting a deck reuses it). Imported only now: SQLAlchemy
        # takes a second to import, and the first card's worker must start first.
        opened = open_study(
            self.settings,
            self.deck,
            runner=self.runner,
            clock=self.clock,
            store=self.study.store if self.study is not None else None,
            library=self.library,
            factory=self.study_factory or build_study,
        )
        study = opened.study
        if opened.fingerprint is not None:
            self.fingerprint = opened.fingerprint
            self.trust_requests = opened.pending
        if opened.adopted is not None:
            self.call_from_thread(self.apply_settings, opened.adopted, None)
        if self.fingerprint is None:
            self.fingerprint = L.fingerprint(self.settings)
        # A deck about to be asked about is shown by the trust screen (with its own problems): a
        # warning about it as well covered that screen's buttons.
        asked: set[str] = set() if self.trust_checked else {str(r.path) for r in self.trust_requests}
        problems = [str(p) for p in study.library.problems if p.path not in asked]
        self.post_message(StudyReady(study, problems, opened.first_run))

    def startup_done(self) -> None:
        """Resume the cyclic GC paused for start-up: one young collection frees start-up's garbage (the
        collector would make it at the next allocations anyway), and what is left is frozen: the
        modules, classes and styles live as long as the app, so no collection needs to walk them again."""
        if self.resume_gc:
            self.resume_gc = False
            if not gc.isenabled():
                gc.collect(1)
                gc.freeze()
                gc.enable()

    @work(thread=True, exit_on_error=False, group="warmup")
    def watch_warmup(self, backends: list[str]) -> None:
        """Wait for workers that are starting, so their state says "ready" as soon as they are."""
        runner = self.runner
        if runner is None:
            return
        for backend in backends:
            if runner.state(backend) == "starting":
                try:
                    runner.worker(backend).wait_ready(runner.start_timeout)
                except Exception as exc:  # shown when a card of it runs; here only noted
                    log.warning("%s did not start: %s", backend, exc)

    @on(StudyReady)
    def ready(self, message: StudyReady) -> None:
        self.study = message.study
        settle_heap()
        self.first_run = message.first_run
        self._study_ready.set()
        if message.problems:
            self.notify(
                f"{len(message.problems)} problem(s) in deck files; those cards were skipped "
                "(run `quiz decks` for file, line and card).",
                severity="warning",
                timeout=8,
            )
            for p in message.problems:
                log.warning("deck problem: %s", p)
        if self.exam_config is not None:
            return  # the exam screen waits for the study itself
        welcome = None
        if message.first_run:
            lib = self.study.library
            welcome = WELCOME.format(cards=len(lib.cards()), decks=len(lib.decks))
        if self.study_screen.is_attached:
            self.study_screen.start(self.study, welcome=welcome)
        if not self.trust_checked:
            self.trust_checked = True
            self.ask_trust(self.trust_requests)

    # --- decks added from outside: ask for trust (quiz.library) -----------------

    def ask_trust(self, requests: list[TrustRequest]) -> None:
        """Show each added deck that waits for trust (read with the library), one after the other."""
        from quiz.tui.screens.trust import TrustScreen

        if not requests:
            return
        request, rest = requests[0], requests[1:]

        def answered(trusted: bool | None) -> None:
            if trusted:
                self.pin_trust(request)
            else:
                self.notify(
                    f"Deck {request.deck_id!r} stays out until you trust it (`quiz deck trust {request.deck_id}`).",
                    timeout=8,
                    markup=False,
                )
            self.ask_trust(rest)

        self.push_screen(TrustScreen(request), answered)

    @work(thread=True, exit_on_error=False, group="trust-pin")
    def pin_trust(self, request: TrustRequest) -> None:
        from quiz.library import trust_request

        study = self.study
        assert study is not None
        try:
            trust_request(study.store, self.settings.profile, request)
        except Exception as exc:
            log.exception("trusting a deck failed")
            self.post_message(Failed("trusting the deck", f"{exc}"))
            return
        self.call_from_thread(
            self.notify,
            f"Deck {request.deck_id!r} trusted: its cards join your library.",
            timeout=6,
            markup=False,
        )
        self.library = None  # reload the library with the deck in it
        self.call_from_thread(self.load)

    @on(Failed)
    def failed(self, message: Failed) -> None:
        if message.what == "loading" and self.study is None:
            # Nothing will come: every screen waiting for the session stops waiting and says so.
            self.load_error = message.error
            self._runner_ready.set()
            self._study_ready.set()
            for screen in self.screen_stack:
                gave_up = getattr(screen, "load_failed", None)
                if gave_up is not None:
                    gave_up(message.error)
            self.notify(f"Problem while {message.what}: {message.error}", severity="error", timeout=30)
            return
        self.notify(f"Problem while {message.what}: {message.error}", severity="error", timeout=30)
        if self.study_screen.is_attached:
            self.study_screen.set_status(f"Problem while {message.what}: {message.error}")

    # --- navigation -------------------------------------------------------------------------

    def go_home(self) -> None:
        """Show Home: back down the stack if it is there, else in place of the current screen."""
        from quiz.tui.screens.home import HomeScreen

        if any(isinstance(s, HomeScreen) for s in self.screen_stack):
            while not isinstance(self.screen, HomeScreen):
                self.pop_screen()
            return
        self.switch_screen(HomeScreen())

    def start_study(self, deck_ids: list[str] | None) -> None:
        """A study session over `deck_ids` (None: all decks), on top of Home."""
        if self.study is None:
            self.notify("Still loading the schedule; a moment…", timeout=3)
            return
        self.study_screen = StudyScreen(self.study.with_decks(deck_ids))
        self.push_screen(self.study_screen)

    def open_custom_study(self) -> None:
        """Custom study (`c` from Home): a session over a tag, backend, deck or section."""
        from quiz.tui.screens.custom_study import CustomStudyScreen

        if self.study is None:
            self.notify("Still loading the schedule; a moment…", timeout=3)
            return
        study = self.study

        def chosen(scope: StudyScope | None) -> None:
            if scope is not None:
                self.study_screen = StudyScreen(study.with_decks(None).with_scope(scope))
                self.push_screen(self.study_screen)

        self.push_screen(CustomStudyScreen(study), chosen)

    def open_browser(self, query: str = "") -> None:
        """The card browser (`b` from Home), its search box holding `query`."""
        from quiz.tui.screens.browser import BrowserScreen

        self.push_screen(BrowserScreen(query))

    def open_stats(self) -> None:
        from quiz.tui.screens.stats import StatsScreen

        self.push_screen(StatsScreen())

    def open_exam_setup(self) -> None:
        from quiz.tui.screens.exam import ExamScreen
        from quiz.tui.screens.exam_setup import ExamSetupScreen

        def begin(config: ExamConfig | None) -> None:
            if config is not None:
                self.push_screen(ExamScreen(config))

        if self.study is None:
            self.notify("Still loading the decks; a moment…", timeout=3)
            return
        self.push_screen(ExamSetupScreen(self.study), begin)

    def open_settings(self) -> None:
        from quiz.tui.screens.settings import SettingsScreen

        def saved(new: Settings | None) -> None:
            if new is not None:
                self.apply_settings(new, self.study)

        self.push_screen(SettingsScreen(self.settings, self.study), saved)

    def apply_settings(self, new: Settings, study: Study | None) -> None:
        """Settings take effect at once: theme, scheduler, backends, device."""
        self.settings = new
        if new.theme in self.available_themes and new.theme != self.theme:
            self.theme = new.theme
        if study is not None:
            self.study = study.with_settings(new)
        if self.runner is not None:
            self.runner.device = new.device
        for screen in self.screen_stack:
            refresh = getattr(screen, "settings_changed", None)
            if refresh is not None:
                refresh()

    def action_help(self) -> None:
        from quiz.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        self.push_screen(HelpScreen(self.screen))

    # --- errors: a message and a log entry, never a traceback on screen -------------------------

    async def run_action(self, action: Any, default_namespace: Any = None, namespaces: Any = None) -> bool:
        """Every key's action: a failure is shown as a message and logged, and the app goes on."""
        from textual.actions import SkipAction

        try:
            return await super().run_action(action, default_namespace, namespaces)
        except SkipAction:
            raise
        except Exception as error:
            self.report_error(error)
            return True

    def exit(
        self, result: Any = None, return_code: int = 0, message: RenderableType | None = None
    ) -> None:
        self.exiting = True
        super().exit(result, return_code, message)

    def report_error(self, error: Exception) -> None:
        log.error("unexpected error: %s", error, exc_info=error)
        self.errors.append(f"{type(error).__name__}: {error}")
        self.notify(
            f"Something went wrong: {type(error).__name__}: {error}\nDetails in {_log_dir() / 'quiz.log'}",
            title="Unexpected error",
            severity="error",
            timeout=15,
        )

    def _handle_exception(self, error: Exception) -> None:
        # Anywhere else Textual stops the part that failed, so quiz stops too, cleanly: one line on
        # the terminal, the traceback in the log. Textual has no public hook for an error outside an
        # action (a handler, a timer, a callback), so this one override stays; it touches none of
        # Textual's private state: Textual itself sets the return code (1), keeps the error for
        # run_test to raise, and prints an error that renders itself (QuizStopped) through the
        # public App.panic instead of a traceback with locals.
        log.error("unexpected error: %s", error, exc_info=error)
        self.errors.append(f"{type(error).__name__}: {error}")
        self.exiting = True
        stopped = QuizStopped(error, _log_dir() / "quiz.log")
        stopped.__cause__ = error
        super()._handle_exception(stopped)

    def on_unmount(self) -> None:
        self.startup_done()
        # Threads still waiting for the session (a screen's loader, the grader) must not keep the
        # process alive after the app is gone: they see no session and return.
        self._runner_ready.set()
        self._study_ready.set()
        self._grader.shutdown(wait=False, cancel_futures=True)
        if self.runner is not None and self.owns_runner:
            self.runner.close()
        study = self.study
        if study is None:
            return
        if self.exit_after_first_card or self.exam_config is not None:
            study.store.dispose()
            return
        try:
            from quiz.session.prepared import save_next_start

            save_next_start(study, self.fingerprint or "")
        except Exception:
            log.exception("could not prepare the next start")
            study.store.dispose()


def _log_dir() -> Any:
    from quiz import paths

    return paths.log_dir()


def run_app(
    settings: Settings,
    deck: str | None = None,
    *,
    exam: ExamConfig | None = None,
    report_path: Path | None = None,
) -> int:
    from quiz import paths

    logging.basicConfig(
        filename=paths.log_dir() / "quiz.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # QUIZ_HEADLESS / QUIZ_EXIT_AFTER_FIRST_CARD: scripts/bench.py times the real start-up with them.
    app = QuizApp(
        settings,
        deck=deck,
        exit_after_first_card=os.environ.get("QUIZ_EXIT_AFTER_FIRST_CARD") == "1",
        exam=exam,
        report_path=report_path,
    )
    app.resume_gc = not gc.isenabled()  # `quiz study` paused it for start-up (quiz.cli.main)
    result = app.run(headless=os.environ.get("QUIZ_HEADLESS") == "1")
    return app.return_code or result or 0  # 1 after an unexpected error (see _handle_exception)


def settle_heap() -> None:
    """Freeze what the study session loaded (the library, the schedule, the scheduler): it lives as long
    as the app, and the cyclic collector's full collections walked it again and again, 150 to 250 ms
    each on this app, and twice in forty answers one came between a key and its verdict. One young
    collection first frees what loading left (the collector would make it at the next allocations)."""
    if gc.isenabled():
        gc.collect(1)
        gc.freeze()


if TYPE_CHECKING:

    def _screens_can_use(app: QuizApp) -> QuizAppAPI:
        return app  # mypy checks here that QuizApp is all a screen takes it for (quiz.tui.base)
