"""Taking an exam: questions with fresh variants, graded on the runner and saved as they come.

Reads and writes only the `exam` tables, never the schedule. The choice of
questions and the report are pure (quiz.core.exam); this module runs them.
"""

from __future__ import annotations

import random
import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from quiz.core.cards import BACKENDS, Card, Kind
from quiz.core.exam import ExamConfig, ExamReport, Question, QuestionResult, build_report, pick_questions
from quiz.core.grading import format_truth
from quiz.core.variables import Variant, concrete, draw_variant
from quiz.session.grading import ParsedAnswer, grade_answer, read_answer, why_unavailable
from quiz.session.study import MAX_SEED

if TYPE_CHECKING:
    from quiz.session.study import Study

__all__ = ["ExamRun"]


@dataclass
class ExamRun:
    """One exam being taken: its questions with fresh variants, answers graded and saved as they come.

    It reads and writes only the `exam` tables: the schedule is left alone.
    """

    study: Study
    config: ExamConfig
    questions: list[Question]
    started_at: datetime
    exam_id: int | None = None
    results: dict[int, QuestionResult] = field(default_factory=dict)
    variants: dict[int, Variant] = field(default_factory=dict)

    @classmethod
    def start(cls, study: Study, config: ExamConfig, *, save: bool = True) -> ExamRun:
        """Draw the questions (seed 0: a fresh seed, kept in the config) and open the exam in the history.

        Raises quiz.core.exam.ExamError when no card matches.
        """
        if not config.seed:
            config = replace(config, seed=study.rng.randrange(1, MAX_SEED))
        rng = random.Random(config.seed)
        backends = [b for b in (config.backends or BACKENDS) if study.backend_enabled(b)] or ["-"]
        config_for_pick = replace(config, backends=tuple(backends))
        questions = pick_questions(
            study.library.cards(),
            config_for_pick,
            rng,
            usable=lambda c: why_unavailable(study.runner, c, study.settings.device) is None,
        )
        run = cls(study, config, questions, study.clock())
        if save:
            from quiz.store.exams import start_exam

            with study.store.session() as s:
                run.exam_id = start_exam(
                    s, study.profile, str(uuidlib.uuid4()), run.started_at, config.to_dict()
                )
        return run

    def question(self, position: int) -> tuple[Card, Variant]:
        q = self.questions[position]
        card = self.study.cards[q.card_uid]
        variant = self.variants.get(position)
        if variant is None:
            variant = self.variants[position] = draw_variant(card, q.seed)
        return card, variant

    def _result(self, position: int, **outcome: Any) -> QuestionResult:
        card, variant = self.question(position)
        return QuestionResult(
            position=position,
            card_uid=card.uid,
            section=card.section,
            backend=card.backend.value,
            kind=card.kind.value,
            seed=variant.seed,
            values=variant.values_json(),
            # In the learner's language when the exam is taken: the saved report keeps what they read.
            prompt=variant.prompt_in(self.study.settings.lang),
            code=variant.code,
            explain=variant.explain_in(self.study.settings.lang) or card.explain,
            **outcome,
        )

    def _save(self, result: QuestionResult, at: datetime | None) -> None:
        self.results[result.position] = result
        if self.exam_id is None:
            return
        from quiz.store.exams import record_answer

        with self.study.store.session() as s:
            record_answer(s, self.exam_id, result, at)

    def check(self, position: int, answer: str) -> ParsedAnswer:
        """The answer read for this question; raises MalformedAnswer when it cannot be read (asked
        again, never marked wrong). Hand what it returns to `answer`: it is read only once."""
        card, variant = self.question(position)
        return read_answer(card, variant, answer)

    def answer(self, position: int, answer: str | ParsedAnswer, time_ms: int) -> QuestionResult:
        """Grade and save one answer (runs the code: call it from a worker thread)."""
        card, variant = self.question(position)
        shown = self.study.clock()
        answered = grade_answer(
            self.study.runner, self.study.settings.device, self.study.clock, card, variant, answer, shown
        )
        v = answered.verdict
        given = answered.answer.strip()
        if card.kind == Kind.CHOICE:  # the letter and the option, as the report shows them
            given = f"{given}) {answered.parsed}"
        result = self._result(
            position, answer=given, expected=v.expected, correct=v.correct, error=v.error, time_ms=time_ms
        )
        self._save(result, answered.answered_at)
        return result

    def unanswered(self, position: int, time_ms: int | None) -> QuestionResult:
        """A question left without an answer: run it anyway, so the report can show its truth."""
        card, variant = self.question(position)
        run = self.study.run(card, variant)  # a translate card: its source code's result
        expected = format_truth(concrete(card, variant), run.truth) if run.ok else None
        result = self._result(
            position, expected=expected, error=None if run.ok else run.error, time_ms=time_ms
        )
        self._save(result, None)
        return result

    def finish(self, ended: str, time_ms: Mapping[int, int] | None = None) -> ExamReport:
        """Close the exam: questions never answered are run for their truth, the report saved."""
        for position in range(len(self.questions)):
            if position not in self.results:
                self.unanswered(position, (time_ms or {}).get(position))
        report = build_report(
            self.config,
            list(self.results.values()),
            started_at=self.started_at,
            finished_at=self.study.clock(),
            ended=ended,
        )
        if self.exam_id is not None:
            from quiz.store.exams import finish_exam

            with self.study.store.session() as s:
                finish_exam(
                    s,
                    self.exam_id,
                    report.finished_at,
                    report.to_dict(),
                    report.score.correct,
                    report.score.total,
                )
        return report
