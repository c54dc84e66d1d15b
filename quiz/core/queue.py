"""Which card comes next: the queue policy, pure (no database, no FSRS import)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from quiz.core.scheduling import SchedulingSettings

T = TypeVar("T")

__all__ = [
    "NEW_CARD_ORDERS",
    "StudyScope",
    "UNDECIDED",
    "new_card_order",
    "pick_next",
    "pick_prepared",
    "reviews_left",
    "siblings_to_bury",
    "study_day_start",
]


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


# How new cards are introduced (the `new_card_order` setting):
# by-topic: deck by deck in the article's order (the default); interleaved: one card from each deck
# in turn, each deck keeping its own order; random: shuffled with the rng given.
NEW_CARD_ORDERS = ("by-topic", "interleaved", "random")


def new_card_order(
    cards: Sequence[Any], order: str = "by-topic", rng: random.Random | None = None
) -> list[Any]:
    """The order new cards are introduced in.

    by-topic: decks follow the article's topics (CURRICULUM; other decks after them, as
    loaded); within a deck, its torch cards in file order, then its TensorFlow
    cards, then its MXNet cards — so a family's other backends, already shown
    side by side after each answer, come back a while later rather than right after.
    interleaved: the decks take turns (in that deck order), each giving its next card.
    random: a shuffle drawn from `rng` (required: the caller seeds it, so the order is reproducible).
    """
    if order not in NEW_CARD_ORDERS:
        raise ValueError(f"new card order must be one of {', '.join(NEW_CARD_ORDERS)}, not {order!r}")
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

    by_topic = sorted(cards, key=key)
    if order == "by-topic":
        return by_topic
    if order == "random":
        if rng is None:
            raise ValueError("a random new-card order needs a seeded rng")
        shuffled = list(by_topic)
        rng.shuffle(shuffled)
        return shuffled
    per_deck: dict[str, list[Any]] = {}
    for card in by_topic:
        per_deck.setdefault(card.deck_id, []).append(card)
    turns = list(per_deck.values())
    out: list[Any] = []
    for i in range(max((len(t) for t in turns), default=0)):
        out.extend(t[i] for t in turns if i < len(t))
    return out


@dataclass(frozen=True, slots=True)
class StudyScope:
    """Which cards a session studies (custom study): empty fields mean "any".

    A card is in scope when it is in one of `decks`, on one of `backends`, in one of
    `sections`, and carries at least one of `tags`.
    """

    decks: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    backends: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        return not (self.decks or self.tags or self.backends or self.sections)

    def includes(self, card: Any) -> bool:
        backend = str(getattr(card.backend, "value", card.backend))
        return (
            (not self.decks or card.deck_id in self.decks)
            and (not self.backends or backend in self.backends)
            and (not self.sections or card.section in self.sections)
            and (not self.tags or any(t in self.tags for t in card.tags))
        )

    def to_dict(self) -> dict[str, list[str]]:
        return {k: list(getattr(self, k)) for k in ("decks", "tags", "backends", "sections")}


def reviews_left(cap: int | None, reviewed_today: int) -> int | None:
    """Review cards still allowed today under the daily cap (None: no cap). Learning cards are never capped:
    a card in its learning steps left until tomorrow would lose its steps."""
    return None if cap is None else max(0, cap - reviewed_today)


def siblings_to_bury(card: Any, cards: Iterable[Any]) -> list[str]:
    """The uids of `card`'s family on the other backends (same deck and family), to hide until tomorrow
    after it was answered: the comparison already showed them, so asking them now would test memory of
    the screen, not of the frameworks."""
    return [
        c.uid for c in cards if c.deck_id == card.deck_id and c.family == card.family and c.uid != card.uid
    ]
