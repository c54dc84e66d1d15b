"""Which card comes next: the queue policy, pure (no database, no FSRS import)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from quiz.core.scheduling import SchedulingSettings

T = TypeVar("T")

__all__ = ["pick_next", "pick_prepared", "study_day_start", "UNDECIDED"]


class _Undecided:
    """The prepared lists are too short to know the answer: ask the database."""

    def __repr__(self) -> str:
        return "UNDECIDED"


UNDECIDED: Any = _Undecided()


def study_day_start(now: datetime, settings: SchedulingSettings | None = None) -> datetime:
    """When the learner's current study day began (local time, `day_starts_at_hour`, 4 am by default)."""
    hour = settings.day_starts_at_hour if settings is not None else 4
    local = now.astimezone()
    start = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if local < start:
        start -= timedelta(days=1)
    return start.astimezone(UTC)


def pick_next(
    due: Iterable[tuple[datetime, T]],
    new: Iterable[T],
    *,
    now: datetime,
    new_left_today: int,
    usable: Callable[[T], bool] = lambda _: True,
    learn_ahead: timedelta = timedelta(minutes=20),
) -> T | None:
    """Due cards first (oldest due first), then new cards within today's limit,
    then learning cards due within the learn-ahead window. `due` is sorted by due
    time; `usable` skips cards that cannot be studied now (unknown, unavailable)."""
    ahead: T | None = None
    for when, item in due:
        if when > now + learn_ahead:
            break
        if not usable(item):
            continue
        if when <= now:
            return item
        if ahead is None:
            ahead = item
    if new_left_today > 0:
        for item in new:
            if usable(item):
                return item
    return ahead


def pick_prepared(
    due: Sequence[tuple[datetime, T]],
    new: Sequence[T],
    *,
    due_complete: bool,
    new_complete: bool,
    now: datetime,
    new_left_today: int,
    usable: Callable[[T], bool] = lambda _: True,
    learn_ahead: timedelta = timedelta(minutes=20),
) -> T | None:
    """`pick_next` over the first cards of each list: the same answer, or UNDECIDED
    when a card beyond the truncated lists could change it."""
    horizon = now + learn_ahead
    last_due = due[-1][0] if due else None
    for when, item in due:
        if when > now:
            break
        if usable(item):
            return item
    if not due_complete and (last_due is None or last_due <= now):
        return UNDECIDED  # type: ignore[no-any-return]
    if new_left_today > 0:
        for item in new:
            if usable(item):
                return item
        if not new_complete:
            return UNDECIDED  # type: ignore[no-any-return]
    for when, item in due:
        if when > horizon:
            return None
        if when > now and usable(item):
            return item
    if not due_complete and (last_due is None or last_due <= horizon):
        return UNDECIDED  # type: ignore[no-any-return]
    return None
