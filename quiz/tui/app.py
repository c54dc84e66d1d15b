"""The Textual app: wiring only. Loads decks, database and runner in a thread, then studies."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App

from quiz.tui.messages import Failed, StudyReady
from quiz.tui.screens.study import StudyScreen

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.study import Study

log = logging.getLogger("quiz.tui")


class QuizApp(App[int]):
    """`study_factory` builds the Study (tests pass one with a fixed clock and seeds)."""

    CSS_PATH = "app.tcss"
    TITLE = "quiz"

    def __init__(
        self,
        settings: Settings,
        *,
        deck: str | None = None,
        study_factory: Callable[[Settings, str | None], Study] | None = None,
        exit_after_first_card: bool = False,
    ) -> None:
        super().__init__()
        self.exit_after_first_card = exit_after_first_card
        self.settings = settings
        self.deck = deck
        self.study_factory = study_factory or build_study
        self.study: Study | None = None
        self.study_screen = StudyScreen()

    def on_mount(self) -> None:
        self.theme = self.settings.theme if self.settings.theme in self.available_themes else "textual-dark"
        self.push_screen(self.study_screen)
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self) -> None:
        try:
            study = self.study_factory(self.settings, self.deck)
        except Exception as exc:
            self.post_message(Failed("loading", f"{exc}"))
            return
        problems = [str(p) for p in study.library.problems]
        self.post_message(StudyReady(study, problems))

    @on(StudyReady)
    def ready(self, message: StudyReady) -> None:
        self.study = message.study
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
        if self.study is not None:
            self.study.runner.close()
            self.study.store.dispose()


def build_study(settings: Settings, deck: str | None) -> Study:
    """The real thing: built-in decks, the configured database, warm workers."""
    from quiz import paths
    from quiz.runner.client import Runner
    from quiz.store.db import open_store
    from quiz.study import Study, load_decks

    library = load_decks(settings)
    deck_ids = None
    if deck:
        known = {d.id for d in library.decks}
        if deck not in known:
            raise LookupError(f"no deck {deck!r}; decks: {', '.join(sorted(known))}")
        deck_ids = [deck]
    store = open_store(settings.db_url)
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
    app = QuizApp(settings, deck=deck, exit_after_first_card=os.environ.get("QUIZ_EXIT_AFTER_FIRST_CARD") == "1")
    result = app.run(headless=os.environ.get("QUIZ_HEADLESS") == "1")
    return result or 0
