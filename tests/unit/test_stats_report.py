"""The statistics as data: the periods shared with the stats screen, retention per period with its
numbers, the year heatmap, and the whole report."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from quiz.core.stats import PERIODS, CardFact, ReviewFact, retention_by_period, review_heatmap, stats_report

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)


def r(days_ago: float, rating: int, before: int, correct: bool | None = True, uid: str = "d/a") -> ReviewFact:
    return ReviewFact(uid, NOW - timedelta(days=days_ago), correct, rating, "torch", 4000, before)


REVIEWS = [
    r(0, 3, 2),  # today: a learned card recalled
    r(0, 1, 2, False),  # today: a learned card forgotten
    r(0, 3, 0, None),  # today: a new card (ungraded answer)
    r(1, 3, 2),  # yesterday
    r(5, 2, 2),
    r(20, 1, 1, False),  # a learning card: not in retention
    r(200, 3, 2),
    r(400, 1, 2, False),  # over a year ago
]


def test_periods_are_study_days_ending_today() -> None:
    assert [p.key for p in PERIODS] == ["today", "yesterday", "week", "month", "year", "all"]
    spans = {p.key: p.span(TODAY) for p in PERIODS}
    assert spans["today"] == (TODAY, TODAY)
    assert spans["yesterday"] == (date(2026, 3, 9), date(2026, 3, 9))
    assert spans["week"] == (date(2026, 3, 4), TODAY)
    assert spans["year"] == (TODAY - timedelta(days=364), TODAY)
    assert spans["all"] == (None, TODAY)


def test_retention_per_period_counts_learned_cards_not_forgotten() -> None:
    rows = {p.period.key: p for p in retention_by_period(REVIEWS, today=TODAY, tz=UTC)}
    today = rows["today"]
    assert (today.reviews, today.new_cards, today.days_studied) == (3, 1, 1)
    assert (today.retention.correct, today.retention.total) == (1, 2)
    assert (today.answers.correct, today.answers.total) == (1, 2)
    assert (rows["yesterday"].reviews, rows["yesterday"].retention.correct) == (1, 1)
    assert (rows["week"].reviews, rows["week"].retention.correct, rows["week"].retention.total) == (5, 3, 4)
    assert (rows["month"].reviews, rows["month"].retention.total) == (6, 4)  # the learning card is left out
    assert (rows["year"].reviews, rows["all"].reviews, rows["all"].retention.total) == (7, 8, 6)
    d = rows["week"].to_dict()
    assert d == {
        "period": "week",
        "label": "last 7 days",
        "from": "2026-03-04",
        "to": "2026-03-10",
        "reviews": 5,
        "new_cards": 1,
        "days_studied": 3,
        "answers": {"right": 3, "total": 4, "rate": 0.75},
        "retention": {"right": 3, "total": 4, "rate": 0.75},
    }


def test_heatmap_is_a_year_of_days_with_zero_days_and_the_day_hour() -> None:
    heat = review_heatmap(REVIEWS, today=TODAY, tz=UTC)
    assert len(heat) == 365 and heat[0][0] == TODAY - timedelta(days=364) and heat[-1] == (TODAY, 3)
    assert dict(heat)[date(2026, 3, 9)] == 1 and dict(heat)[date(2026, 3, 8)] == 0
    assert sum(n for _, n in heat) == 7  # the review 400 days ago is outside
    late = [ReviewFact("d/a", datetime(2026, 3, 10, 3, 30, tzinfo=UTC), True, 3, "torch")]  # before 4 am
    assert dict(review_heatmap(late, today=TODAY, tz=UTC))[date(2026, 3, 9)] == 1


def test_report_as_data() -> None:
    cards = [
        CardFact("d/a", "d", 2, NOW + timedelta(days=2), reps=8, lapses=5),
        CardFact("d/b", "d", 2, NOW - timedelta(days=3), reps=2),  # overdue: due today
        CardFact("d/c", "d", 0, None),
    ]
    report = stats_report(
        cards,
        REVIEWS,
        now=NOW,
        tz=UTC,
        card_info=lambda uid: {"prompt": "Shape?", "file": "d.toml", "line": 3} if uid == "d/a" else None,
        forecast_days=7,
    )
    d = report.to_dict()
    assert (
        d["today"] == "2026-03-10" and d["total_reviews"] == 8 and d["cards_seen"] == 2 and d["leeches"] == 1
    )
    assert d["heatmap"]["days_studied"] == 5 and d["heatmap"]["max"] == 3 and len(d["heatmap"]["days"]) == 365
    assert d["forecast"][0] == {"date": "2026-03-10", "due": 1} and d["forecast"][2]["due"] == 1
    assert len(d["forecast"]) == 7
    assert [p["period"] for p in d["retention"]] == [p.key for p in PERIODS]
    assert d["hardest"][0] == {
        "uid": "d/a",
        "lapses": 5,
        "right": 4,
        "total": 7,
        "leech": True,
        "prompt": "Shape?",
        "file": "d.toml",
        "line": 3,
    }
    assert d["streak"] == 2


def test_heatmap_lines_draw_the_year_by_week_with_months_and_today() -> None:
    from quiz.core.stats import heatmap_lines

    heat = review_heatmap(REVIEWS, today=TODAY, tz=UTC)
    lines = heatmap_lines(heat)
    weeks = (heat[0][0].weekday() + len(heat) + 6) // 7
    assert [line[:4] for line in lines[1:8]] == ["Mon ", "    ", "Wed ", "    ", "Fri ", "    ", "Sun "]
    assert all(len(line) <= 4 + weeks for line in lines[:8]) and 4 + weeks <= 80  # fits 80 columns
    assert "Mar" in lines[0] and f"today {TODAY:%d %b}" in lines[-1]
    last_column = "".join(line[4 + weeks - 1] if len(line) >= 4 + weeks else " " for line in lines[1:8])
    today_row = TODAY.weekday()
    assert last_column[today_row] != " " and last_column[today_row + 1 :].strip() == ""  # nothing after today
    assert "█" in "".join(lines[1:8])  # the busiest day darkest
