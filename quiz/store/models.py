"""The tables: each card's memory state per learner, and every review ever made."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from quiz.store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), float: Float()}


class CardState(Base):
    """One learner's memory of one card (FSRS state), and its place in the new-card queue."""

    __tablename__ = "card_state"
    __table_args__ = (
        UniqueConstraint("profile", "card_uid"),
        Index("ix_card_state_due", "profile", "suspended", "due"),
        Index("ix_card_state_new", "profile", "state", "suspended", "position"),
        Index("ix_card_state_introduced", "profile", "introduced_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    profile: Mapped[str] = mapped_column(String(64), default="default")
    card_uid: Mapped[str] = mapped_column(String(200))
    deck_id: Mapped[str] = mapped_column(String(100))
    state: Mapped[int] = mapped_column(default=0)  # 0 new, 1 learning, 2 review, 3 relearning
    step: Mapped[int | None]
    stability: Mapped[float | None]
    difficulty: Mapped[float | None]
    due: Mapped[datetime | None]  # NULL while new
    last_review: Mapped[datetime | None]
    reps: Mapped[int] = mapped_column(default=0)
    lapses: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)  # order of new cards
    introduced_at: Mapped[datetime | None]  # first review: counts against the daily new-card limit
    suspended: Mapped[bool] = mapped_column(default=False)
    buried_until: Mapped[datetime | None]  # hidden from the queue until then (bury)


class Review(Base):
    """One answered card: what was asked (seed, values), said, true, rated, and where it ran."""

    __tablename__ = "review"
    __table_args__ = (
        Index("ix_review_profile_time", "profile", "reviewed_at"),
        Index("ix_review_card", "profile", "card_uid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)  # idempotent inserts from clients
    profile: Mapped[str] = mapped_column(String(64), default="default")
    card_uid: Mapped[str] = mapped_column(String(200))
    seed: Mapped[int]
    variables: Mapped[dict[str, Any]]
    answer_given: Mapped[str] = mapped_column(Text)
    expected: Mapped[str | None] = mapped_column(Text)
    correct: Mapped[bool | None]
    error: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int]
    backend: Mapped[str] = mapped_column(String(20))
    device: Mapped[str] = mapped_column(String(20))
    framework_version: Mapped[str] = mapped_column(String(40))
    response_ms: Mapped[int]
    run_ms: Mapped[float | None]
    shown_at: Mapped[datetime]
    reviewed_at: Mapped[datetime]
    state_after: Mapped[dict[str, Any]]
    due_after: Mapped[datetime | None]
    state_before: Mapped[dict[str, Any] | None]  # the card's memory before: what undo restores


class Profile(Base):
    """A learner. One database can hold a whole class."""

    __tablename__ = "profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Setting(Base):
    """A learner's setting (backends, device, daily new cards, retention, theme...), as JSON."""

    __tablename__ = "setting"
    __table_args__ = (UniqueConstraint("profile", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(100))
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class Exam(Base):
    """A timed self-assessment: leaves the schedule alone, keeps its report."""

    __tablename__ = "exam"
    __table_args__ = (Index("ix_exam_profile_time", "profile", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    profile: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    config: Mapped[dict[str, Any]]  # sections, backends, questions, time limit, seed
    score: Mapped[int | None]
    total: Mapped[int | None]
    report: Mapped[dict[str, Any] | None]
    answers: Mapped[list[ExamAnswer]] = relationship(back_populates="exam", order_by="ExamAnswer.position")


class ExamAnswer(Base):
    __tablename__ = "exam_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exam.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    card_uid: Mapped[str] = mapped_column(String(200))
    seed: Mapped[int]
    variables: Mapped[dict[str, Any]]
    section: Mapped[str] = mapped_column(String(100))
    backend: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    answer_given: Mapped[str | None] = mapped_column(Text)
    expected: Mapped[str | None] = mapped_column(Text)
    correct: Mapped[bool | None]
    error: Mapped[str | None] = mapped_column(Text)
    time_ms: Mapped[int | None]
    answered_at: Mapped[datetime | None]
    exam: Mapped[Exam] = relationship(back_populates="answers")


class TrustedDeck(Base):
    """A deck from outside the library that the learner agreed to run, pinned to its content hash."""

    __tablename__ = "trusted_deck"
    __table_args__ = (UniqueConstraint("profile", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile: Mapped[str] = mapped_column(String(64))
    deck_id: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str | None] = mapped_column(Text)
    trusted_at: Mapped[datetime]


class SignInToken(Base):
    """A one-time sign-in to `quiz serve` for a learner; only its sha256 is kept, the token is shown once."""

    __tablename__ = "sign_in_token"
    __table_args__ = (Index("ix_sign_in_token_profile", "profile"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile: Mapped[str] = mapped_column(String(64))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]  # set when redeemed: a token signs in once


class WebSession(Base):
    """A signed-in browser of `quiz serve`: the sha256 of its cookie, whose it is, and until when."""

    __tablename__ = "web_session"
    __table_args__ = (Index("ix_web_session_profile", "profile"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile: Mapped[str] = mapped_column(String(64))
    session_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
