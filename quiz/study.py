"""A study session: the deck library, the learner's schedule and the runner, wired together.

Shared by the TUI and the command line. It holds no UI; it reads the clock
and draws seeds only through the `clock` and `rng` it is given.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from quiz.core.answers import MalformedAnswer, parse_answer
from quiz.core.cards import Card
from quiz.core.decks import Library, load_library
from quiz.core.grading import RunResult, Verdict, judge
from quiz.core.queue import study_day_start
from quiz.core.scheduling import Memory, make_scheduler, review
from quiz.core.variables import Variant, draw_variant

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.prepared import Prepared
    from quiz.runner.client import Runner
    from quiz.store.db import Store
    from quiz.store.repo import QueueCounts

__all__ = ["Study", "Answered", "load_decks", "utcnow", "MalformedAnswer"]

MAX_SEED = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


def load_decks(settings: Settings, extra: list[str] | None = None) -> Library:
    """The built-in decks, the configured deck folders and `extra` files (parsed once, then cached)."""
    from quiz import paths
    from quiz.library_cache import load_library_cached

    dirs: list[str | Path] = [paths.builtin_decks_dir(), *settings.deck_dirs, *(extra or [])]
    if extra:
        return load_library(dirs)
    return load_library_cached(dirs, paths.cache_dir())


@dataclass
class Answered:
    """A graded answer waiting for its rating."""

    card: Card
    variant: Variant
    answer: str
    verdict: Verdict
    shown_at: datetime
    answered_at: datetime
    response_ms: int


@dataclass
class Study:
    settings: Settings
    library: Library
    store: Store
    runner: Runner
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    deck_ids: list[str] | None = None

    def __post_init__(self) -> None:
        self.scheduler = make_scheduler(self.settings.scheduling())
        self.cards = self.library.by_uid()

    @property
    def profile(self) -> str:
        return self.settings.profile

    def sync(self) -> int:
        """Give every card in the library a place in the schedule."""
        from quiz.store import repo

        with self.store.session() as s:
            return repo.sync_cards(s, self.profile, [(c.uid, c.deck_id) for c in self.library.cards()])

    def next_card(self) -> Card | None:
        from quiz.store import repo

        now = self.clock()
        with self.store.session() as s:
            uid = repo.next_card_uid(
                s,
                self.profile,
                now=now,
                new_limit=self.settings.new_per_day,
                day_start=study_day_start(now, self.settings.scheduling()),
                usable=lambda u: u in self.cards and self.card_selected(self.cards[u]),
                deck_ids=self.deck_ids,
            )
        return self.cards.get(uid) if uid else None

    def card_selected(self, card: Card) -> bool:
        return self.deck_ids is None or card.deck_id in self.deck_ids

    def prepare(self, card: Card, seed: int | None = None) -> Variant:
        """Draw this review's variant (a fresh seed unless one is given)."""
        return draw_variant(card, self.rng.randrange(MAX_SEED) if seed is None else seed)

    def run(self, card: Card, variant: Variant, given: str | None = None) -> RunResult:
        return self.runner.run(card, variant, given=given, device=self.settings.device)

    def grade(self, card: Card, variant: Variant, answer: str, shown_at: datetime) -> Answered:
        """Parse (MalformedAnswer propagates: ask again), run, judge."""
        return grade_answer(self.runner, self.settings.device, self.clock, card, variant, answer, shown_at)

    def memory(self, card: Card) -> Memory:
        from quiz.store import repo

        with self.store.session() as s:
            return repo.memory_of(s, self.profile, card.uid)

    def rate(self, answered: Answered, rating: int) -> tuple[int, Memory]:
        """Schedule the card and commit the review; returns the review id and the new memory."""
        from quiz.store import repo

        if rating not in (1, 2, 3, 4):
            raise ValueError("rating is 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy)")
        now = self.clock()
        v = answered.verdict
        with self.store.session() as s:
            before = repo.memory_of(s, self.profile, answered.card.uid)
            after = review(before, rating, now, self.scheduler)
            review_id = repo.record_review(
                s,
                self.profile,
                repo.ReviewInput(
                    card_uid=answered.card.uid,
                    deck_id=answered.card.deck_id,
                    seed=answered.variant.seed,
                    variables=answered.variant.values_json(),
                    answer_given=answered.answer,
                    expected=v.expected,
                    correct=v.correct,
                    error=v.error,
                    rating=rating,
                    backend=v.backend or answered.card.backend.value,
                    device=v.device or self.settings.device,
                    framework_version=v.version,
                    response_ms=answered.response_ms,
                    run_ms=v.elapsed_ms,
                    shown_at=answered.shown_at,
                    reviewed_at=now,
                ),
                before,
                after,
            )
        return review_id, after

    def next_start(self, library_fingerprint: str, candidates: int = 4) -> Prepared:
        """What the next start needs to paint its first card at once (see quiz.prepared).

        The database stamp is left empty: the caller fills it in once the
        database is closed (closing checkpoints the WAL, which changes the files).
        """
        from quiz.prepared import Prepared, start_key
        from quiz.store import repo

        now = self.clock()
        day_start = study_day_start(now, self.settings.scheduling())
        with self.store.session() as s:
            head = repo.upcoming(s, self.profile, now=now, deck_ids=self.deck_ids)
            introduced = repo.new_introduced_since(s, self.profile, day_start)
        counts = self.counts()
        variants: dict[str, Variant] = {}
        cards: dict[str, Card] = {}
        for uid in [u for _, u in head.due[:candidates]] + head.new[:1]:
            card = self.cards.get(uid)
            if card is None or uid in variants:
                continue
            v = self.prepare(card)
            variants[uid] = v
            cards[uid] = card
        return Prepared(
            key=start_key(self.store.url, self.profile, self.deck_ids, library_fingerprint, self.settings),
            db_stamp=[],
            day_start=day_start.isoformat(),
            new_introduced_today=introduced,
            due=[(d.isoformat(), u) for d, u in head.due],
            due_complete=head.due_complete,
            new=head.new,
            new_complete=head.new_complete,
            variants=variants,
            cards=cards,
            counts={
                "due": counts.due,
                "learning": counts.learning,
                "new": counts.new,
                "reviewed_today": counts.reviewed_today,
            },
        )

    def counts(self) -> QueueCounts:
        from quiz.store import repo

        now = self.clock()
        with self.store.session() as s:
            return repo.queue_counts(
                s,
                self.profile,
                now=now,
                day_start=study_day_start(now, self.settings.scheduling()),
                new_limit=self.settings.new_per_day,
            )


def grade_answer(
    runner: Runner,
    device: str,
    clock: Callable[[], datetime],
    card: Card,
    variant: Variant,
    answer: str,
    shown_at: datetime,
) -> Answered:
    """Parse the answer (MalformedAnswer propagates: ask again), run the variant, judge.

    Needs only the runner: the app can grade its first card before the database layer has loaded.
    """
    parsed = parse_answer(card, answer)
    answered_at = clock()
    started = time.perf_counter()
    result = runner.run(card, variant, given=parsed if card.kind.value == "code" else None, device=device)
    verdict = judge(card, answer, parsed, result)
    if not result.elapsed_ms:
        verdict = _with_elapsed(verdict, (time.perf_counter() - started) * 1000)
    response_ms = int((answered_at - shown_at).total_seconds() * 1000)
    return Answered(card, variant, answer, verdict, shown_at, answered_at, max(0, response_ms))


def _with_elapsed(verdict: Verdict, elapsed_ms: float) -> Verdict:
    from dataclasses import replace

    return replace(verdict, elapsed_ms=elapsed_ms)
