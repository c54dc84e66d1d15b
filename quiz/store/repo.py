"""Repository functions: each takes a Session and does one thing the app needs."""

from __future__ import annotations

import random
import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    Integer,
    String,
    bindparam,
    cast,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from quiz.core.queue import new_card_order, pick_next, reviews_left
from quiz.core.scheduling import CardState as MemState
from quiz.core.scheduling import Memory
from quiz.store import direct
from quiz.store.models import CardState, Review, Setting
from quiz.store.settings_repo import save_settings
from quiz.store.types import UTCDateTime

__all__ = [
    "sync_cards",
    "sync_library",
    "bury_siblings",
    "reviews_done_since",
    "memory_of",
    "next_card_uid",
    "record_review",
    "ReviewInput",
    "queue_counts",
    "new_introduced_since",
    "reviewed_since",
    "last_reviews",
]


def sync_cards(session: Session, profile: str, cards: Iterable[tuple[str, str]]) -> int:
    """Make sure every library card has a state row (new cards keep the library's order).

    Returns the number of cards added. Commits.
    """
    wanted = list(cards)
    existing = set(session.scalars(select(CardState.card_uid).where(CardState.profile == profile)).all())
    missing = [(uid, deck) for uid, deck in wanted if uid not in existing]
    if not missing:
        return 0
    start = (
        session.scalar(
            select(func.coalesce(func.max(CardState.position), 0)).where(CardState.profile == profile)
        )
        or 0
    )
    session.execute(
        insert(CardState),
        [
            {
                "profile": profile,
                "card_uid": uid,
                "deck_id": deck,
                "state": 0,
                "reps": 0,
                "lapses": 0,
                "position": start + i + 1,
                "suspended": False,
            }
            for i, (uid, deck) in enumerate(missing)
        ],
    )
    session.commit()
    return len(missing)


def memory_from_row(row: CardState | None) -> Memory:
    """A card_state row as the core's Memory (a fresh Memory for a card never seen)."""
    if row is None:
        return Memory()
    return Memory(
        state=MemState(row.state),
        step=row.step,
        stability=row.stability,
        difficulty=row.difficulty,
        due=row.due,
        last_review=row.last_review,
        reps=row.reps,
        lapses=row.lapses,
    )


def _not_buried(now: datetime) -> Any:
    return or_(CardState.buried_until.is_(None), CardState.buried_until <= now)


def state_columns(memory: Memory) -> dict[str, Any]:
    """The card_state columns that hold a Memory."""
    return {
        "state": int(memory.state),
        "step": memory.step,
        "stability": memory.stability,
        "difficulty": memory.difficulty,
        "due": memory.due,
        "last_review": memory.last_review,
        "reps": memory.reps,
        "lapses": memory.lapses,
    }


def memory_of(session: Session, profile: str, card_uid: str) -> Memory:
    row = session.scalars(
        select(CardState).where(CardState.profile == profile, CardState.card_uid == card_uid)
    ).first()
    return memory_from_row(row)


def new_introduced_since(session: Session, profile: str, since: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(CardState)
            .where(CardState.profile == profile, CardState.introduced_at >= since)
        )
        or 0
    )


def reviewed_since(session: Session, profile: str, since: datetime) -> int:
    """How many answers were rated since `since` (today's progress)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Review)
            .where(Review.profile == profile, Review.reviewed_at >= since)
        )
        or 0
    )


def has_reviews(session: Session, profile: str) -> bool:
    """Whether the profile has answered anything, ever (the first run is welcomed)."""
    return session.scalar(select(Review.id).where(Review.profile == profile).limit(1)) is not None


def reviews_done_since(session: Session, profile: str, since: datetime) -> int:
    """How many review cards (not new, not in their learning steps) were answered since `since`:
    what the daily review cap counts."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Review)
            .where(
                Review.profile == profile,
                Review.reviewed_at >= since,
                Review.state_before["state"].as_integer() == int(MemState.REVIEW),
            )
        )
        or 0
    )


def _pages(session: Session, stmt: Any, first: int) -> Iterator[Any]:
    """The rows of `stmt`, fetched a page at a time (growing pages) as the caller reads on: the queue
    reads only as far as it must, however few of the rows the session can use."""
    offset, size = 0, first
    while True:
        rows = session.execute(stmt.offset(offset).limit(size)).all()
        yield from rows
        if len(rows) < size:
            return
        offset += size
        size = min(size * 4, 5000)


def next_card_uid(
    session: Session,
    profile: str,
    *,
    now: datetime,
    new_limit: int,
    day_start: datetime,
    usable: Callable[[str], bool] = lambda _: True,
    learn_ahead: timedelta = timedelta(minutes=20),
    batch: int = 50,
    deck_ids: Iterable[str] | None = None,
    reviews_per_day: int | None = None,
) -> str | None:
    """The card to study next: due first, then new (within today's limit), then learning ahead.

    `reviews_per_day` caps the review cards answered a day (learning cards are never capped).
    The first page comes in one query (`_queue_head`): on a shared server under a class's load, the
    study loop's round trips and statement building were most of a client's CPU. Only when `usable`
    turned cards down and a page was full (a narrow session: a tag, a backend) are the rows read on
    page by page, so such a session still finds its cards behind any number of others.
    """
    left = (
        None
        if reviews_per_day is None
        else reviews_left(reviews_per_day, reviews_done_since(session, profile, day_start))
    )
    if left != 0:
        params: dict[str, Any] = {
            "profile": profile,
            "now": now,
            "horizon": now + learn_ahead,
            "day_start": day_start,
            "batch": batch,
        }
        if deck_ids is not None:
            params["deck_ids"] = list(deck_ids)
        head_due: list[tuple[datetime, str]] = []
        head_new: list[str] = []
        memories: dict[str, Sequence[Any]] = {}
        introduced = 0
        for part, when, uid, count, *memory in _queue_head_rows(session, params, deck_ids is not None):
            if part == 0 and when is not None:
                head_due.append((when, uid))
                memories[uid] = memory
            elif part == 1:
                head_new.append(uid)
                memories[uid] = memory
            elif part == 2:
                introduced = int(count or 0)
        turned_down = 0

        def counted(uid: str) -> bool:
            nonlocal turned_down
            ok = usable(uid)
            turned_down += not ok
            return ok

        picked = pick_next(
            head_due,
            head_new,
            now=now,
            new_left_today=max(0, new_limit - introduced),
            usable=counted,
            learn_ahead=learn_ahead,
        )
        # With nothing turned down, the first page decides exactly as all the rows would.
        if turned_down == 0 or (len(head_due) < batch and len(head_new) < batch):
            if picked is not None:
                _remember_shown(session, profile, picked, memories.get(picked))
            return picked
    horizon = now + learn_ahead
    scope = [CardState.profile == profile, CardState.suspended.is_(False), _not_buried(now)]
    if deck_ids is not None:
        scope.append(CardState.deck_id.in_(list(deck_ids)))
    due_scope = [*scope, CardState.due.is_not(None), CardState.due <= horizon]
    if left == 0:
        due_scope.append(CardState.state != int(MemState.REVIEW))
    due_rows = _pages(
        session,
        select(CardState.due, CardState.card_uid).where(*due_scope).order_by(CardState.due, CardState.id),
        batch,
    )
    new_left = max(0, new_limit - new_introduced_since(session, profile, day_start))
    new_rows = (
        row[0]
        for row in _pages(
            session,
            select(CardState.card_uid)
            .where(*scope, CardState.state == 0)
            .order_by(CardState.position, CardState.id),
            batch,
        )
    )
    return pick_next(
        ((due, uid) for due, uid in due_rows if due is not None),
        new_rows if new_left > 0 else (),
        now=now,
        new_left_today=new_left,
        usable=usable,
        learn_ahead=learn_ahead,
    )


def _remember_shown(session: Session, profile: str, uid: str, memory: Sequence[Any] | None) -> None:
    """On PostgreSQL the app keeps the picked card's memory as read (quiz.store.direct.remembered):
    saving its review then needs no second read, unless another device answered the card meanwhile."""
    bind = session.get_bind()
    if memory is not None and isinstance(bind, Engine) and direct.available(bind):
        state, step, stability, difficulty, due, last_review, reps, lapses = memory
        direct.remember(
            bind,
            profile,
            uid,
            Memory(MemState(state), step, stability, difficulty, due, last_review, reps, lapses),
        )


_QUEUE_HEAD: dict[bool, Any] = {}
_QUEUE_HEAD_SQL: dict[Any, tuple[str, dict[str, Any]]] = {}
_UTC_PARAM = UTCDateTime()


def _queue_head_rows(session: Session, params: dict[str, Any], with_decks: bool) -> Iterable[Sequence[Any]]:
    """The rows of `_queue_head`. On PostgreSQL (psycopg), when the session has nothing open, as one
    autocommit statement through the driver (quiz.store.direct): no BEGIN and ROLLBACK around it, and
    the statement stays prepared on the connection. Else in the session, as any query."""
    bind = session.get_bind()
    if with_decks or session.in_transaction() or not isinstance(bind, Engine) or not direct.available(bind):
        return session.connection().execute(_queue_head(with_decks), params).all()
    dialect = bind.dialect
    key = (dialect.name, dialect.driver, dialect.server_version_info)
    if key not in _QUEUE_HEAD_SQL:
        compiled = _queue_head(False).compile(dialect=dialect)
        # The statement's literals (part numbers, the new state) are bound parameters: keep their values.
        _QUEUE_HEAD_SQL[key] = str(compiled), compiled.construct_params(params)
    sql, fixed = _QUEUE_HEAD_SQL[key]
    values = {**fixed, **params}
    for name in ("now", "horizon", "day_start"):
        values[name] = _UTC_PARAM.process_bind_param(values[name], dialect)
    with direct.cursor(bind) as cursor:
        cursor.execute(sql, values)
        rows = cursor.fetchall()
    utc = _UTC_PARAM.process_result_value
    return [
        (
            part,
            utc(when, dialect),
            uid,
            n,
            state,
            step,
            stability,
            difficulty,
            utc(due, dialect),
            utc(last, dialect),
            reps,
            lapses,
        )
        for part, when, uid, n, state, step, stability, difficulty, due, last, reps, lapses in rows
    ]


def _queue_head(with_decks: bool) -> Any:
    """Built once: (part, due, card_uid, count, *memory) rows — part 0 the earliest due cards up to the
    horizon, 1 the next new cards, 2 how many cards were first answered since day_start; `memory` is
    the card's state, step, stability, difficulty, due, last_review, reps and lapses (parts 0 and 1)."""
    if with_decks in _QUEUE_HEAD:
        return _QUEUE_HEAD[with_decks]
    t = CardState.__table__.c
    when = CardState.__table__.c.due.type
    memory = (
        t.state,
        t.step,
        t.stability,
        t.difficulty,
        t.due.label("m_due"),
        t.last_review,
        t.reps,
        t.lapses,
    )
    scope = [
        t.profile == bindparam("profile"),
        t.suspended.is_(False),
        or_(t.buried_until.is_(None), t.buried_until <= bindparam("now", type_=when)),
    ]
    if with_decks:
        scope.append(t.deck_id.in_(bindparam("deck_ids", expanding=True)))
    due = (
        select(t.due, t.card_uid, *memory)
        .where(*scope, t.due.is_not(None), t.due <= bindparam("horizon", type_=when))
        .order_by(t.due)
        .limit(bindparam("batch"))
        .subquery()
    )
    new = (
        select(t.card_uid, t.position, *memory)
        .where(*scope, t.state == 0)
        .order_by(t.position)
        .limit(bindparam("batch"))
        .subquery()
    )
    no_count = cast(null(), Integer)
    names = ("state", "step", "stability", "difficulty", "m_due", "last_review", "reps", "lapses")
    no_memory = [cast(null(), t[name].type if name != "m_due" else when) for name in names]
    head = union_all(
        select(
            literal(0).label("part"),
            due.c.due,
            due.c.card_uid,
            no_count.label("n"),
            literal(0).label("k"),
            *(due.c[name] for name in names),
        ),
        select(
            literal(1),
            cast(null(), when),
            new.c.card_uid,
            no_count,
            new.c.position,
            *(new.c[n] for n in names),
        ),
        select(
            literal(2), cast(null(), when), cast(null(), String), func.count(), literal(0), *no_memory
        ).where(t.profile == bindparam("profile"), t.introduced_at >= bindparam("day_start", type_=when)),
    ).subquery()
    stmt = select(
        head.c.part, head.c.due, head.c.card_uid, head.c.n, *(head.c[name] for name in names)
    ).order_by(head.c.part, head.c.due, head.c.k)
    _QUEUE_HEAD[with_decks] = stmt
    return stmt


@dataclass(frozen=True, slots=True)
class ReviewInput:
    """Everything about one answered card that goes into the review row."""

    card_uid: str
    deck_id: str
    seed: int
    variables: dict[str, Any]
    answer_given: str
    expected: str | None
    correct: bool | None
    error: str | None
    rating: int
    backend: str
    device: str
    framework_version: str
    response_ms: int
    run_ms: float | None
    shown_at: datetime
    reviewed_at: datetime
    uuid: str | None = None


def review_columns(review: ReviewInput, before: Memory, after: Memory) -> dict[str, Any]:
    """The review table's columns for one review, besides its id, uuid and profile (both write paths)."""
    return {
        "card_uid": review.card_uid,
        "seed": review.seed,
        "variables": review.variables,
        "answer_given": review.answer_given,
        "expected": review.expected,
        "correct": review.correct,
        "error": review.error,
        "rating": review.rating,
        "backend": review.backend,
        "device": review.device,
        "framework_version": review.framework_version,
        "response_ms": review.response_ms,
        "run_ms": review.run_ms,
        "shown_at": review.shown_at,
        "reviewed_at": review.reviewed_at,
        "state_after": after.to_dict(),
        "due_after": after.due,
        "state_before": before.to_dict(),
    }


def record_review(session: Session, profile: str, review: ReviewInput, before: Memory, after: Memory) -> int:
    """Insert the review and update the card's memory in one transaction, then commit.

    Returns the review id. Committed on its own, so a crash right after loses nothing.
    """
    row = Review(
        uuid=review.uuid or str(uuidlib.uuid4()),
        profile=profile,
        **review_columns(review, before, after),
    )
    session.add(row)
    values = state_columns(after)
    if before.state == MemState.NEW:
        values["introduced_at"] = review.reviewed_at
    result = session.execute(
        update(CardState)
        .where(CardState.profile == profile, CardState.card_uid == review.card_uid)
        .values(**values)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        session.add(
            CardState(profile=profile, card_uid=review.card_uid, deck_id=review.deck_id, position=0, **values)
        )
    session.flush()
    review_id = row.id
    session.commit()
    return review_id


@dataclass(frozen=True, slots=True)
class QueueCounts:
    due: int
    new: int
    learning: int
    reviewed_today: int
    new_today: int


def queue_counts(
    session: Session,
    profile: str,
    *,
    now: datetime,
    day_start: datetime,
    new_limit: int,
    deck_id: str | None = None,
) -> QueueCounts:
    where = [CardState.profile == profile, CardState.suspended.is_(False)]
    if deck_id:
        where.append(CardState.deck_id == deck_id)
    due = session.scalar(
        select(func.count()).select_from(CardState).where(*where, CardState.state == 2, CardState.due <= now)
    )
    learning = session.scalar(
        select(func.count())
        .select_from(CardState)
        .where(*where, CardState.state.in_((1, 3)), CardState.due <= now)
    )
    new_total = session.scalar(
        select(func.count()).select_from(CardState).where(*where, CardState.state == 0)
    )
    new_today = new_introduced_since(session, profile, day_start)
    reviewed_today = session.scalar(
        select(func.count())
        .select_from(Review)
        .where(Review.profile == profile, Review.reviewed_at >= day_start)
    )
    return QueueCounts(
        due=int(due or 0),
        new=min(int(new_total or 0), max(0, new_limit - new_today)),
        learning=int(learning or 0),
        reviewed_today=int(reviewed_today or 0),
        new_today=new_today,
    )


def last_reviews(
    session: Session, profile: str, card_uid: str | None = None, limit: int = 20
) -> list[Review]:
    stmt = select(Review).where(Review.profile == profile)
    if card_uid:
        stmt = stmt.where(Review.card_uid == card_uid)
    return list(session.scalars(stmt.order_by(Review.id.desc()).limit(limit)))


@dataclass(frozen=True, slots=True)
class Upcoming:
    """The head of the queue: earliest due cards and next new cards (each list may be cut short)."""

    due: list[tuple[datetime, str]]
    due_complete: bool
    new: list[str]
    new_complete: bool


def upcoming(
    session: Session,
    profile: str,
    *,
    now: datetime,
    deck_ids: Iterable[str] | None = None,
    limit: int = 50,
) -> Upcoming:
    scope = [CardState.profile == profile, CardState.suspended.is_(False), _not_buried(now)]
    if deck_ids is not None:
        scope.append(CardState.deck_id.in_(list(deck_ids)))
    due_rows = session.execute(
        select(CardState.due, CardState.card_uid)
        .where(*scope, CardState.due.is_not(None))
        .order_by(CardState.due)
        .limit(limit + 1)
    ).all()
    new_rows = list(
        session.scalars(
            select(CardState.card_uid)
            .where(*scope, CardState.state == 0)
            .order_by(CardState.position)
            .limit(limit + 1)
        )
    )
    due = [(d, u) for d, u in due_rows if d is not None]
    return Upcoming(due[:limit], len(due) <= limit, new_rows[:limit], len(new_rows) <= limit)


def _profile_seed(profile: str) -> random.Random:
    # The same shuffle for the same learner on every start and every device.
    return random.Random(f"new-card-order:{profile}")


APPLIED_ORDER_KEY = "_new_card_order_applied"  # a setting row the learner never edits


def sync_library(
    session: Session, profile: str, cards: Sequence[Any], *, now: datetime, order: str = "by-topic"
) -> int:
    """Give every library card a state row, new cards in `order` (quiz.core.queue.new_card_order).

    With the by-topic order (the default) new cards are added after the existing ones, as always.
    When the order setting changed since the last sync, or cards were added under another order,
    the new cards still waiting are renumbered in the chosen order. Returns the cards added. Commits.
    """
    ordered = new_card_order(cards, order, _profile_seed(profile))
    added = sync_cards(session, profile, [(c.uid, c.deck_id) for c in ordered])
    applied = session.scalar(
        select(Setting.value).where(Setting.profile == profile, Setting.key == APPLIED_ORDER_KEY)
    )
    unchanged = applied == order or (applied is None and order == "by-topic")
    if unchanged and (not added or order == "by-topic"):
        return added
    waiting = set(
        session.scalars(select(CardState.card_uid).where(CardState.profile == profile, CardState.state == 0))
    )
    rows = [{"uid": c.uid, "pos": i + 1} for i, c in enumerate(c for c in ordered if c.uid in waiting)]
    if rows:
        session.connection().execute(
            update(CardState)
            .where(CardState.profile == profile, CardState.card_uid == bindparam("uid"))
            .values(position=bindparam("pos")),
            rows,
        )
    save_settings(session, profile, {APPLIED_ORDER_KEY: order}, now)
    return added


def bury_siblings(
    session: Session, profile: str, card_uids: Iterable[str], until: datetime
) -> dict[str, datetime | None]:
    """Hide these siblings of a card just answered until `until` (the next study day).

    New and review cards only: a card in its learning steps keeps them. A card buried longer
    already stays so. Returns each buried card's previous `buried_until` (for undo). Commits.
    """
    uids = list(card_uids)
    if not uids:
        return {}
    rows = session.execute(
        select(CardState.card_uid, CardState.buried_until).where(
            CardState.profile == profile,
            CardState.card_uid.in_(uids),
            CardState.state.in_((int(MemState.NEW), int(MemState.REVIEW))),
            CardState.suspended.is_(False),
            or_(CardState.buried_until.is_(None), CardState.buried_until < until),
        )
    ).all()
    previous = {uid: before for uid, before in rows}
    if previous:
        session.execute(
            update(CardState)
            .where(CardState.profile == profile, CardState.card_uid.in_(list(previous)))
            .values(buried_until=until)
        )
    session.commit()
    return previous
