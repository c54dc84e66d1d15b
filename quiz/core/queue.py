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


# The article's order of topics: new cards of the built-in decks come in this order.
CURRICULUM = (
    "variable-tensor",
    "autograd",
    "init",
    "train-eval",
    "data-loading",
    "view-permute-expand",
    "model-definition",
    "getting-variables",
    "parameters",
    "save-load",
    "partial-training",
    "intermediate-outputs",
    "reshape",
    "inputs",
    "matmul",
)
BACKEND_ORDER = ("torch", "tensorflow", "mxnet")


def new_card_order(cards: Sequence[Any]) -> list[Any]:
    """The order new cards are introduced in.

    Decks follow the article's topics (CURRICULUM; other decks after them, as
    loaded); within a deck, its torch cards in file order, then its TensorFlow
    cards, then its MXNet cards — so a family's other backends, already shown
    side by side after each answer, come back a while later rather than right after.
    """
    decks: dict[str, int] = {}
    for card in cards:
        if card.deck_id not in decks:
            rank = CURRICULUM.index(card.section) if card.section in CURRICULUM else len(CURRICULUM)
            decks[card.deck_id] = rank * 10_000 + len(decks)
    position = {id(card): i for i, card in enumerate(cards)}

    def key(card: Any) -> tuple[int, int, int]:
        backend = str(getattr(card.backend, "value", card.backend))
        rank = BACKEND_ORDER.index(backend) if backend in BACKEND_ORDER else len(BACKEND_ORDER)
        return decks[card.deck_id], rank, position[id(card)]

    return sorted(cards, key=key)
