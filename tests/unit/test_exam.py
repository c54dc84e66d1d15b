"""The exam, pure: which questions (sections in turn, a new family first, fresh seeds), the score
and the Markdown report."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from quiz.core.cards import Backend, Card, Kind
from quiz.core.exam import (
    ExamConfig,
    ExamError,
    ExamReport,
    QuestionResult,
    build_report,
    pick_questions,
    report_markdown,
)

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def card(section: str, family: str, backend: str, deck: str = "d") -> Card:
    return Card(
        deck_id=deck,
        id=f"{family}.{backend}",
        section=section,
        backend=Backend(backend),
        kind=Kind.SHAPE,
        prompt="p",
        code="y = 1",
        answer="y.shape",
        explain="because",
        family=family,
    )


CARDS = [
    card(section, f"{section}-f{i}", backend)
    for section in ("autograd", "matmul", "reshape")
    for i in range(4)
    for backend in ("torch", "tensorflow", "mxnet")
]


def test_questions_take_sections_in_turn_and_new_families_first() -> None:
    qs = pick_questions(CARDS, ExamConfig(questions=9, seed=1), random.Random(1))
    assert [q.position for q in qs] == list(range(9))
    by_uid = {c.uid: c for c in CARDS}
    picked = [by_uid[q.card_uid] for q in qs]
    assert Counter(c.section for c in picked) == {"autograd": 3, "matmul": 3, "reshape": 3}
    assert len({c.family for c in picked}) == 9  # no family twice while there are others
    assert len({q.seed for q in qs}) == 9


def test_the_same_seed_draws_the_same_exam_and_filters_apply() -> None:
    config = ExamConfig(questions=5, sections=("matmul",), backends=("mxnet",), seed=7)
    a = pick_questions(CARDS, config, random.Random(7))
    b = pick_questions(CARDS, config, random.Random(7))
    assert a == b
    assert all(q.card_uid.endswith(".mxnet") and "matmul" in q.card_uid for q in a)
    assert len(a) == 4  # only four matmul families on mxnet: fewer questions than asked, none repeated


def test_no_matching_card_and_bad_numbers_are_clear_errors() -> None:
    with pytest.raises(ExamError, match="no card matches"):
        pick_questions(CARDS, ExamConfig(sections=("nope",)), random.Random(0))
    with pytest.raises(ExamError, match="number of questions"):
        ExamConfig(questions=0)
    with pytest.raises(ExamError, match="time limit"):
        ExamConfig(time_limit_s=-5)


def result(
    position: int, section: str, backend: str, answer: str | None, correct: bool | None, ms: int | None
) -> QuestionResult:
    return QuestionResult(
        position=position,
        card_uid=f"d/{section}-{position}.{backend}",
        section=section,
        backend=backend,
        kind="shape",
        seed=position,
        values={"n": position},
        prompt=f"What is the shape {position}?",
        code=f"y = torch.zeros({position})",
        explain=f"Explanation {position}.",
        answer=answer,
        expected=f"({position},)",
        correct=correct,
        error=None if correct is not None or answer is None else "timed out",
        time_ms=ms,
    )


def test_report_scores_per_section_and_backend_and_lists_every_missed_card() -> None:
    results = [
        result(0, "autograd", "torch", "(0,)", True, 4000),
        result(1, "autograd", "mxnet", "(2,)", False, 9000),
        result(2, "matmul", "torch", None, None, 1000),  # not answered: missed
        result(3, "matmul", "tensorflow", "(3,)", None, 2000),  # could not run: left out
    ]
    config = ExamConfig(questions=4, time_limit_s=600, seed=3)
    report = build_report(
        config, results, started_at=T0, finished_at=T0 + timedelta(minutes=5), ended="time up"
    )
    assert (report.score.correct, report.score.total) == (1, 3)
    assert {k: (t.correct, t.total) for k, t in report.by_section.items()} == {
        "autograd": (1, 2),
        "matmul": (0, 1),
    }
    assert {k: (t.correct, t.total) for k, t in report.by_backend.items()} == {
        "mxnet": (0, 1),
        "torch": (1, 2),
    }
    assert [m.position for m in report.missed] == [1, 2]
    assert [b.position for b in report.not_graded] == [3]

    md = report_markdown(report)
    assert "**Score: 1 / 3 (33%)** · time up · 5.0 min" in md
    assert "| autograd | 1 | 2 | 50% |" in md and "| mxnet | 0 | 1 | 0% |" in md
    assert "| 2 | d/autograd-1.mxnet | mxnet | `(2,)` | wrong | 9.0 s |" in md
    assert "| 3 | d/matmul-2.torch | torch | – | not answered | 1.0 s |" in md
    assert "### 2. d/autograd-1.mxnet" in md and "- truth: `(1,)`" in md and "Explanation 1." in md
    assert "- your answer: (not answered)" in md
    assert "4. d/matmul-3.tensorflow: timed out" in md

    again = ExamReport.from_dict(report.to_dict())
    assert again == report


def test_the_exam_and_statistics_modules_import_no_ui_db_or_framework() -> None:
    import json
    import subprocess
    import sys

    code = "import sys, json, quiz.core.exam, quiz.core.stats; print(json.dumps(sorted(sys.modules)))"
    loaded = {
        m.split(".")[0]
        for m in json.loads(
            subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        )
    }
    assert loaded & {"textual", "sqlalchemy", "alembic", "torch", "tensorflow", "keras", "mxnet"} == set()
