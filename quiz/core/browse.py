"""The card browser's search, pure: which library cards match a query, and what state a card is in.

The library side (text, deck, section, backend, kind, tag) is matched here against a `CardIndex`
built once per library; the schedule side (new, learning, due, suspended, buried, leech) is the
store's to query (quiz.store.browse), with `CardStatus.labels` as the one definition both follow.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from quiz.core.cards import Card
from quiz.core.stats import is_leech

__all__ = [
    "STATES",
    "BrowserState",
    "CardIndex",
    "CardQuery",
    "CardStatus",
    "QueryError",
    "filter_by_state",
    "parse_search",
]

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


@dataclass(frozen=True)
class CardIndex:
    """The library's cards prepared for searching, built once per library.

    Each filter is a lookup: the cards of a deck, section, backend, kind or tag are listed ahead,
    and a word is found with `str.find` in one text of every card's prompt, code and id (casefolded,
    NUL-separated), so a search costs in proportion to what it matches, not to the library.
    """

    cards: tuple[Card, ...] = ()
    text: str = ""
    starts: tuple[int, ...] = ()
    fields: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    position: dict[str, int] = field(default_factory=dict)
    hays: tuple[str, ...] = ()  # each card's part of `text`

    @classmethod
    def build(cls, cards: Iterable[Card]) -> CardIndex:
        cards = tuple(cards)
        fields: dict[str, dict[str, list[int]]] = {
            k: {} for k in ("decks", "sections", "backends", "kinds", "tags")
        }
        parts, starts, offset = [], [], 0
        for i, card in enumerate(cards):
            hay = "\n".join((card.uid, card.prompt, card.code)).casefold().replace("\0", " ")
            starts.append(offset)
            parts.append(hay)
            offset += len(hay) + 1
            for name, values in (
                ("decks", (card.deck_id,)),
                ("sections", (card.section,)),
                ("backends", (card.backend.value,)),
                ("kinds", (card.kind.value,)),
                ("tags", card.tags),
            ):
                for v in values:
                    fields[name].setdefault(v, []).append(i)
        return cls(
            cards,
            "\0".join(parts),
            tuple(starts),
            fields,
            {c.uid: i for i, c in enumerate(cards)},
            tuple(parts),
        )

    def __len__(self) -> int:
        return len(self.cards)

    def positions(self, query: CardQuery) -> list[int] | None:
        """The library positions of the cards matching the query's library side, in order (None: all)."""
        chosen: list[set[int]] = []
        for name in ("decks", "sections", "backends", "kinds", "tags"):
            values = getattr(query, name)
            if values:
                table = self.fields.get(name, {})
                chosen.append(set().union(*(table.get(v, ()) for v in values)))
        chosen.sort(key=len)  # intersect from the smallest: set work in C, as long as the smallest
        found: set[int] | None = chosen[0].intersection(*chosen[1:]) if chosen else None
        words = [w.replace("\0", " ") for w in query.words]
        if words:
            # The rarest word is looked up in the whole text; the others only in the cards it found.
            if len(words) > 1:
                words.sort(key=self.text.count)
            these = self._containing(words[0])
            found = these if found is None else found & these
            hays = self.hays
            for word in words[1:]:
                found = {i for i in found if word in hays[i]}
        return None if found is None else sorted(found)

    def matching(self, query: CardQuery) -> list[Card]:
        """The cards that match the query's library side, in library order (the state filter is the store's)."""
        found = self.positions(query)
        return list(self.cards) if found is None else [self.cards[i] for i in found]

    def _containing(self, word: str) -> set[int]:
        out: set[int] = set()
        text, starts = self.text, self.starts
        at = text.find(word)
        while at != -1:
            k = bisect_right(starts, at) - 1
            out.add(k)
            at = text.find(word, starts[k + 1]) if k + 1 < len(starts) else -1  # the next card on
        return out


class BrowserState:
    """What the card browser holds while it is open: the library index and every card's state, with
    the cards of each state listed ahead (at `now`), so each search is set work in memory.

    Load it with quiz.store.browse.open_browser; after an operation, `set_status` the cards it changed
    (or load it again). States that move with the clock (due, buried) are as of `now`: `refresh(now)`.
    """

    def __init__(self, index: CardIndex, statuses: dict[str, CardStatus], now: datetime) -> None:
        self.index = index
        self.statuses = statuses
        self.refresh(now)

    def refresh(self, now: datetime) -> None:
        self.now = now
        self.in_state: dict[str, set[int]] = {s: set() for s in STATES}
        for i, card in enumerate(self.index.cards):
            for label in self.statuses.get(card.uid, CardStatus()).labels(now):
                self.in_state[label].add(i)

    def status(self, uid: str) -> CardStatus:
        return self.statuses.get(uid, CardStatus())

    def set_status(self, uid: str, status: CardStatus) -> None:
        i = self.index.position.get(uid)
        old = self.statuses.get(uid, CardStatus())
        self.statuses[uid] = status
        if i is None:
            return
        for label in old.labels(self.now):
            self.in_state[label].discard(i)
        for label in status.labels(self.now):
            self.in_state[label].add(i)

    def search(self, query: CardQuery) -> list[int]:
        """The library positions of the matching cards, in library order."""
        found = self.index.positions(query)
        if not query.states:
            return list(range(len(self.index))) if found is None else found
        sets = sorted((self.in_state[s] for s in query.states), key=len)
        hits = set(sets[0]).intersection(*sets[1:])
        return sorted(hits if found is None else hits.intersection(found))

    def counts(self) -> dict[str, int]:
        """How many cards of the library are in each state."""
        return {s: len(v) for s, v in self.in_state.items()}


def filter_by_state(
    cards: Sequence[Card], statuses: dict[str, CardStatus], states: Sequence[str], now: datetime
) -> list[Card]:
    """The cards in all of `states` at `now` (a card without a status is new): the pure definition
    of what the store's query returns, used where the statuses are already at hand."""
    wanted = set(states)
    return [c for c in cards if wanted <= set(statuses.get(c.uid, CardStatus()).labels(now))]


# The browser's search box: `key:value` words filter (several values: `deck:a,b`), the rest is text.
SEARCH_KEYS = {
    "deck": "decks",
    "section": "sections",
    "backend": "backends",
    "kind": "kinds",
    "tag": "tags",
    "state": "states",
    "is": "states",
}


def parse_search(text: str) -> CardQuery:
    """`detach deck:autograd tag:interview is:suspended` as a CardQuery (QueryError: an unknown state).

    A word with an unknown key (`foo:bar`) is searched as text: card code is full of colons.
    """
    words: list[str] = []
    parts: dict[str, list[str]] = {}
    for word in text.split():
        key, sep, value = word.partition(":")
        field_name = SEARCH_KEYS.get(key.casefold()) if sep else None
        if field_name is None:
            words.append(word)
            continue
        parts.setdefault(field_name, []).extend(v for v in value.split(",") if v)
    return CardQuery(text=" ".join(words), **{k: tuple(v) for k, v in parts.items()})
