"""Exams in the history: started, answered question by question (nothing lost if the app stops),
finished with the report. Exams never touch `card_state` or `review`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz.core.exam import QuestionResult
from quiz.store.models import Exam, ExamAnswer

__all__ = ["ExamRow", "start_exam", "record_answer", "finish_exam", "list_exams", "load_exam"]


@dataclass(frozen=True, slots=True)
class ExamRow:
    id: int
    uuid: str
    started_at: datetime
    finished_at: datetime | None
    config: dict[str, Any]
    score: int | None
    total: int | None
    report: dict[str, Any] | None


def _row(e: Exam) -> ExamRow:
    return ExamRow(e.id, e.uuid, e.started_at, e.finished_at, dict(e.config), e.score, e.total, e.report)


def start_exam(
    session: Session, profile: str, uuid: str, started_at: datetime, config: dict[str, Any]
) -> int:
    exam = Exam(uuid=uuid, profile=profile, started_at=started_at, config=config)
    session.add(exam)
    session.flush()
    exam_id = exam.id
    session.commit()
    return exam_id


def record_answer(
    session: Session, exam_id: int, result: QuestionResult, answered_at: datetime | None
) -> None:
    """Save one question's outcome (again for the same position: replaced). Commits."""
    row = session.scalar(
        select(ExamAnswer).where(ExamAnswer.exam_id == exam_id, ExamAnswer.position == result.position)
    )
    if row is None:
        row = ExamAnswer(exam_id=exam_id, position=result.position)
        session.add(row)
    row.card_uid = result.card_uid
    row.seed = result.seed
    row.variables = result.values
    row.section = result.section
    row.backend = result.backend
    row.kind = result.kind
    row.answer_given = result.answer
    row.expected = result.expected
    row.correct = result.correct
    row.error = result.error
    row.time_ms = result.time_ms
    row.answered_at = answered_at
    session.commit()


def finish_exam(
    session: Session, exam_id: int, finished_at: datetime, report: dict[str, Any], score: int, total: int
) -> None:
    exam = session.get(Exam, exam_id)
    if exam is None:
        raise LookupError(f"no exam {exam_id}")
    exam.finished_at = finished_at
    exam.report = report
    exam.score = score
    exam.total = total
    session.commit()


def list_exams(session: Session, profile: str, limit: int = 50) -> list[ExamRow]:
    rows = session.scalars(
        select(Exam)
        .where(Exam.profile == profile)
        .order_by(Exam.started_at.desc(), Exam.id.desc())
        .limit(limit)
    )
    return [_row(e) for e in rows]


def load_exam(session: Session, profile: str, exam_id: int | None = None) -> ExamRow | None:
    """One exam of this profile; None for `exam_id`: the latest finished one."""
    stmt = select(Exam).where(Exam.profile == profile)
    if exam_id is None:
        stmt = stmt.where(Exam.finished_at.is_not(None)).order_by(Exam.finished_at.desc(), Exam.id.desc())
    else:
        stmt = stmt.where(Exam.id == exam_id)
    exam = session.scalars(stmt.limit(1)).first()
    return _row(exam) if exam else None
