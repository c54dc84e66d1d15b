"""The card browser's queries and operations: search, one card's review history, state counts, and
suspend/unsuspend, bury/unbury and reset (forget) of chosen cards.

The library side of a search is matched in memory (quiz.core.browse.CardIndex); the state side
here, in SQL, following `CardStatus.labels`. Cards are expected to be synced (repo.sync_library):
a card without a state row is shown as new but found by no state filter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from quiz.core.browse import BrowserState, CardIndex, CardQuery, CardStatus
from quiz.core.cards import Card
from quiz.core.stats import LEECH_LAPSES
from quiz.store.models import CardState, Review

__all__ = [
    "BrowseResult",
    "BrowseRow",
    "HistoryEntry",
    "browse_page",
    "bury_cards",
    "card_history",
    "open_browser",
    "reset_cards",
    "search_cards",
    "state_counts",
    "statuses_of",
    "suspend_cards",
]

# Above this many candidate cards the state query reads the profile's matching uids instead of
# sending the candidates to the database as an IN list.
IN_LIST_MAX = 2000
STATUS_COLUMNS = (
    CardState.state,
    CardState.due,
    CardState.stability,
    CardState.difficulty,
    CardState.reps,
    CardState.lapses,
    CardState.suspended,
    CardState.buried_until,
    CardState.last_review,
)


@dataclass(frozen=True, slots=True)
class BrowseRow:
    """One card in the browser: the card, its state, and a summary of its reviews."""

    card: Card
    status: CardStatus
    reviews: int = 0
    graded: int = 0
    correct: int = 0
    last_reviewed: datetime | None = None

    def to_dict(self, now: datetime) -> dict[str, Any]:
        c, st = self.card, self.status
        return {
            "uid": c.uid,
            "deck": c.deck_id,
            "id": c.id,
            "section": c.section,
            "backend": c.backend.value,
            "kind": c.kind.value,
            "tags": list(c.tags),
            "prompt": c.prompt,
            "state": st.primary(now),
            "states": list(st.labels(now)),
            "due": st.due.isoformat() if st.due else None,
            "stability": st.stability,
            "difficulty": st.difficulty,
            "reps": st.reps,
            "lapses": st.lapses,
            "suspended": st.suspended,
            "buried_until": st.buried_until.isoformat() if st.buried(now) and st.buried_until else None,
            "reviews": self.reviews,
            "graded": self.graded,
            "correct": self.correct,
            "last_reviewed": self.last_reviewed.isoformat() if self.last_reviewed else None,
            "file": c.location.path,
            "line": c.location.line,
        }


@dataclass(frozen=True, slots=True)
class BrowseResult:
    """A page of matches (`rows`), out of `total`; `uids` lists all the matches, in library order."""

    rows: list[BrowseRow]
    total: int
    index: CardIndex
    positions: list[int] | None  # library positions of every match; None: every card

    @property
    def uids(self) -> list[str]:
        cards = self.index.cards
        return [c.uid for c in cards] if self.positions is None else [cards[i].uid for i in self.positions]


def _state_condition(state: str, now: datetime) -> Any:
    not_buried = or_(CardState.buried_until.is_(None), CardState.buried_until <= now)
    return {
        "new": CardState.state == 0,
        "learning": CardState.state.in_((1, 3)),
        "review": CardState.state == 2,
        "due": and_(
            CardState.state != 0,
            CardState.due.is_not(None),
            CardState.due <= now,
            CardState.suspended.is_(False),
            not_buried,
        ),
        "suspended": CardState.suspended.is_(True),
        "buried": and_(CardState.buried_until.is_not(None), CardState.buried_until > now),
        "leech": CardState.lapses >= LEECH_LAPSES,
    }[state]


def search_cards(
    session: Session,
    profile: str,
    index: CardIndex,
    query: CardQuery,
    *,
    now: datetime,
    limit: int | None = 100,
    offset: int = 0,
) -> BrowseResult:
    """The cards matching `query`, in library order: `limit` rows from `offset` (None: all), and the total."""
    found = index.positions(query)  # None: every card
    statuses: dict[str, CardStatus] = {}
    if query.states and found is not None and len(found) <= IN_LIST_MAX:
        # Few candidates: read their states through the (profile, card_uid) index and filter them
        # here, by the one definition (a state condition in SQL would send SQLite down a state index).
        statuses = statuses_of(session, profile, [index.cards[i].uid for i in found])
        wanted = set(query.states)
        found = [
            i for i in found if wanted <= set(statuses.get(index.cards[i].uid, CardStatus()).labels(now))
        ]
    elif query.states:
        where = [CardState.profile == profile, *(_state_condition(s, now) for s in query.states)]
        if query.decks:
            where.append(CardState.deck_id.in_(list(query.decks)))
        position = index.position
        hits = [
            position[u] for u in session.scalars(select(CardState.card_uid).where(*where)) if u in position
        ]
        if found is None:
            found = sorted(hits)
        else:
            candidates = set(found)
            found = sorted(i for i in hits if i in candidates)
    total = len(index) if found is None else len(found)
    end = None if limit is None else offset + limit
    page_positions = range(total)[offset:end] if found is None else found[offset:end]
    page = [index.cards[i] for i in page_positions]
    missing = [c.uid for c in page if c.uid not in statuses]
    if missing:
        statuses.update(statuses_of(session, profile, missing))
    tallies = _review_tallies(session, profile, [c.uid for c in page])
    rows = [
        BrowseRow(c, statuses.get(c.uid, CardStatus()), *tallies.get(c.uid, (0, 0, 0, None))) for c in page
    ]
    return BrowseResult(rows, total, index, found)


def open_browser(session: Session, profile: str, index: CardIndex, *, now: datetime) -> BrowserState:
    """Every card's state, read once, for a browser that searches in memory (quiz.core.browse.BrowserState)."""
    statuses = {
        uid: CardStatus(*values)
        for uid, *values in session.execute(
            select(CardState.card_uid, *STATUS_COLUMNS).where(CardState.profile == profile)
        )
    }
    return BrowserState(index, statuses, now)


def browse_page(
    session: Session,
    profile: str,
    browser: BrowserState,
    positions: Sequence[int],
    *,
    limit: int = 100,
    offset: int = 0,
) -> list[BrowseRow]:
    """The rows of one page of a browser search: states from the browser, review tallies from the database."""
    page = [browser.index.cards[i] for i in positions[offset : offset + limit]]
    tallies = _review_tallies(session, profile, [c.uid for c in page])
    return [BrowseRow(c, browser.status(c.uid), *tallies.get(c.uid, (0, 0, 0, None))) for c in page]


def statuses_of(session: Session, profile: str, uids: Sequence[str]) -> dict[str, CardStatus]:
    """The state of each of these cards that has a state row."""
    out: dict[str, CardStatus] = {}
    for chunk in _chunks(uids):
        for uid, *values in session.execute(
            select(CardState.card_uid, *STATUS_COLUMNS).where(
                CardState.profile == profile, CardState.card_uid.in_(chunk)
            )
        ):
            out[uid] = CardStatus(*values)
    return out


def _review_tallies(
    session: Session, profile: str, uids: Sequence[str]
) -> dict[str, tuple[int, int, int, datetime | None]]:
    out: dict[str, tuple[int, int, int, datetime | None]] = {}
    for chunk in _chunks(uids):
        rows = session.execute(
            select(
                Review.card_uid,
                func.count(),
                func.count(Review.correct),
                func.sum(case((Review.correct.is_(True), 1), else_=0)),
                func.max(Review.reviewed_at),
            )
            .where(Review.profile == profile, Review.card_uid.in_(chunk))
            .group_by(Review.card_uid)
        )
        for uid, n, graded, correct, last in rows:
            out[uid] = (int(n), int(graded), int(correct or 0), _aware(last))
    return out


def _aware(value: Any) -> datetime | None:
    # An aggregate comes back without the column's type: SQLite gives the stored text.
    if value is None:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(when, datetime)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _chunks(uids: Sequence[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(uids), size):
        yield list(uids[i : i + size])


def state_counts(session: Session, profile: str, *, now: datetime) -> dict[str, int]:
    """How many of the learner's cards are in each state of STATES (one card may count in several)."""
    from quiz.core.browse import STATES

    row = session.execute(
        select(*(func.sum(case((_state_condition(s, now), 1), else_=0)) for s in STATES)).where(
            CardState.profile == profile
        )
    ).one()
    return {s: int(n or 0) for s, n in zip(STATES, row)}


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One review of a card: the variant shown (seed and drawn values), the answer, the truth, the rating."""

    id: int
    reviewed_at: datetime
    shown_at: datetime
    rating: int
    correct: bool | None
    answer: str
    expected: str | None
    error: str | None
    seed: int
    variables: dict[str, Any]
    backend: str
    device: str
    version: str
    response_ms: int
    run_ms: float | None
    due_after: datetime | None
    state_after: int | None
    state_before: int | None

    def lines(self) -> list[str]:
        """The review as text (raw deck and answer text: the caller makes it visible for its screen)."""
        import json

        from quiz.core.previews import RATING_NAMES

        mark = {True: "right", False: "wrong", None: "ungraded"}[self.correct]
        values = json.dumps(self.variables, ensure_ascii=False, sort_keys=True)
        out = [
            f"{self.reviewed_at.astimezone():%Y-%m-%d %H:%M}  {RATING_NAMES.get(self.rating, self.rating)} "
            f"({self.rating})  {mark}  {self.backend} {self.version}  {self.response_ms / 1000:.1f}s",
            f"    variant: seed {self.seed}  values {values}",
            f"    answered {self.answer}" + (f"  truth {self.expected}" if self.expected is not None else ""),
        ]
        if self.error:
            out.append(f"    error: {self.error}")
        return out

    def to_dict(self) -> dict[str, Any]:
        from quiz.core.previews import RATING_NAMES

        return {
            "id": self.id,
            "reviewed_at": self.reviewed_at.isoformat(),
            "shown_at": self.shown_at.isoformat(),
            "rating": self.rating,
            "rating_name": RATING_NAMES.get(self.rating, str(self.rating)),
            "correct": self.correct,
            "answer": self.answer,
            "expected": self.expected,
            "error": self.error,
            "seed": self.seed,
            "variables": self.variables,
            "backend": self.backend,
            "device": self.device,
            "version": self.version,
            "response_ms": self.response_ms,
            "run_ms": self.run_ms,
            "due_after": self.due_after.isoformat() if self.due_after else None,
            "state_before": self.state_before,
            "state_after": self.state_after,
        }


def card_history(
    session: Session, profile: str, card_uid: str, limit: int | None = None
) -> list[HistoryEntry]:
    """The card's reviews, newest first, each with the variant that was shown."""
    # Ordered here, not in SQL: ORDER BY reviewed_at would lead SQLite to walk the whole profile's
    # reviews by time (ix_review_profile_time) instead of this card's few (ix_review_card).
    rows = sorted(
        session.scalars(select(Review).where(Review.profile == profile, Review.card_uid == card_uid)),
        key=lambda r: (r.reviewed_at, r.id),
        reverse=True,
    )
    if limit is not None:
        rows = rows[:limit]
    out = []
    for r in rows:
        before = r.state_before.get("state") if isinstance(r.state_before, dict) else None
        after = r.state_after.get("state") if isinstance(r.state_after, dict) else None
        out.append(
            HistoryEntry(
                id=r.id,
                reviewed_at=r.reviewed_at,
                shown_at=r.shown_at,
                rating=r.rating,
                correct=r.correct,
                answer=r.answer_given,
                expected=r.expected,
                error=r.error,
                seed=r.seed,
                variables=dict(r.variables or {}),
                backend=r.backend,
                device=r.device,
                version=r.framework_version,
                response_ms=r.response_ms,
                run_ms=r.run_ms,
                due_after=r.due_after,
                state_after=after,
                state_before=before,
            )
        )
    return out


# --- operations: each commits and returns how many cards it changed -----------------------------


def suspend_cards(session: Session, profile: str, uids: Iterable[str], suspended: bool = True) -> int:
    """Take the cards out of the queue (`suspended=False`: put them back). Lasts until changed again."""
    return _update(session, profile, uids, [CardState.suspended.is_not(suspended)], {"suspended": suspended})


def bury_cards(session: Session, profile: str, uids: Iterable[str], until: datetime | None) -> int:
    """Hide the cards until `until` (None: unbury: back in the queue now)."""
    if until is None:
        return _update(session, profile, uids, [CardState.buried_until.is_not(None)], {"buried_until": None})
    changed = or_(CardState.buried_until.is_(None), CardState.buried_until != until)
    return _update(session, profile, uids, [changed], {"buried_until": until})


def reset_cards(session: Session, profile: str, uids: Iterable[str]) -> int:
    """Forget the cards: back to new in their old place among the new cards; their reviews stay in the
    history (statistics, `--history`). Suspension and burial are left as they are."""
    values = {
        "state": 0,
        "step": None,
        "stability": None,
        "difficulty": None,
        "due": None,
        "last_review": None,
        "reps": 0,
        "lapses": 0,
        "introduced_at": None,
    }
    return _update(session, profile, uids, [or_(CardState.state != 0, CardState.reps != 0)], values)


def _update(
    session: Session, profile: str, uids: Iterable[str], changed: list[Any], values: dict[str, Any]
) -> int:
    n = 0
    for chunk in _chunks(list(dict.fromkeys(uids))):
        result = session.execute(
            update(CardState)
            .where(CardState.profile == profile, CardState.card_uid.in_(chunk), *changed)
            .values(**values)
        )
        n += int(result.rowcount)  # type: ignore[attr-defined]
    session.commit()
    return n
