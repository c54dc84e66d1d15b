"""The card browser's search, pure: which library cards match a query, and what state a card is in.

The library side (text, deck, section, backend, kind, tag) is matched here against a `CardIndex`
built once per library; the schedule side (new, learning, due, suspended, buried, leech) is the
store's to query (quiz.store.browse), with `CardStatus.labels` as the one definition both follow.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from quiz.core.cards import Card
from quiz.core.stats import is_leech

__all__ = ["STATES", "CardIndex", "CardQuery", "CardStatus", "QueryError", "filter_by_state"]

# What `--state` takes. `due`: scheduled and due now (and not suspended or buried); `review`: learned,
# in the review state (due or not); `leech`: forgotten LEECH_LAPSES times or more.
STATES = ("new", "learning", "review", "due", "suspended", "buried", "leech")

NEW, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3


class QueryError(ValueError):
    """A query that cannot mean anything (an unknown state); the message names what is allowed."""


@dataclass(frozen=True, slots=True)
class CardQuery:
    """A browser search. Every given part must hold (empty parts match everything).

    `text`: words that must all appear (any case) in the card's prompt, code or id; each tuple
    field matches when the card has any one of the values; `states` must all hold.
    """

    text: str = ""
    decks: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    backends: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    states: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [s for s in self.states if s not in STATES]
        if unknown:
            raise QueryError(f"unknown state {unknown[0]!r}; states: {', '.join(STATES)}")

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.text.casefold().split())

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "decks": list(self.decks),
            "sections": list(self.sections),
            "backends": list(self.backends),
            "kinds": list(self.kinds),
            "tags": list(self.tags),
            "states": list(self.states),
        }


@dataclass(frozen=True, slots=True)
class CardStatus:
    """One card's place in the learner's schedule (a card_state row; a card never synced is new)."""

    state: int = NEW
    due: datetime | None = None
    stability: float | None = None
    difficulty: float | None = None
    reps: int = 0
    lapses: int = 0
    suspended: bool = False
    buried_until: datetime | None = None
    last_review: datetime | None = None

    def buried(self, now: datetime) -> bool:
        return self.buried_until is not None and self.buried_until > now

    def labels(self, now: datetime) -> tuple[str, ...]:
        """Every state in STATES this card is in at `now` (the browser's state filter)."""
        out = []
        if self.state == NEW:
            out.append("new")
        elif self.state in (LEARNING, RELEARNING):
            out.append("learning")
        else:
            out.append("review")
        if (
            self.state != NEW
            and self.due is not None
            and self.due <= now
            and not self.suspended
            and not self.buried(now)
        ):
            out.append("due")
        if self.suspended:
            out.append("suspended")
        if self.buried(now):
            out.append("buried")
        if is_leech(self.lapses):
            out.append("leech")
        return tuple(out)

    def primary(self, now: datetime) -> str:
        """The one word for the table: suspended, buried, due, then new, learning or review."""
        labels = self.labels(now)
        for word in ("suspended", "buried", "due"):
            if word in labels:
                return word
        return labels[0]


@dataclass(frozen=True, slots=True)
class _Entry:
    card: Card
    haystack: str
    backend: str
    kind: str


@dataclass(frozen=True)
class CardIndex:
    """The library's cards prepared for searching (built once; a search is then a scan of strings)."""

    entries: tuple[_Entry, ...] = ()
    by_uid: dict[str, Card] = field(default_factory=dict)

    @classmethod
    def build(cls, cards: Iterable[Card]) -> CardIndex:
        entries = tuple(
            _Entry(
                card,
                "\n".join((card.uid, card.prompt, card.code)).casefold(),
                card.backend.value,
                card.kind.value,
            )
            for card in cards
        )
        return cls(entries, {e.card.uid: e.card for e in entries})

    def __len__(self) -> int:
        return len(self.entries)

    def matching(self, query: CardQuery) -> list[Card]:
        """The cards that match the query's library side, in library order (the state filter is the store's)."""
        words = query.words
        decks, sections, backends = set(query.decks), set(query.sections), set(query.backends)
        kinds, tags = set(query.kinds), set(query.tags)
        out = []
        for e in self.entries:
            card = e.card
            if decks and card.deck_id not in decks:
                continue
            if sections and card.section not in sections:
                continue
            if backends and e.backend not in backends:
                continue
            if kinds and e.kind not in kinds:
                continue
            if tags and not tags.intersection(card.tags):
                continue
            if words and not all(w in e.haystack for w in words):
                continue
            out.append(card)
        return out


def filter_by_state(
    cards: Sequence[Card], statuses: dict[str, CardStatus], states: Sequence[str], now: datetime
) -> list[Card]:
    """The cards in all of `states` at `now` (a card without a status is new): the pure definition
    of what the store's query returns, used where the statuses are already at hand."""
    wanted = set(states)
    return [c for c in cards if wanted <= set(statuses.get(c.uid, CardStatus()).labels(now))]
