"""FSRS through the core: exact state transitions, and the due-first queue policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from quiz.core.queue import pick_next, study_day_start
from quiz.core.scheduling import CardState, Memory, make_scheduler, review

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_new_card_good_then_good_graduates_to_review() -> None:
    s = make_scheduler()
    m1 = review(Memory(), 3, NOW, s)
    assert m1.state == CardState.LEARNING and m1.reps == 1
    assert m1.due == NOW + timedelta(minutes=10)  # second learning step
    m2 = review(m1, 3, m1.due, s)  # type: ignore[arg-type]
    assert m2.state == CardState.REVIEW
    assert m2.due is not None and m2.due - m1.due >= timedelta(days=1)  # type: ignore[operator]


def test_again_on_a_review_card_is_a_lapse() -> None:
    s = make_scheduler()
    m = Memory(
        state=CardState.REVIEW,
        stability=10.0,
        difficulty=5.0,
        due=NOW,
        last_review=NOW - timedelta(days=10),
        reps=3,
    )
    after = review(m, 1, NOW, s)
    assert after.state == CardState.RELEARNING
    assert after.lapses == 1
    assert after.due == NOW + timedelta(minutes=10)


def test_review_is_deterministic() -> None:
    s = make_scheduler()
    m = Memory(
        state=CardState.REVIEW, stability=3.0, difficulty=6.0, due=NOW, last_review=NOW - timedelta(days=3)
    )
    assert review(m, 3, NOW, s) == review(m, 3, NOW, s)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        review(Memory(), 3, datetime(2026, 1, 1), make_scheduler())


def test_pick_next_due_first_then_new_then_learning_ahead() -> None:
    due = [(NOW - timedelta(hours=1), "old"), (NOW + timedelta(minutes=5), "soon")]
    assert pick_next(due, ["new1"], now=NOW, new_left_today=5) == "old"
    assert pick_next(due[1:], ["new1"], now=NOW, new_left_today=5) == "new1"
    assert pick_next(due[1:], ["new1"], now=NOW, new_left_today=0) == "soon"
    assert pick_next([], [], now=NOW, new_left_today=5) is None
    assert pick_next(due, ["new1"], now=NOW, new_left_today=5, usable=lambda u: u != "old") == "new1"


def test_study_day_starts_at_4am_local() -> None:
    start = study_day_start(NOW)
    assert start <= NOW < start + timedelta(days=1)
    assert start.astimezone().hour == 4
