"""Statistics from plain facts: queue counts per deck, reviews per day, streaks, forecast, retention,
hardest cards and leeches, and the session summary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from quiz.core.stats import (
    LEECH_LAPSES,
    CardFact,
    ReviewFact,
    SessionRecord,
    deck_counts,
    due_forecast,
    hardest_cards,
    is_leech,
    retention_by,
    reviews_per_day,
    session_summary,
    streak,
    study_day,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def r(uid: str, at: datetime, correct: bool | None, backend: str = "torch", rating: int = 3) -> ReviewFact:
    return ReviewFact(uid, at, correct, rating, backend, 5000)


def test_study_days_start_at_the_day_hour() -> None:
    assert study_day(datetime(2026, 3, 10, 3, 59, tzinfo=UTC), 4, UTC) == date(2026, 3, 9)
    assert study_day(datetime(2026, 3, 10, 4, 0, tzinfo=UTC), 4, UTC) == date(2026, 3, 10)


def test_deck_counts_split_due_learning_new_and_leave_out_suspended_and_buried() -> None:
    cards = [
        CardFact("a/1", "a", 2, NOW - timedelta(hours=1)),  # review, due
        CardFact("a/2", "a", 2, NOW + timedelta(days=1)),  # review, not due
        CardFact("a/3", "a", 1, NOW - timedelta(minutes=1)),  # learning, due
        CardFact("a/4", "a", 0, None),  # new
        CardFact("a/5", "a", 0, None, suspended=True),
        CardFact("a/6", "a", 2, NOW - timedelta(hours=1), buried_until=NOW + timedelta(hours=5)),
        CardFact("b/1", "b", 3, NOW - timedelta(minutes=5), lapses=LEECH_LAPSES),  # relearning leech
        CardFact("b/2", "b", 0, None),
    ]
    counts = deck_counts(cards, now=NOW, usable=lambda uid: uid != "b/2")
    assert (counts["a"].due, counts["a"].learning, counts["a"].new) == (1, 1, 1)
    assert (counts["a"].total, counts["a"].suspended) == (6, 1)
    assert (counts["b"].learning, counts["b"].new, counts["b"].total, counts["b"].leeches) == (1, 0, 1, 1)


def test_reviews_per_day_and_streak() -> None:
    reviews = [
        r("a", NOW, True),
        r("a", NOW - timedelta(hours=1), False),
        r("b", NOW - timedelta(days=1), None),
        r("c", NOW - timedelta(days=3), True),
        r("c", NOW - timedelta(days=40), True),  # outside the window
    ]
    days = reviews_per_day(reviews, today=date(2026, 3, 10), days=7, tz=UTC)
    assert days[0].day == date(2026, 3, 4) and days[-1].day == date(2026, 3, 10)
    assert (days[-1].correct, days[-1].incorrect) == (1, 1)
    assert days[-2].ungraded == 1 and days[-4].correct == 1
    assert sum(d.total for d in days) == 4
    studied = {study_day(x.reviewed_at, 4, UTC) for x in reviews}
    assert streak(studied, date(2026, 3, 10)) == 2  # today and yesterday; the gap on the 8th ends it
    # Today not studied yet: the streak up to yesterday still stands.
    assert streak(studied - {date(2026, 3, 10)}, date(2026, 3, 10)) == 1
    assert streak(set(), date(2026, 3, 10)) == 0


def test_due_forecast_counts_overdue_today_and_skips_new_and_suspended() -> None:
    cards = [
        CardFact("a", "d", 2, NOW - timedelta(days=3)),
        CardFact("b", "d", 2, NOW + timedelta(days=1)),
        CardFact("c", "d", 2, NOW + timedelta(days=1, hours=1)),
        CardFact("d", "d", 2, NOW + timedelta(days=30)),
        CardFact("e", "d", 0, None),
        CardFact("f", "d", 2, NOW, suspended=True),
    ]
    forecast = due_forecast(cards, now=NOW, days=3, tz=UTC)
    assert forecast == [(date(2026, 3, 10), 1), (date(2026, 3, 11), 2), (date(2026, 3, 12), 0)]


def test_retention_groups_graded_answers_only() -> None:
    reviews = [
        r("a", NOW, True, "torch"),
        r("b", NOW, False, "torch"),
        r("c", NOW, None, "mxnet"),
        r("d", NOW, True, "mxnet"),
    ]
    by_backend = retention_by(reviews, lambda x: x.backend)
    assert (by_backend["torch"].correct, by_backend["torch"].total) == (1, 2)
    assert by_backend["torch"].percent() == "50%"
    assert (by_backend["mxnet"].correct, by_backend["mxnet"].total) == (1, 1)


def test_hardest_cards_put_lapses_first_then_the_lowest_share_right() -> None:
    cards = [
        CardFact("leech", "d", 3, NOW, lapses=6),
        CardFact("some", "d", 2, NOW, lapses=1),
        CardFact("easy", "d", 2, NOW),
    ]
    reviews = [
        r("wrong", NOW, False),
        r("wrong", NOW, False),
        r("wrong", NOW, True),
        r("easy", NOW, True),
        r("easy", NOW, True),
    ]
    rows = hardest_cards(cards, reviews)
    assert [h.card_uid for h in rows] == ["leech", "some", "wrong"]
    assert rows[0].leech and not rows[1].leech
    assert is_leech(LEECH_LAPSES) and not is_leech(LEECH_LAPSES - 1)


def test_session_summary() -> None:
    records = [
        SessionRecord("a", "torch", True, 3, 4000, was_new=True),
        SessionRecord("b", "mxnet", False, 1, 8000, leech=True),
        SessionRecord("c", "torch", None, 2, 3000),
    ]
    s = session_summary(records)
    assert (s.reviewed, s.answers.correct, s.answers.total, s.new_cards, s.again) == (3, 1, 2, 1, 1)
    assert s.seconds == 15.0 and s.leeches == ("b",)
    assert {k: (t.correct, t.total) for k, t in s.by_backend.items()} == {"mxnet": (0, 1), "torch": (1, 1)}
