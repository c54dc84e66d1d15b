"""What each rating would schedule for a card now ("1 Again 10m · 3 Good 4d"), and short interval text.

Computed by the real FSRS scheduler (quiz.core.scheduling.review) for the card's memory at `now`:
the preview is exactly what pressing the key will do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from quiz.core.scheduling import Memory, review

if TYPE_CHECKING:
    from fsrs import Scheduler

__all__ = ["RATING_NAMES", "IntervalPreview", "format_interval", "preview_intervals", "preview_line"]

RATING_NAMES = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


@dataclass(frozen=True, slots=True)
class IntervalPreview:
    """Rating `rating` now would bring the card back at `due`, `interval` from now."""

    rating: int
    name: str
    due: datetime
    interval: timedelta
    state: int  # the card's state after it (1 learning, 2 review, 3 relearning)

    @property
    def label(self) -> str:
        return f"{self.rating} {self.name} {format_interval(self.interval)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rating": self.rating,
            "name": self.name,
            "due": self.due.isoformat(),
            "seconds": round(self.interval.total_seconds()),
            "interval": format_interval(self.interval),
            "state": self.state,
        }


def preview_intervals(memory: Memory, now: datetime, scheduler: Scheduler) -> tuple[IntervalPreview, ...]:
    """For each rating 1–4, when the card would be due again if rated so at `now`."""
    out = []
    for rating, name in RATING_NAMES.items():
        after = review(memory, rating, now, scheduler)
        assert after.due is not None  # a reviewed card always has a due date
        out.append(IntervalPreview(rating, name, after.due, after.due - now, int(after.state)))
    return tuple(out)


def preview_line(previews: tuple[IntervalPreview, ...], sep: str = " · ") -> str:
    """`1 Again 1m · 2 Hard 6m · 3 Good 10m · 4 Easy 2d`, for the rating keys."""
    return sep.join(p.label for p in previews)


def format_interval(interval: timedelta) -> str:
    """An interval as a learner reads it: <1m, 10m, 3h, 4d, 1.5mo, 2.1y (rounded to the nearest)."""
    seconds = interval.total_seconds()
    if seconds < 60:
        return "<1m"
    minutes = seconds / 60
    if minutes < 59.5:
        return f"{_round(minutes)}m"
    hours = minutes / 60
    if hours < 23.5:
        return f"{_round(hours)}h"
    days = hours / 24
    if days < 29.5:
        return f"{_round(days)}d"
    if days < 365:
        return _one_decimal(days / 30, "mo")
    return _one_decimal(days / 365, "y")


def _round(x: float) -> int:
    return int(x + 0.5)  # half up, as a learner rounds (Python's round() rounds half to even)


def _one_decimal(x: float, unit: str) -> str:
    text = f"{int(x * 10 + 0.5) / 10:.1f}".removesuffix(".0")
    return f"{text}{unit}"
