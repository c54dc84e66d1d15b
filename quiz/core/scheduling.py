"""Scheduling policy on top of FSRS: a card's memory state, reviews, and which card comes next."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsrs import Scheduler

__all__ = [
    "CardState",
    "Memory",
    "SchedulingSettings",
    "make_scheduler",
    "review",
]


class CardState(IntEnum):
    """FSRS's states plus New (a card never reviewed)."""

    NEW = 0
    LEARNING = 1
    REVIEW = 2
    RELEARNING = 3


@dataclass(frozen=True, slots=True)
class SchedulingSettings:
    desired_retention: float = 0.9
    learning_steps_min: tuple[float, ...] = (1.0, 10.0)
    relearning_steps_min: tuple[float, ...] = (10.0,)
    maximum_interval_days: int = 36500
    new_per_day: int = 20
    learn_ahead_min: float = 20.0
    day_starts_at_hour: int = 4


@dataclass(frozen=True, slots=True)
class Memory:
    """What the scheduler knows of one card for one learner."""

    state: CardState = CardState.NEW
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: datetime | None = None
    last_review: datetime | None = None
    reps: int = 0
    lapses: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": int(self.state),
            "step": self.step,
            "stability": self.stability,
            "difficulty": self.difficulty,
            "due": self.due.isoformat() if self.due else None,
            "last_review": self.last_review.isoformat() if self.last_review else None,
            "reps": self.reps,
            "lapses": self.lapses,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Memory:
        """The inverse of `to_dict` (as stored in a review's state_before/state_after)."""

        def when(v: Any) -> datetime | None:
            return datetime.fromisoformat(v) if isinstance(v, str) else None

        return cls(
            state=CardState(int(d.get("state", 0))),
            step=d.get("step"),
            stability=d.get("stability"),
            difficulty=d.get("difficulty"),
            due=when(d.get("due")),
            last_review=when(d.get("last_review")),
            reps=int(d.get("reps", 0)),
            lapses=int(d.get("lapses", 0)),
        )


def make_scheduler(settings: SchedulingSettings = SchedulingSettings()) -> Scheduler:
    from fsrs import Scheduler

    # Fuzzing would read the global RNG inside the scheduler; intervals stay exact.
    return Scheduler(
        desired_retention=settings.desired_retention,
        learning_steps=tuple(timedelta(minutes=m) for m in settings.learning_steps_min),
        relearning_steps=tuple(timedelta(minutes=m) for m in settings.relearning_steps_min),
        maximum_interval=settings.maximum_interval_days,
        enable_fuzzing=False,
    )


def review(memory: Memory, rating: int, now: datetime, scheduler: Scheduler) -> Memory:
    """The memory after rating the card at `now` (1 Again, 2 Hard, 3 Good, 4 Easy)."""
    from fsrs import Card as FsrsCard
    from fsrs import Rating, State

    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    if memory.state == CardState.NEW:
        card = FsrsCard(card_id=1, state=State.Learning, step=0, due=now)
    else:
        card = FsrsCard(
            card_id=1,
            state=State(int(memory.state)),
            step=memory.step,
            stability=memory.stability,
            difficulty=memory.difficulty,
            due=(memory.due or now).astimezone(UTC),
            last_review=memory.last_review.astimezone(UTC) if memory.last_review else None,
        )
    after, _log = scheduler.review_card(card, Rating(rating), review_datetime=now)
    lapsed = memory.state == CardState.REVIEW and rating == Rating.Again
    return replace(
        memory,
        state=CardState(int(after.state)),
        step=after.step,
        stability=after.stability,
        difficulty=after.difficulty,
        due=after.due,
        last_review=after.last_review,
        reps=memory.reps + 1,
        lapses=memory.lapses + (1 if lapsed else 0),
    )
