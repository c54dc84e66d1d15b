"""A class on one database: reviews committed exactly once under concurrency, and the class report.

Every learner's app writes to the same server. `commit_review` is how an
answer is saved: the review carries a UUID made before the first attempt,
and the new memory is only ever written over the memory it was computed
from (two devices of one learner cannot both build on the same old state).
On PostgreSQL that takes two round trips and no open transaction: read the
card's memory, compute the new one, then one statement locks the row, checks
that its memory is still the one read, inserts the review (unless its UUID
is already there) and updates the memory, committed on its own. When this
app has the card's memory already (it read it for the queue, or wrote it:
`quiz.store.direct.remembered`), the read is skipped and the statement checks
the row against that memory instead: one round trip.
When the memory is not the one built on (another device answered the card),
the statement writes nothing and the memory is read again; when it changed
between that read and the write too, the review is saved the careful way: the row is locked (FOR UPDATE; BEGIN IMMEDIATE on
SQLite, which always takes that way) while the new memory is computed.
Serialization failures, deadlocks, a busy SQLite file or a dropped
connection are retried. When a commit's reply was lost, the retry finds the
UUID already stored and returns that review instead of inserting another.

`class_report` aggregates per learner (profile) and per section: reviews,
retention (reviews of already-learned cards that were not forgotten), how
often the graded answer was right, and exam scores.
"""

from __future__ import annotations

import json
import random
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from quiz.core.scheduling import CardState as MemState
from quiz.core.scheduling import Memory
from quiz.store import direct, repo
from quiz.store.db import Store
from quiz.store.models import CardState, Exam, ExamAnswer, Profile, Review

__all__ = [
    "ClassReport",
    "LearnerRow",
    "SectionStats",
    "commit_review",
    "class_report",
    "retryable",
    "UNKNOWN_SECTION",
]

ATTEMPTS = 8
# SQLSTATEs worth another try: serialization failure, deadlock, lock not available,
# too many connections for now, the server shutting down or restarting, connection failures.
RETRY_SQLSTATES = {
    "40001",
    "40P01",
    "55P03",
    "53300",
    "57P01",
    "57P02",
    "57P03",
    "08000",
    "08001",
    "08003",
    "08006",
}
UNKNOWN_SECTION = "(unknown)"


def retryable(exc: DBAPIError) -> bool:
    """Is this a transient failure that the same transaction may pass on a second try?"""
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in RETRY_SQLSTATES:
        return True
    text = str(exc.orig).lower()
    return any(
        words in text
        for words in (
            "database is locked",  # SQLite: another writer held the file past busy_timeout
            "database table is locked",
            "server closed the connection",
            "too many clients",  # a full server at connect time carries no SQLSTATE
            "the database system is starting up",
            "the database system is shutting down",
        )
    )


def _stored(session: Session, review_uuid: str) -> tuple[int, Memory] | None:
    row = session.execute(select(Review.id, Review.state_after).where(Review.uuid == review_uuid)).first()
    if row is None:
        return None
    return int(row[0]), Memory.from_dict(row[1] or {})


def _locked_state(session: Session, profile: str, card_uid: str) -> CardState | None:
    return session.scalars(
        select(CardState)
        .where(CardState.profile == profile, CardState.card_uid == card_uid)
        .with_for_update()
    ).first()


def _create_state(store: Store, profile: str, review: repo.ReviewInput) -> None:
    try:
        with store.session() as s:
            s.add(
                CardState(
                    profile=profile,
                    card_uid=review.card_uid,
                    deck_id=review.deck_id,
                    state=0,
                    reps=0,
                    lapses=0,
                    position=0,
                    suspended=False,
                )
            )
            s.commit()
    except IntegrityError:
        pass  # another device made it first: just as good


# --- PostgreSQL: the review in one statement, written only over the memory it was computed from ----
#
# Through psycopg's own cursor, autocommit (quiz.store.direct): under a class's load the client's
# CPU is the limit, and SQLAlchemy's execution machinery cost more than the driver itself.

_MEMORY = ("state", "step", "stability", "difficulty", "due", "last_review", "reps", "lapses")
_PG_READ = (
    "SELECT state, step, stability, difficulty, due, last_review, reps, lapses "
    "FROM card_state WHERE profile = %(profile)s AND card_uid = %(card_uid)s"
)
# `cur` is the card's row, locked, if its memory is still the `b_*` one read before (else the
# statement writes nothing); `ins` the review, unless its UUID is stored already; `upd` the new memory,
# only with the review. Casts: INSERT ... SELECT does not take its columns' types from the table.
_PG_WRITE = """
WITH cur AS (
    SELECT id FROM card_state
    WHERE profile = %(profile)s AND card_uid = %(card_uid)s
      AND state = CAST(%(b_state)s AS INTEGER)
      AND step IS NOT DISTINCT FROM CAST(%(b_step)s AS INTEGER)
      AND stability IS NOT DISTINCT FROM CAST(%(b_stability)s AS DOUBLE PRECISION)
      AND difficulty IS NOT DISTINCT FROM CAST(%(b_difficulty)s AS DOUBLE PRECISION)
      AND due IS NOT DISTINCT FROM CAST(%(b_due)s AS TIMESTAMP WITH TIME ZONE)
      AND last_review IS NOT DISTINCT FROM CAST(%(b_last_review)s AS TIMESTAMP WITH TIME ZONE)
      AND reps = CAST(%(b_reps)s AS INTEGER)
      AND lapses = CAST(%(b_lapses)s AS INTEGER)
    FOR UPDATE
), ins AS (
    INSERT INTO review (
        uuid, profile, card_uid, seed, variables, answer_given, expected, correct, error, rating,
        backend, device, framework_version, response_ms, run_ms, shown_at, reviewed_at,
        state_after, due_after, state_before
    )
    SELECT
        CAST(%(uuid)s AS VARCHAR), CAST(%(profile)s AS VARCHAR), CAST(%(card_uid)s AS VARCHAR),
        CAST(%(seed)s AS INTEGER), CAST(%(variables)s AS JSON), CAST(%(answer_given)s AS TEXT),
        CAST(%(expected)s AS TEXT), CAST(%(correct)s AS BOOLEAN), CAST(%(error)s AS TEXT),
        CAST(%(rating)s AS INTEGER), CAST(%(backend)s AS VARCHAR), CAST(%(device)s AS VARCHAR),
        CAST(%(framework_version)s AS VARCHAR), CAST(%(response_ms)s AS INTEGER),
        CAST(%(run_ms)s AS DOUBLE PRECISION), CAST(%(shown_at)s AS TIMESTAMP WITH TIME ZONE),
        CAST(%(reviewed_at)s AS TIMESTAMP WITH TIME ZONE), CAST(%(state_after)s AS JSON),
        CAST(%(due)s AS TIMESTAMP WITH TIME ZONE), CAST(%(state_before)s AS JSON)
    FROM cur
    ON CONFLICT (uuid) DO NOTHING
    RETURNING id
), upd AS (
    UPDATE card_state SET
        state = CAST(%(state)s AS INTEGER), step = CAST(%(step)s AS INTEGER),
        stability = CAST(%(stability)s AS DOUBLE PRECISION),
        difficulty = CAST(%(difficulty)s AS DOUBLE PRECISION),
        due = CAST(%(due)s AS TIMESTAMP WITH TIME ZONE),
        last_review = CAST(%(last_review)s AS TIMESTAMP WITH TIME ZONE),
        reps = CAST(%(reps)s AS INTEGER), lapses = CAST(%(lapses)s AS INTEGER),
        introduced_at = CASE WHEN CAST(%(b_state)s AS INTEGER) = 0
            THEN CAST(%(reviewed_at)s AS TIMESTAMP WITH TIME ZONE) ELSE introduced_at END
    WHERE id = (SELECT id FROM cur) AND EXISTS (SELECT 1 FROM ins)
    RETURNING id
)
SELECT (SELECT id FROM ins) AS review_id, (SELECT count(*) FROM cur) AS matched
"""  # `upd` runs though nothing reads it: PostgreSQL always completes data-modifying WITH queries


def _fast_path(store: Store) -> bool:
    return direct.available(store.engine)


def _commit_unlocked(
    store: Store,
    profile: str,
    review: repo.ReviewInput,
    schedule: Callable[[Memory], Memory],
    known: Memory | None = None,
) -> tuple[int, Memory, bool] | None:
    """The usual case on PostgreSQL, no transaction held while scheduling: read the memory, then write.

    With `known` (the memory this app last read or wrote for the card) the read is skipped: one round trip,
    and the write still stores nothing unless the row holds exactly that memory. None when the
    card's memory is not the one built on (another device answered it, or it has no row yet):
    nothing was written, and the caller reads again or takes the locked way. Driver errors come out
    as SQLAlchemy's DBAPIError, as from any other statement.
    """
    with direct.cursor(store.engine) as cursor:
        if known is not None:
            before, was = known, repo.state_columns(known)
        else:
            cursor.execute(_PG_READ, {"profile": profile, "card_uid": review.card_uid})
            row = cursor.fetchone()
            if row is None:
                return None
            was = dict(zip(_MEMORY, row))
            before = Memory(
                state=MemState(was["state"]),
                step=was["step"],
                stability=was["stability"],
                difficulty=was["difficulty"],
                due=_utc(was["due"]),
                last_review=_utc(was["last_review"]),
                reps=was["reps"],
                lapses=was["lapses"],
            )
        after = schedule(before)
        cursor.execute(_PG_WRITE, _write_params(profile, review, was, before, after))
        written = cursor.fetchone()
        assert written is not None
        review_id, matched = written
    if review_id is not None:
        return int(review_id), after, True
    if matched:  # the memory was current but the UUID is stored: an earlier attempt of this review
        with store.session() as s:
            done = _stored(s, review.uuid or "")
        if done is not None:
            return done[0], done[1], False
    return None


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _write_params(
    profile: str, review: repo.ReviewInput, was: dict[str, Any], before: Memory, after: Memory
) -> dict[str, str | None]:
    """Every value as text (NULL as None): the statement casts each, and parameters of one type
    whatever the values (psycopg types an int by its size, a None apart from a value) keep one
    prepared statement per connection instead of a new plan per combination."""
    params: dict[str, Any] = {f"b_{name}": value for name, value in was.items()}
    params.update(repo.state_columns(after))
    params.update(repo.review_columns(review, before, after), profile=profile, uuid=review.uuid)
    for json_column in ("variables", "state_after", "state_before"):
        params[json_column] = json.dumps(params[json_column])
    return {name: _text(value) for name, value in params.items()}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


def commit_review(
    store: Store,
    profile: str,
    review: repo.ReviewInput,
    schedule: Callable[[Memory], Memory],
    *,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, Memory, bool]:
    """Save one answered card exactly once; `schedule(before)` gives the memory after it.

    Returns (review id, memory after, inserted): `inserted` is False when the
    review was already stored (an earlier attempt of this same review). Raises
    the last error when every attempt failed, having stored nothing twice.
    """
    review_uuid = review.uuid or str(uuidlib.uuid4())
    review = replace(review, uuid=review_uuid)
    last: Exception | None = None
    sqlite = store.engine.dialect.name == "sqlite"
    first = 0
    if _fast_path(store) and attempts > 0:
        first = 1  # from here on, each attempt first looks whether an earlier one landed
        known = direct.remembered(store.engine).pop((profile, review.card_uid), None)
        try:
            saved = _commit_unlocked(store, profile, review, schedule, known) if known is not None else None
            if saved is None:  # nothing remembered, or the card moved on since (another device): read it
                saved = _commit_unlocked(store, profile, review, schedule)
            if saved is not None:
                if saved[2]:
                    direct.remember(store.engine, profile, review.card_uid, saved[1])
                return saved
        except DBAPIError as exc:
            if not retryable(exc):
                raise
            last = exc
            sleep(0.02 * (0.5 + random.random()))
    for attempt in range(first, attempts):
        try:
            with store.session() as s:
                if sqlite:
                    # pysqlite would read outside any transaction and begin one only at the
                    # first write: take the write lock first, so the memory read is current.
                    s.connection().exec_driver_sql("BEGIN IMMEDIATE")
                if attempt:  # did the failed attempt commit after all?
                    done = _stored(s, review_uuid)
                    if done is not None:
                        return done[0], done[1], False
                row = _locked_state(s, profile, review.card_uid)
                if row is None and not sqlite:
                    # Nothing to lock yet: make the card's memory row (another device may be
                    # making it too), then lock it, so no two first answers build on "new".
                    s.rollback()
                    _create_state(store, profile, review)
                    row = _locked_state(s, profile, review.card_uid)
                before = repo.memory_from_row(row)
                after = schedule(before)
                review_id = repo.record_review(s, profile, review, before, after)
                if first:
                    direct.remember(store.engine, profile, review.card_uid, after)
                return review_id, after, True
        except IntegrityError as exc:
            # Our UUID is there (a concurrent attempt of the same review won), or two first
            # answers of one card raced to create its memory row: look, then try again.
            last = exc
            with store.session() as s:
                done = _stored(s, review_uuid)
            if done is not None:
                return done[0], done[1], False
        except DBAPIError as exc:
            if not retryable(exc):
                raise
            last = exc
        sleep(min(2.0, 0.02 * 2**attempt) * (0.5 + random.random()))
    assert last is not None
    raise last


# --- the report --------------------------------------------------------------------------


@dataclass
class SectionStats:
    """Counts for one learner in one section (or a whole class, or one learner overall)."""

    reviews: int = 0
    learned_reviews: int = 0  # reviews of cards already learned (in the review state)
    recalled: int = 0  # of those, not rated Again
    graded: int = 0  # reviews whose answer could be graded
    correct: int = 0
    exam_answered: int = 0
    exam_correct: int = 0
    last_review: datetime | None = None

    def add(self, other: SectionStats) -> None:
        self.reviews += other.reviews
        self.learned_reviews += other.learned_reviews
        self.recalled += other.recalled
        self.graded += other.graded
        self.correct += other.correct
        self.exam_answered += other.exam_answered
        self.exam_correct += other.exam_correct
        if other.last_review and (self.last_review is None or other.last_review > self.last_review):
            self.last_review = other.last_review

    @property
    def retention(self) -> float | None:
        return round(self.recalled / self.learned_reviews, 4) if self.learned_reviews else None

    @property
    def correct_rate(self) -> float | None:
        return round(self.correct / self.graded, 4) if self.graded else None

    @property
    def exam_rate(self) -> float | None:
        return round(self.exam_correct / self.exam_answered, 4) if self.exam_answered else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "reviews": self.reviews,
            "retention": self.retention,
            "learned_reviews": self.learned_reviews,
            "correct_rate": self.correct_rate,
            "graded": self.graded,
            "exam_correct_rate": self.exam_rate,
            "exam_answered": self.exam_answered,
            "last_review": self.last_review.isoformat() if self.last_review else None,
        }


@dataclass
class LearnerRow:
    profile: str
    display_name: str | None
    total: SectionStats = field(default_factory=SectionStats)
    sections: dict[str, SectionStats] = field(default_factory=dict)
    exams_taken: int = 0
    exam_scores: list[float] = field(default_factory=list)  # finished exams, score / total, oldest first

    @property
    def exam_mean(self) -> float | None:
        return round(sum(self.exam_scores) / len(self.exam_scores), 4) if self.exam_scores else None

    @property
    def exam_last(self) -> float | None:
        return round(self.exam_scores[-1], 4) if self.exam_scores else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "display_name": self.display_name,
            **self.total.to_dict(),
            "exams": {
                "taken": self.exams_taken,
                "finished": len(self.exam_scores),
                "mean_score": self.exam_mean,
                "last_score": self.exam_last,
            },
            "sections": {k: v.to_dict() for k, v in sorted(self.sections.items())},
        }


@dataclass
class ClassReport:
    generated_at: datetime
    since: datetime | None
    sections_asked: list[str] | None
    learners: list[LearnerRow]
    sections: dict[str, SectionStats]
    section_learners: dict[str, int]
    section_titles: dict[str, str]
    total: SectionStats

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "since": self.since.isoformat() if self.since else None,
            "section_filter": self.sections_asked,
            "class": {**self.total.to_dict(), "learners": len(self.learners)},
            "learners": [r.to_dict() for r in self.learners],
            "sections": [
                {
                    "section": name,
                    "title": self.section_titles.get(name),
                    "learners": self.section_learners.get(name, 0),
                    **stats.to_dict(),
                }
                for name, stats in sorted(self.sections.items())
            ],
        }


def class_report(
    session: Session,
    *,
    section_of: Callable[[str], str | None],
    sections: Iterable[str] | None = None,
    since: datetime | None = None,
    now: datetime | None = None,
    section_titles: Mapping[str, str] | None = None,
) -> ClassReport:
    """Aggregate every learner's reviews and exams; `section_of(card_uid)` comes from the decks."""
    wanted = sorted(set(sections)) if sections else None
    prior_state = Review.state_before["state"].as_integer()
    learned = prior_state == int(MemState.REVIEW)
    where = [Review.reviewed_at >= since] if since else []
    rows = session.execute(
        select(
            Review.profile,
            Review.card_uid,
            func.count(),
            func.sum(case((learned, 1), else_=0)),
            func.sum(case((and_(learned, Review.rating > 1), 1), else_=0)),
            func.sum(case((Review.correct.is_not(None), 1), else_=0)),
            func.sum(case((Review.correct.is_(True), 1), else_=0)),
            func.max(Review.reviewed_at),
        )
        .where(*where)
        .group_by(Review.profile, Review.card_uid)
    ).all()
    learners: dict[str, LearnerRow] = {}
    names: dict[str, str | None] = {
        n: d for n, d in session.execute(select(Profile.name, Profile.display_name))
    }

    def learner(profile: str) -> LearnerRow:
        if profile not in learners:
            learners[profile] = LearnerRow(profile, names.get(profile))
        return learners[profile]

    for profile, card_uid, n, n_learned, n_recalled, n_graded, n_correct, last in rows:
        section = section_of(card_uid) or UNKNOWN_SECTION
        if wanted is not None and section not in wanted:
            continue
        # max() over a TypeDecorator column comes back untyped on SQLite.
        last_at = _as_utc(last)
        stats = SectionStats(
            int(n),
            int(n_learned or 0),
            int(n_recalled or 0),
            int(n_graded or 0),
            int(n_correct or 0),
            last_review=last_at,
        )
        row = learner(profile)
        row.sections.setdefault(section, SectionStats()).add(stats)

    exam_where = [Exam.started_at >= since] if since else []
    answers = session.execute(
        select(
            Exam.profile,
            ExamAnswer.section,
            func.sum(case((ExamAnswer.answered_at.is_not(None), 1), else_=0)),
            func.sum(case((ExamAnswer.correct.is_(True), 1), else_=0)),
        )
        .join(Exam, ExamAnswer.exam_id == Exam.id)
        .where(*exam_where)
        .group_by(Exam.profile, ExamAnswer.section)
    ).all()
    for profile, section, answered, correct in answers:
        if wanted is not None and section not in wanted:
            continue
        stats = learner(profile).sections.setdefault(section, SectionStats())
        stats.exam_answered += int(answered or 0)
        stats.exam_correct += int(correct or 0)

    exams = session.execute(
        select(Exam.profile, Exam.score, Exam.total, Exam.finished_at)
        .where(*exam_where)
        .order_by(Exam.started_at)
    ).all()
    for profile, score, out_of, finished in exams:
        if wanted is not None and profile not in learners:
            continue  # section filter: only learners with work in those sections
        row = learner(profile)
        row.exams_taken += 1
        if finished is not None and out_of:
            row.exam_scores.append((score or 0) / out_of)

    if wanted is None:
        for name in names:  # learners who have not studied yet are part of the class too
            learner(name)

    by_section: dict[str, SectionStats] = {}
    section_learners: dict[str, int] = {}
    total = SectionStats()
    for row in learners.values():
        for name, stats in row.sections.items():
            row.total.add(stats)
            by_section.setdefault(name, SectionStats()).add(stats)
            section_learners[name] = section_learners.get(name, 0) + 1
        total.add(row.total)
    if wanted is not None:
        for name in wanted:
            by_section.setdefault(name, SectionStats())
    return ClassReport(
        generated_at=now or datetime.now(UTC),
        since=since,
        sections_asked=wanted,
        learners=sorted(learners.values(), key=lambda r: r.profile),
        sections=by_section,
        section_learners=section_learners,
        section_titles=dict(section_titles or {}),
        total=total,
    )


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return None
