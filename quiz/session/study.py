"""The study session: the next card and its variant, grading, rating, bury, suspend, undo, siblings.

Shared by the TUI and the command line. It holds no UI; it reads the clock
and draws seeds only through the `clock` and `rng` it is given. What is shown
around it lives beside it: counts and dashboards (quiz.session.dashboards),
the learner's saved settings (quiz.session.saved_settings), undo's record
(quiz.session.undo), the next start (quiz.session.prepared).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from quiz.core import stats as S
from quiz.core.cards import BACKENDS, Card
from quiz.core.decks import Library
from quiz.core.expr import ExprError
from quiz.core.grading import RunResult, Verdict
from quiz.core.queue import StudyScope, siblings_to_bury, study_day_start
from quiz.core.scheduling import Memory, make_scheduler, review
from quiz.core.siblings import pinned, shared_values
from quiz.core.variables import NoVariantError, Variant, build_variant, draw_values, draw_variant
from quiz.session.grading import Answered, ParsedAnswer, grade_answer, run_truth
from quiz.session.undo import Undone, UndoStep, take_back

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.previews import IntervalPreview
    from quiz.runner.client import Runner
    from quiz.store.db import Store

__all__ = ["DISK_FULL", "MAX_SEED", "Study", "utcnow"]

MAX_SEED = 2**31 - 1
# What the learner reads when a rating cannot be saved for want of space (it was not saved; the verdict stays).
DISK_FULL = "the disk is full: your last rating was not saved; free space and rate again"


def utcnow() -> datetime:
    return datetime.now(UTC)


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
                usable=self.usable_uid,
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
        if not self.undo_steps:
            return None
        undone = take_back(self.store, self.profile, self.undo_steps[-1], self.cards)
        self.undo_steps.pop()
        return undone

    @staticmethod
    def is_leech(memory: Memory) -> bool:
        return S.is_leech(memory.lapses)

    def day_start(self, now: datetime) -> datetime:
        """When the study day holding `now` began (the settings say at which hour days turn)."""
        return study_day_start(now, self.settings.scheduling())

    def usable_uid(self, uid: str) -> bool:
        """The card with this uid is in the library and `usable`."""
        card = self.cards.get(uid)
        return card is not None and self.usable(card)
