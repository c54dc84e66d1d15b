"""Interval previews on the rating keys: exact intervals from fsrs, and the short interval text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from quiz.core.previews import format_interval, preview_intervals, preview_line
from quiz.core.scheduling import CardState, Memory, SchedulingSettings, make_scheduler, review

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_a_new_card_previews_the_learning_steps_and_easys_jump() -> None:
    previews = preview_intervals(Memory(), NOW, make_scheduler())
    assert [p.interval for p in previews] == [
        timedelta(minutes=1),
        timedelta(seconds=330),  # Hard: halfway between the 1 and 10 minute steps
        timedelta(minutes=10),
        timedelta(days=8),
    ]
    assert [p.state for p in previews] == [1, 1, 1, 2]
    assert preview_line(previews) == "1 Again 1m · 2 Hard 6m · 3 Good 10m · 4 Easy 8d"


def test_a_review_card_previews_fsrs_intervals_exactly() -> None:
    card = Memory(
        state=CardState.REVIEW,
        stability=10.0,
        difficulty=5.0,
        due=NOW,
        last_review=NOW - timedelta(days=10),
        reps=3,
    )
    previews = preview_intervals(card, NOW, make_scheduler())
    assert [p.due for p in previews] == [
        NOW + timedelta(minutes=10),
        datetime(2026, 12, 20, 12, 0, tzinfo=UTC),
        datetime(2026, 12, 29, 12, 0, tzinfo=UTC),
        datetime(2027, 1, 17, 12, 0, tzinfo=UTC),
    ]
    assert preview_line(previews) == "1 Again 10m · 2 Hard 23d · 3 Good 1.1mo · 4 Easy 1.7mo"
    assert previews[0].state == int(CardState.RELEARNING)


def test_the_preview_is_what_the_key_does() -> None:
    scheduler = make_scheduler()
    memory = review(Memory(), 3, NOW, scheduler)
    memory = review(memory, 3, memory.due, scheduler)  # type: ignore[arg-type]
    later = memory.due + timedelta(days=3)  # type: ignore[operator]
    for p in preview_intervals(memory, later, scheduler):
        after = review(memory, p.rating, later, scheduler)
        assert (after.due, int(after.state)) == (p.due, p.state)


def test_a_lower_desired_retention_previews_longer_intervals() -> None:
    card = Memory(
        state=CardState.REVIEW, stability=10.0, difficulty=5.0, due=NOW, last_review=NOW - timedelta(days=10)
    )
    usual = preview_intervals(card, NOW, make_scheduler())
    relaxed = preview_intervals(card, NOW, make_scheduler(SchedulingSettings(desired_retention=0.8)))
    assert all(r.interval > u.interval for u, r in zip(usual[1:], relaxed[1:]))


def test_previews_need_an_aware_now() -> None:
    with pytest.raises(ValueError):
        preview_intervals(Memory(), datetime(2026, 1, 1), make_scheduler())


@pytest.mark.parametrize(
    ("interval", "text"),
    [
        (timedelta(seconds=0), "<1m"),
        (timedelta(seconds=59), "<1m"),
        (timedelta(seconds=60), "1m"),
        (timedelta(seconds=330), "6m"),
        (timedelta(minutes=59), "59m"),
        (timedelta(minutes=59, seconds=40), "1h"),
        (timedelta(hours=5, minutes=29), "5h"),
        (timedelta(hours=23, minutes=40), "1d"),
        (timedelta(days=2, hours=12), "3d"),
        (timedelta(days=29), "29d"),
        (timedelta(days=30), "1mo"),
        (timedelta(days=45), "1.5mo"),
        (timedelta(days=364), "12.1mo"),
        (timedelta(days=365), "1y"),
        (timedelta(days=800), "2.2y"),
        (timedelta(days=36500), "100y"),
    ],
)
def test_format_interval(interval: timedelta, text: str) -> None:
    assert format_interval(interval) == text
