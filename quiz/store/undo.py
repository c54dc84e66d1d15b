"""Undo: take back the last answers (restore the card's memory from `review.state_before`, delete
the review), and set or clear bury and suspend (which return what they replaced, to undo them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from quiz.core.scheduling import Memory
from quiz.store.models import CardState, Review
from quiz.store.repo import state_columns

__all__ = ["UndoError", "UndoneReview", "undo_review", "set_buried", "set_suspended"]


class UndoError(RuntimeError):
    """The review cannot be taken back (gone, or the card was answered again since)."""


@dataclass(frozen=True, slots=True)
class UndoneReview:
    """What the taken-back review had asked and answered, to show the card again as it was."""

    card_uid: str
    seed: int
    variables: dict[str, Any]
    answer_given: str
    shown_at: datetime


def undo_review(session: Session, profile: str, review_id: int) -> UndoneReview:
    """Restore the card as it was before review `review_id` and delete the review. Commits.

    Only the card's latest review can be taken back (so several undos walk back in order).
    """
    row = session.get(Review, review_id)
    if row is None or row.profile != profile:
        raise UndoError("that answer is no longer in the history")
    if row.state_before is None:
        raise UndoError("that answer was saved before undo existed; it cannot be taken back")
    latest = session.scalar(
        select(func.max(Review.id)).where(Review.profile == profile, Review.card_uid == row.card_uid)
    )
    if latest != row.id:
        raise UndoError("the card was answered again since; take back the later answer first")
    values = state_columns(Memory.from_dict(row.state_before))
    if values["state"] == 0:
        values["introduced_at"] = None  # it counts against today's new cards no more
    session.execute(
        update(CardState)
        .where(CardState.profile == profile, CardState.card_uid == row.card_uid)
        .values(**values)
    )
    undone = UndoneReview(row.card_uid, row.seed, dict(row.variables), row.answer_given, row.shown_at)
    session.execute(delete(Review).where(Review.id == row.id))
    session.commit()
    return undone


def set_buried(session: Session, profile: str, card_uid: str, until: datetime | None) -> datetime | None:
    """Hide the card from the queue until `until` (None: unbury). Returns the previous value. Commits."""
    previous = session.scalar(
        select(CardState.buried_until).where(CardState.profile == profile, CardState.card_uid == card_uid)
    )
    session.execute(
        update(CardState)
        .where(CardState.profile == profile, CardState.card_uid == card_uid)
        .values(buried_until=until)
    )
    session.commit()
    return previous


def set_suspended(session: Session, profile: str, card_uid: str, suspended: bool) -> bool:
    """Take the card out of the queue (or put it back). Returns the previous value. Commits."""
    previous = session.scalar(
        select(CardState.suspended).where(CardState.profile == profile, CardState.card_uid == card_uid)
    )
    session.execute(
        update(CardState)
        .where(CardState.profile == profile, CardState.card_uid == card_uid)
        .values(suspended=suspended)
    )
    session.commit()
    return bool(previous)
