"""A study session: the deck library, the learner's schedule and the runner, wired together.

Shared by the TUI and the command line. It holds no UI; it reads the clock
and draws seeds only through the `clock` and `rng` it is given.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from quiz.core import stats as S
from quiz.core.cards import BACKENDS, Card, Deck
from quiz.core.decks import Library
from quiz.core.expr import ExprError
from quiz.core.grading import RunResult, Verdict
from quiz.core.queue import StudyScope, reviews_left, siblings_to_bury, study_day_start
from quiz.core.scheduling import Memory, make_scheduler, review
from quiz.core.siblings import pinned, shared_values
from quiz.core.variables import (
    NoVariantError,
    Variant,
    build_variant,
    draw_values,
    draw_variant,
    variant_from_values,
)

# Grading lives in quiz.session.grading (shared with the exam and `quiz grade`); these names stay
# importable from here until the rest of this module moves into quiz.session.
from quiz.session.grading import Answered, MalformedAnswer, ParsedAnswer, grade_answer, run_truth

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.previews import IntervalPreview
    from quiz.prepared import Prepared
    from quiz.runner.client import Runner
    from quiz.store.db import Store
    from quiz.store.repo import QueueCounts

__all__ = [
    "Answered",
    "HomeData",
    "MalformedAnswer",
    "ParsedAnswer",
    "StatsData",
    "Study",
    "Undone",
    "grade_answer",
    "shared_values",
    "utcnow",
]

MAX_SEED = 2**31 - 1
# What the learner reads when a rating cannot be saved for want of space (it was not saved; the verdict stays).
DISK_FULL = "the disk is full: your last rating was not saved; free space and rate again"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class UndoStep:
    """One thing the learner did that undo can take back."""

    kind: str  # "review", "bury" or "suspend"
    card_uid: str
    review_id: int | None = None
    previous: Any = None


@dataclass(frozen=True, slots=True)
class Undone:
    """What undo took back; for an answer, the card and variant to ask again and what was typed."""

    kind: str
    card: Card | None
    variant: Variant | None = None
    answer: str = ""


@dataclass(frozen=True, slots=True)
class HomeData:
    """The Home screen: decks with their counts, today's progress, the streak, what comes next."""

    decks: list[tuple[Deck, S.DeckCounts]]
    total: S.DeckCounts
    new_left_today: int
    reviewed_today: int
    correct_today: int
    graded_today: int
    streak: int
    total_reviews: int
    next_due: datetime | None
    problems: int = 0


@dataclass(frozen=True, slots=True)
class StatsData:
    """The statistics screen, computed from the review history and the schedule."""

    per_day: list[S.DayTally]
    forecast: list[tuple[Any, int]]
    by_section: dict[str, S.Tally]
    by_backend: dict[str, S.Tally]
    hardest: list[tuple[S.Hardest, Card | None]]
    total_reviews: int
    answers: S.Tally
    streak: int
    cards_seen: int
    leeches: int
    heatmap: list[tuple[Any, int]] = field(default_factory=list)  # (study day, reviews), a year to today


@dataclass
class Study:
    settings: Settings
    library: Library
    store: Store
    runner: Runner
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    deck_ids: list[str] | None = None
    scope: StudyScope = field(default_factory=StudyScope)  # custom study: tags, backends, sections, decks

    def __post_init__(self) -> None:
        self.scheduler = make_scheduler(self.settings.scheduling())
        self.cards = self.library.by_uid()
        self.undo_steps: list[UndoStep] = []
        # The variant drawn for each card shown and not yet answered: leaving the card (Esc, Home)
        # and coming back shows the same values, so going away is no free re-roll.
        self.drawn: dict[str, Variant] = {}
        self._families: dict[tuple[str, str], list[Card]] | None = None

    def with_settings(self, settings: Settings) -> Study:
        """The same session under new settings (a new scheduler; the undo history stays)."""
        other = replace(self, settings=settings)
        other.undo_steps, other.drawn = self.undo_steps, self.drawn
        return other

    def with_decks(self, deck_ids: list[str] | None) -> Study:
        other = replace(self, deck_ids=deck_ids or None)
        other.undo_steps, other.drawn = self.undo_steps, self.drawn
        return other

    def with_scope(self, scope: StudyScope) -> Study:
        """The same session limited to `scope` (custom study: a tag such as `interview`, a backend...)."""
        other = replace(self, scope=scope)
        other.undo_steps, other.drawn = self.undo_steps, self.drawn
        return other

    @property
    def learn_ahead(self) -> timedelta:
        """How early the queue shows a learning card (the counts count those as learning now)."""
        return timedelta(minutes=self.settings.scheduling().learn_ahead_min)

    @property
    def profile(self) -> str:
        return self.settings.profile

    def sync(self) -> int:
        """Give every card in the library a place in the schedule."""
        from quiz.store import repo

        with self.store.session() as s:
            return repo.sync_library(
                s, self.profile, self.library.cards(), now=self.clock(), order=self.settings.new_card_order
            )

    # --- which cards ------------------------------------------------------------

    def backend_enabled(self, backend: str) -> bool:
        """Chosen in the settings, and installed here."""
        from quiz.runner.backends import backend_info

        return backend in self.settings.backends and backend_info(backend).installed

    def card_selected(self, card: Card) -> bool:
        return self.deck_ids is None or card.deck_id in self.deck_ids

    def usable(self, card: Card) -> bool:
        """In the chosen decks and the custom-study scope, on chosen backends that are installed (a translate
        card needs two)."""
        return (
            self.card_selected(card)
            and self.scope.includes(card)
            and all(self.backend_enabled(b) for b in card.backends)
        )

    def _usable_uid(self, uid: str) -> bool:
        card = self.cards.get(uid)
        return card is not None and self.usable(card)

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
                usable=self._usable_uid,
                deck_ids=self.deck_ids,
                reviews_per_day=self.settings.reviews_per_day,
                learn_ahead=self.learn_ahead,
            )
        return self.cards.get(uid) if uid else None

    def prepare(self, card: Card, seed: int | None = None) -> Variant:
        """This review's variant: with `seed`, that one; else the one already drawn for the card if it
        was shown and not answered yet, else a fresh draw (kept until the card is answered)."""
        if seed is not None:
            return draw_variant(card, seed)
        variant = self.drawn.get(card.uid)
        if variant is None:
            variant = self.drawn[card.uid] = draw_variant(card, self.rng.randrange(MAX_SEED))
        return variant

    def run(self, card: Card, variant: Variant) -> RunResult:
        """What the card's code really does for this variant (a translate card: its source's result)."""
        return run_truth(self.runner, card, variant, device=self.settings.device)

    def grade(self, card: Card, variant: Variant, answer: str | ParsedAnswer, shown_at: datetime) -> Answered:
        """Read the answer (MalformedAnswer propagates: ask again), run, judge."""
        return grade_answer(self.runner, self.settings.device, self.clock, card, variant, answer, shown_at)

    # --- the same family on the other backends ---------------------------------------

    def siblings(self, card: Card) -> list[Card]:
        """The card's family on the other chosen, installed backends (in the order torch, tensorflow, mxnet)."""
        if self._families is None:
            families: dict[tuple[str, str], list[Card]] = {}
            for c in self.library.cards():
                families.setdefault((c.deck_id, c.family), []).append(c)
            for members in families.values():
                members.sort(key=lambda c: BACKENDS.index(c.backend.value))
            self._families = families
        return [
            c
            for c in self._families.get((card.deck_id, card.family), [])
            if c.uid != card.uid and self.backend_enabled(c.backend.value)
        ]

    def sibling_variant(
        self, sibling: Card, variant: Variant, original: Card | None = None
    ) -> tuple[Variant, bool]:
        """The sibling with the same values as `variant` where its variables allow (True), else its own
        draw keeping those of the values its specs take (False)."""
        values = shared_values(sibling, variant.values, dict(original.variables) if original else None)
        if values is not None:
            try:
                return build_variant(sibling, variant.seed, values), True
            except ExprError:
                pass
        # Else as many of the learner's values as its specs take, the rest its own draw.
        keep = pinned(sibling, variant.values, dict(original.variables) if original else None)
        if keep is not None:
            try:
                return build_variant(sibling, variant.seed, draw_values(keep, variant.seed)), False
            except NoVariantError:
                pass
        return draw_variant(sibling, variant.seed), False

    # --- the schedule -----------------------------------------------------------

    def memory(self, card: Card) -> Memory:
        from quiz.store import repo

        with self.store.session() as s:
            return repo.memory_of(s, self.profile, card.uid)

    def interval_previews(self, card: Card) -> tuple[IntervalPreview, ...]:
        """What each rating 1–4 would schedule for `card` now (quiz.core.previews), for the rating keys."""
        from quiz.core.previews import preview_intervals

        return preview_intervals(self.memory(card), self.clock(), self.scheduler)

    def rate(self, answered: Answered, rating: int) -> tuple[int, Memory]:
        """Schedule the card and commit the review; returns the review id and the new memory.

        Raises quiz.store.db.DiskFull (its message is the one line to show) when there is no space to
        save it: nothing was saved, and the same answer can be rated again.
        """
        if rating not in (1, 2, 3, 4):
            raise ValueError("rating is 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy)")
        now = self.clock()
        v = answered.verdict
        # Saved exactly once even on a shared server: locked memory row, retries (quiz.store.classroom).
        try:
            review_id, after = self._commit(answered, rating, now, v)
        except Exception as exc:
            from quiz.store.db import DiskFull, is_disk_full

            if is_disk_full(exc):
                raise DiskFull(DISK_FULL) from None
            raise
        self.drawn.pop(answered.card.uid, None)  # answered: next time, new values
        buried: dict[str, datetime | None] = {}
        if self.settings.bury_siblings:
            buried = self._bury_siblings(answered.card, now)
        self.undo_steps.append(UndoStep("review", answered.card.uid, review_id=review_id, previous=buried))
        return review_id, after

    def _commit(self, answered: Answered, rating: int, now: datetime, v: Verdict) -> tuple[int, Memory]:
        from quiz.store import repo
        from quiz.store.classroom import commit_review

        review_id, after, _inserted = commit_review(
            self.store,
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
            lambda before: review(before, rating, now, self.scheduler),
        )
        return review_id, after

    def _bury_siblings(self, card: Card, now: datetime) -> dict[str, datetime | None]:
        """Hide the card's family on the other backends until the next study day (setting bury_siblings)."""
        from quiz.store import repo

        until = study_day_start(now, self.settings.scheduling()) + timedelta(days=1)
        with self.store.session() as s:
            return repo.bury_siblings(s, self.profile, siblings_to_bury(card, self.library.cards()), until)

    def bury(self, card: Card) -> datetime:
        """Hide the card until the next study day starts. Returns when it comes back."""
        from quiz.store.undo import set_buried

        now = self.clock()
        until = study_day_start(now, self.settings.scheduling()) + timedelta(days=1)
        with self.store.session() as s:
            previous = set_buried(s, self.profile, card.uid, until)
        self.undo_steps.append(UndoStep("bury", card.uid, previous=previous))
        return until

    def suspend(self, card: Card) -> None:
        """Take the card out of the queue until it is unsuspended (undo, or `quiz` settings)."""
        from quiz.store.undo import set_suspended

        with self.store.session() as s:
            previous = set_suspended(s, self.profile, card.uid, True)
        self.undo_steps.append(UndoStep("suspend", card.uid, previous=previous))

    def undo(self) -> Undone | None:
        """Take back the last answer, bury or suspend of this session (None: nothing left to undo).

        Raises quiz.store.undo.UndoError when the step cannot be taken back.
        """
        from quiz.store.undo import set_buried, set_suspended, undo_review

        if not self.undo_steps:
            return None
        step = self.undo_steps[-1]
        card = self.cards.get(step.card_uid)
        with self.store.session() as s:
            if step.kind == "review":
                assert step.review_id is not None
                undone = undo_review(s, self.profile, step.review_id)
                for uid, before in (step.previous or {}).items():  # the siblings it buried come back
                    set_buried(s, self.profile, uid, before)
                self.undo_steps.pop()
                variant = None
                if card is not None:
                    try:
                        variant = variant_from_values(card, undone.seed, undone.variables)
                    except Exception:  # the deck changed since: a fresh variant will do
                        variant = None
                return Undone("review", card, variant, undone.answer_given)
            if step.kind == "bury":
                set_buried(s, self.profile, step.card_uid, step.previous)
            else:
                set_suspended(s, self.profile, step.card_uid, bool(step.previous))
        self.undo_steps.pop()
        return Undone(step.kind, card)

    @staticmethod
    def is_leech(memory: Memory) -> bool:
        return S.is_leech(memory.lapses)

    # --- counts and statistics ----------------------------------------------------

    def _day_start(self, now: datetime) -> datetime:
        return study_day_start(now, self.settings.scheduling())

    def counts(self) -> QueueCounts:
        """What is waiting in this session's decks and backends: due, learning, new (within today's limit)."""
        from quiz.store import repo
        from quiz.store.stats import card_facts

        now = self.clock()
        day_start = self._day_start(now)
        with self.store.session() as s:
            facts = card_facts(s, self.profile)
            new_today = repo.new_introduced_since(s, self.profile, day_start)
            reviewed_today = repo.reviewed_since(s, self.profile, day_start)
            cap = self.settings.reviews_per_day
            left = (
                None
                if cap is None
                else reviews_left(cap, repo.reviews_done_since(s, self.profile, day_start))
            )
        total = _sum_counts(
            S.deck_counts(facts, now=now, usable=self._usable_uid, learn_ahead=self.learn_ahead).values()
        )
        return repo.QueueCounts(
            due=total.due if left is None else min(total.due, left),
            new=min(total.new, max(0, self.settings.new_per_day - new_today)),
            learning=total.learning,
            reviewed_today=reviewed_today,
            new_today=new_today,
        )

    def next_due(self) -> datetime | None:
        """When the next card of this session's decks falls due (after now)."""
        from quiz.store.stats import card_facts

        now = self.clock()
        with self.store.session() as s:
            facts = card_facts(s, self.profile)
        upcoming = [
            f.due
            for f in facts
            if f.due is not None and f.due > now and f.available(now) and self._usable_uid(f.card_uid)
        ]
        return min(upcoming, default=None)

    def elsewhere(self) -> tuple[int, datetime | None]:
        """Outside this session's decks or custom-study scope: how many cards wait now (due, learning
        within the learn-ahead, new within today's limit) and when the next one falls due. (0, None) for
        a session over everything."""
        from quiz.store import repo
        from quiz.store.stats import card_facts

        if self.deck_ids is None and self.scope == StudyScope():
            return 0, None
        everywhere = replace(self, deck_ids=None, scope=StudyScope())
        now = self.clock()
        with self.store.session() as s:
            facts = [
                f
                for f in card_facts(s, self.profile)
                if not self._usable_uid(f.card_uid) and everywhere._usable_uid(f.card_uid)
            ]
            new_today = repo.new_introduced_since(s, self.profile, self._day_start(now))
        total = _sum_counts(S.deck_counts(facts, now=now, learn_ahead=self.learn_ahead).values())
        waiting = total.due + total.learning + min(total.new, max(0, self.settings.new_per_day - new_today))
        upcoming = [f.due for f in facts if f.due is not None and f.due > now and f.available(now)]
        return waiting, min(upcoming, default=None)

    def home_data(self) -> HomeData:
        from quiz.store import repo
        from quiz.store.stats import card_facts, review_facts

        now = self.clock()
        day_start = self._day_start(now)
        hour = self.settings.scheduling().day_starts_at_hour
        with self.store.session() as s:
            facts = card_facts(s, self.profile)
            reviews = review_facts(s, self.profile)
            new_today = repo.new_introduced_since(s, self.profile, day_start)
        # Every deck of the library, whatever the session's deck filter: Home is where decks are picked.
        everywhere = replace(self, deck_ids=None)
        counts = S.deck_counts(
            facts, now=now, usable=lambda u: everywhere._usable_uid(u), learn_ahead=self.learn_ahead
        )
        new_left = max(0, self.settings.new_per_day - new_today)
        # A deck's "new" is what it can still bring today: never more than the day's new cards left.
        decks = [
            (d, replace(c, new=min(c.new, new_left)))
            for d in self.library.decks
            for c in [counts.get(d.id, S.DeckCounts())]
        ]
        today = [r for r in reviews if r.reviewed_at >= day_start]
        graded = [r for r in today if r.correct is not None]
        # What Home's rows count: usable cards not suspended or buried (a backend switched off is not "due").
        upcoming = [
            f.due
            for f in facts
            if f.due is not None and f.due > now and f.available(now) and everywhere._usable_uid(f.card_uid)
        ]
        return HomeData(
            decks=decks,
            total=_sum_counts(c for _, c in decks),
            new_left_today=new_left,
            reviewed_today=len(today),
            correct_today=sum(1 for r in graded if r.correct),
            graded_today=len(graded),
            streak=S.streak({S.study_day(r.reviewed_at, hour) for r in reviews}, S.study_day(now, hour)),
            total_reviews=len(reviews),
            next_due=min(upcoming, default=None),
            problems=len(self.library.problems),
        )

    def stats_data(self, days: int = 30, forecast_days: int = 14) -> StatsData:
        from quiz.store.stats import card_facts, review_facts

        now = self.clock()
        hour = self.settings.scheduling().day_starts_at_hour
        with self.store.session() as s:
            facts = card_facts(s, self.profile)
            reviews = review_facts(s, self.profile)
        today = S.study_day(now, hour)
        section = {uid: c.section for uid, c in self.cards.items()}
        hardest = S.hardest_cards(facts, reviews, limit=10)
        return StatsData(
            per_day=S.reviews_per_day(reviews, today=today, days=days, day_hour=hour),
            heatmap=S.review_heatmap(reviews, today=today, day_hour=hour),
            forecast=S.due_forecast(facts, now=now, days=forecast_days, day_hour=hour),
            by_section=S.sections_of(reviews, section),
            by_backend=S.retention_by(reviews, lambda r: r.backend),
            hardest=[(h, self.cards.get(h.card_uid)) for h in hardest],
            total_reviews=len(reviews),
            answers=S.retention_by(reviews, lambda r: "all").get("all", S.Tally()),
            streak=S.streak({S.study_day(r.reviewed_at, hour) for r in reviews}, today),
            cards_seen=sum(1 for f in facts if f.reps > 0),
            leeches=sum(1 for f in facts if S.is_leech(f.lapses)),
        )

    # --- settings ---------------------------------------------------------------------

    def saved_settings(self) -> dict[str, Any]:
        """The learner's settings stored in the database for this profile."""
        from quiz.store.settings_repo import load_settings

        with self.store.session() as s:
            return load_settings(s, self.profile)

    def save_settings(self, values: dict[str, Any]) -> None:
        from quiz.store.settings_repo import save_settings

        with self.store.session() as s:
            save_settings(
                s,
                self.profile,
                {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()},
                self.clock(),
            )

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
        # Only cards this session may show are candidates: others (a backend switched off in the
        # settings) are unknown to the prepared start, which then defers to the database.
        for uid in [u for _, u in head.due[:candidates]] + head.new[:1]:
            card = self.cards.get(uid)
            if card is None or uid in variants or not self.usable(card):
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


def _sum_counts(counts: Any) -> S.DeckCounts:
    total = S.DeckCounts()
    for c in counts:
        total = S.DeckCounts(
            due=total.due + c.due,
            learning=total.learning + c.learning,
            new=total.new + c.new,
            total=total.total + c.total,
            suspended=total.suspended + c.suspended,
            leeches=total.leeches + c.leeches,
        )
    return total
