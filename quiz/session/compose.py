"""The composition root: a study session built from the settings — runner, database, deck library, schedule.

The TUI (study and exam), the tests and the benchmarks build the same thing the same way through here;
the app only decides when (in a thread, after the first paint) and shows what comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.decks import Library
    from quiz.library import TrustRequest
    from quiz.runner.client import Runner
    from quiz.session.study import Study
    from quiz.store.db import Store

__all__ = ["Opened", "StudyFactory", "build_study", "has_history", "make_runner", "open_study"]

# build_study's signature: tests pass their own (a seeded rng, a pinned runner) to the app.
StudyFactory = Callable[..., "Study"]


def make_runner(settings: Settings) -> Runner:
    """The sandboxed workers for these settings, logging where quiz logs."""
    from quiz import paths
    from quiz.runner.client import Runner

    return Runner.for_settings(settings, log_dir=paths.log_dir())


def build_study(
    settings: Settings,
    deck: str | None,
    *,
    runner: Runner | None = None,
    library: Library | None = None,
    clock: Callable[[], datetime] | None = None,
    store: Store | None = None,
) -> Study:
    """The real thing: the deck library, the configured database (migrated to head), warm workers.

    `store`: the database already open (the app opens it once); else it is opened here, before the
    library, whose trust pins are read through it. An unknown `deck` raises LookupError naming the
    decks there are.
    """
    from quiz.library import load
    from quiz.session.study import Study
    from quiz.store.db import open_store

    own_store = store is None
    store = store or open_store(settings.db_url)
    try:
        if library is None:
            library = load(settings, store=store).library
        deck_ids = None
        if deck:
            known = {d.id for d in library.decks}
            if deck not in known:
                raise LookupError(f"no deck {deck!r}; decks: {', '.join(sorted(known))}")
            deck_ids = [deck]
    except BaseException:
        if own_store:
            store.dispose()
        raise
    if runner is None:
        runner = make_runner(settings)
    study = Study(settings=settings, library=library, store=store, runner=runner, deck_ids=deck_ids)
    if clock is not None:
        study.clock = clock
    study.sync()
    return study


@dataclass
class Opened:
    """A study session ready to use, with what the app shows about how it was opened."""

    study: Study
    first_run: bool  # nothing answered yet, ever: the app welcomes the learner
    fingerprint: str | None  # the deck library's, when it was read here (None: it was passed in)
    pending: list[TrustRequest] = field(default_factory=list)  # added decks waiting for trust
    adopted: Settings | None = None  # the settings taken from the database (no settings file here)


def open_study(
    settings: Settings,
    deck: str | None,
    *,
    runner: Runner,
    clock: Callable[[], datetime],
    store: Store | None = None,
    library: Library | None = None,
    factory: StudyFactory = build_study,
) -> Opened:
    """Open the database (or reuse `store`), read the deck library through it (its trust pins) unless
    given, build the study with `factory`, and adopt the settings saved in the database on a machine
    without the settings file. A store opened here is closed again if anything fails."""
    from quiz import library as L
    from quiz.session.saved_settings import adopt_saved_settings
    from quiz.store.db import open_store

    own_store = store is None
    store = store if store is not None else open_store(settings.db_url)
    fingerprint: str | None = None
    pending: list[TrustRequest] = []
    try:
        if library is None:
            contents = L.load(settings, store=store)
            library, fingerprint, pending = contents.library, contents.fingerprint, contents.pending
        study = factory(settings, deck, runner=runner, library=library, clock=clock, store=store)
    except BaseException:
        if own_store:
            store.dispose()
        raise
    first_run = not has_history(study)
    adopted = adopt_saved_settings(study, settings)
    if adopted is not None:
        study = study.with_settings(adopted)
    return Opened(study, first_run, fingerprint, pending, adopted)


def has_history(study: Study) -> bool:
    """Whether this profile has answered anything, ever."""
    from quiz.store.repo import has_reviews

    with study.store.session() as s:
        return has_reviews(s, study.profile)
