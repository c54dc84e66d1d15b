"""Facts for the statistics (quiz.core.stats): every card's place in the schedule, the review history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quiz.core.stats import CardFact, ReviewFact
from quiz.store.models import CardState, Review

__all__ = ["card_facts", "review_facts", "next_due"]


def card_facts(session: Session, profile: str) -> list[CardFact]:
    rows = session.execute(
        select(
            CardState.card_uid,
            CardState.deck_id,
            CardState.state,
            CardState.due,
            CardState.reps,
            CardState.lapses,
            CardState.suspended,
            CardState.buried_until,
        ).where(CardState.profile == profile)
    ).all()
    return [CardFact(*row) for row in rows]


def review_facts(session: Session, profile: str, since: datetime | None = None) -> list[ReviewFact]:
    stmt = select(
        Review.card_uid,
        Review.reviewed_at,
        Review.correct,
        Review.rating,
        Review.backend,
        Review.response_ms,
        Review.state_before,
    ).where(Review.profile == profile)
    if since is not None:
        stmt = stmt.where(Review.reviewed_at >= since)
    out = []
    for uid, at, correct, rating, backend, response_ms, before in session.execute(stmt.order_by(Review.id)):
        state = before.get("state") if isinstance(before, dict) else None
        out.append(ReviewFact(uid, at, correct, rating, backend, response_ms, state))
    return out


def next_due(session: Session, profile: str, after: datetime) -> datetime | None:
    """When the next scheduled card falls due after `after` (suspended cards left out)."""
    return session.scalar(
        select(func.min(CardState.due)).where(
            CardState.profile == profile, CardState.suspended.is_(False), CardState.due > after
        )
    )
