"""The Textual app: wiring only. Paints the first card at once, loads the study session in a thread.

Start-up: if the previous session left a prepared start that still matches
the database (quiz.prepared), its first card is shown immediately; the deck
library comes from its cache. The database layer (SQLAlchemy, migrations),
the schedule and the first backend worker load in a thread meanwhile, and
the card is confirmed against the real schedule before anything is saved.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App

from quiz.tui.messages import Failed, StudyReady
from quiz.tui.screens.study import StudyScreen

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.decks import Library
    from quiz.runner.client import Runner
    from quiz.study import Study

log = logging.getLogger("quiz.tui")


def _utcnow() -> datetime:
    from quiz.study import utcnow

    return utcnow()


class QuizApp(App[int]):
    """`study_factory(settings, deck, runner, library)` builds the Study; tests pass their own."""

    CSS_PATH = "app.tcss"
    TITLE = "quiz"

    def __init__(
        self,
        settings: Settings,
        *,
        deck: str | None = None,
        study_factory: Callable[..., Study] | None = None,
        clock: Callable[[], datetime] = _utcnow,
        use_prepared_start: bool = True,
        exit_after_first_card: bool = False,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.deck = deck
        self.study_factory = study_factory or build_study
        self.clock = clock
        self.use_prepared_start = use_prepared_start
        self.exit_after_first_card = exit_after_first_card
        self.runner: Runner | None = None  # made by the loading thread, off the first paint's path
        self.study: Study | None = None
        self.study_ready = threading.Event()
        self.runner_ready = threading.Event()
        self.library: Library | None = None
        self.fingerprint: str | None = None
        self.study_screen = StudyScreen()

    def on_mount(self) -> None:
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        if self.use_prepared_start:
            self._try_prepared_start()
        self.push_screen(self.study_screen)
        if self.study_screen.prepared is None:
            self.load()
        # else: the screen starts loading once the prepared card is on screen, so the
        # database layer's imports don't compete with the first paint for the GIL.

    def _try_prepared_start(self) -> None:
        from quiz.prepared import first_card

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
        from quiz.runner.client import Runner

        if self.runner is None:
            self.runner = Runner(device=self.settings.device, log_dir=_log_dir())
        self.runner_ready.set()
        first = self.study_screen.card
        if first is not None:  # the prepared card is on screen: warm its backend first
            self.runner.prestart([first.backend.value])
        try:
            study = self.study_factory(self.settings, self.deck, runner=self.runner, library=self.library)
        except Exception as exc:
            log.exception("loading failed")
            self.post_message(Failed("loading", f"{exc}"))
            return
        if self.fingerprint is None:
            from quiz.library_cache import library_fingerprint
            from quiz.prepared import deck_search_path

            self.fingerprint = library_fingerprint(deck_search_path(self.settings))
        problems = [str(p) for p in study.library.problems]
        self.post_message(StudyReady(study, problems))

    @on(StudyReady)
    def ready(self, message: StudyReady) -> None:
        self.study = message.study
        self.study_ready.set()
        if message.problems:
            self.notify(
                f"{len(message.problems)} problem(s) in deck files; those cards were skipped "
                "(run `quiz decks` for file, line and card).",
                severity="warning",
                timeout=8,
            )
            for p in message.problems:
                log.warning("deck problem: %s", p)
        self.study_screen.start(message.study)

    @on(Failed)
    def failed(self, message: Failed) -> None:
        self.notify(f"Problem while {message.what}: {message.error}", severity="error", timeout=30)
        self.study_screen.set_status(f"Problem while {message.what}: {message.error}")

    def on_unmount(self) -> None:
        if self.runner is not None:
            self.runner.close()
        study = self.study
        if study is None:
            return
        if self.exit_after_first_card:
            study.store.dispose()
            return
        try:
            from quiz.prepared import save_next_start

            save_next_start(study, self.fingerprint or "")
        except Exception:
            log.exception("could not prepare the next start")
            study.store.dispose()


def _log_dir() -> Any:
    from quiz import paths

    return paths.log_dir()


def build_study(
    settings: Settings, deck: str | None, *, runner: Runner | None = None, library: Library | None = None
) -> Study:
    """The real thing: the deck library, the configured database (migrated to head), warm workers."""
    from quiz import paths
    from quiz.runner.client import Runner
    from quiz.store.db import open_store
    from quiz.study import Study, load_decks

    if library is None:
        library = load_decks(settings)
    deck_ids = None
    if deck:
        known = {d.id for d in library.decks}
        if deck not in known:
            raise LookupError(f"no deck {deck!r}; decks: {', '.join(sorted(known))}")
        deck_ids = [deck]
    store = open_store(settings.db_url)
    if runner is None:
        runner = Runner(device=settings.device, log_dir=paths.log_dir())
    study = Study(settings=settings, library=library, store=store, runner=runner, deck_ids=deck_ids)
    study.sync()
    return study


def run_app(settings: Settings, deck: str | None = None) -> int:
    from quiz import paths

    logging.basicConfig(
        filename=paths.log_dir() / "quiz.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # QUIZ_HEADLESS / QUIZ_EXIT_AFTER_FIRST_CARD: scripts/bench.py times the real start-up with them.
    app = QuizApp(
        settings, deck=deck, exit_after_first_card=os.environ.get("QUIZ_EXIT_AFTER_FIRST_CARD") == "1"
    )
    result = app.run(headless=os.environ.get("QUIZ_HEADLESS") == "1")
    return result or 0
