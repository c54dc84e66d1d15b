"""Study statistics from plain facts: per-deck queue counts, reviews per day, streak, forecast,
retention by section and backend, the hardest cards (leeches), and a session's summary.

Pure: the facts come from the store (quiz.store.stats) and the time comes in as
arguments; nothing here reads the clock, a database or the terminal.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

__all__ = [
    "FORECAST_DAYS",
    "HEATMAP_DAYS",
    "LEECH_LAPSES",
    "PERIODS",
    "CardFact",
    "DeckCounts",
    "DayTally",
    "Hardest",
    "Period",
    "PeriodRetention",
    "ReviewFact",
    "SessionRecord",
    "SessionSummary",
    "StatsReport",
    "Tally",
    "deck_counts",
    "due_forecast",
    "hardest_cards",
    "is_leech",
    "retention_by",
    "retention_by_period",
    "review_heatmap",
    "reviews_per_day",
    "session_summary",
    "stats_report",
    "streak",
    "study_day",
]

# A card forgotten this many times after it was learned is a leech: it is flagged
# (Anki's default is 8; cards here are fewer and narrower, so sooner).
LEECH_LAPSES = 5

NEW, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3


def is_leech(lapses: int) -> bool:
    return lapses >= LEECH_LAPSES


@dataclass(frozen=True, slots=True)
class ReviewFact:
    """One review as the statistics need it."""

    card_uid: str
    reviewed_at: datetime
    correct: bool | None
    rating: int
    backend: str
    response_ms: int = 0
    state_before: int | None = None  # the card's state when it was asked (0 new … 3 relearning)


@dataclass(frozen=True, slots=True)
class CardFact:
    """One card's place in the schedule."""

    card_uid: str
    deck_id: str
    state: int
    due: datetime | None
    reps: int = 0
    lapses: int = 0
    suspended: bool = False
    buried_until: datetime | None = None

    def available(self, now: datetime) -> bool:
        return not self.suspended and (self.buried_until is None or self.buried_until <= now)


def study_day(t: datetime, day_hour: int = 4, tz: tzinfo | None = None) -> date:
    """The learner's study day of `t`: days start at `day_hour` local time (4 am, as the queue's)."""
    local = t.astimezone(tz)
    return (local - timedelta(hours=day_hour)).date()


@dataclass(frozen=True, slots=True)
class Tally:
    """Correct answers out of graded ones."""

    correct: int = 0
    total: int = 0

    @property
    def rate(self) -> float | None:
        return self.correct / self.total if self.total else None

    def percent(self) -> str:
        return "–" if self.rate is None else f"{100 * self.rate:.0f}%"

    def add(self, correct: bool) -> Tally:
        return Tally(self.correct + int(correct), self.total + 1)


@dataclass(frozen=True, slots=True)
class DeckCounts:
    due: int = 0
    learning: int = 0
    new: int = 0
    total: int = 0
    suspended: int = 0
    leeches: int = 0


def deck_counts(
    cards: Iterable[CardFact],
    *,
    now: datetime,
    usable: Callable[[str], bool] = lambda _: True,
    learn_ahead: timedelta = timedelta(0),
) -> dict[str, DeckCounts]:
    """Per deck: review cards due now, learning cards due within `learn_ahead` (the queue shows them
    early: counting them keeps "learning 0" from being said while they come), new cards (before the
    daily limit)."""
    tallies: dict[str, Counter[str]] = defaultdict(Counter)
    for c in cards:
        t = tallies[c.deck_id]
        if not usable(c.card_uid):
            continue
        t["total"] += 1
        if c.suspended:
            t["suspended"] += 1
            continue
        if is_leech(c.lapses):
            t["leeches"] += 1
        if not c.available(now):
            continue
        if c.state == NEW:
            t["new"] += 1
        elif c.due is not None and c.state == REVIEW and c.due <= now:
            t["due"] += 1
        elif c.due is not None and c.state != REVIEW and c.due <= now + learn_ahead:
            t["learning"] += 1
    return {deck: DeckCounts(**t) for deck, t in tallies.items()}


@dataclass(frozen=True, slots=True)
class DayTally:
    day: date
    correct: int = 0
    incorrect: int = 0
    ungraded: int = 0

    @property
    def total(self) -> int:
        return self.correct + self.incorrect + self.ungraded


def reviews_per_day(
    reviews: Iterable[ReviewFact], *, today: date, days: int = 30, day_hour: int = 4, tz: tzinfo | None = None
) -> list[DayTally]:
    """The last `days` study days (oldest first, ending `today`), with correct/incorrect counts."""
    first = today - timedelta(days=days - 1)
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for r in reviews:
        d = study_day(r.reviewed_at, day_hour, tz)
        if first <= d <= today:
            counts[d]["correct" if r.correct else "ungraded" if r.correct is None else "incorrect"] += 1
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        c = counts.get(day, Counter())
        out.append(DayTally(day, correct=c["correct"], incorrect=c["incorrect"], ungraded=c["ungraded"]))
    return out


def streak(days_studied: Iterable[date], today: date) -> int:
    """Consecutive study days ending today (or yesterday, while today is still open)."""
    studied = set(days_studied)
    day = today if today in studied else today - timedelta(days=1)
    n = 0
    while day in studied:
        n += 1
        day -= timedelta(days=1)
    return n


def due_forecast(
    cards: Iterable[CardFact], *, now: datetime, days: int = 14, day_hour: int = 4, tz: tzinfo | None = None
) -> list[tuple[date, int]]:
    """Cards falling due on each of the next `days` study days; overdue ones count for today."""
    today = study_day(now, day_hour, tz)
    counts: Counter[date] = Counter()
    for c in cards:
        if c.state == NEW or c.due is None or c.suspended:
            continue
        d = max(today, study_day(max(c.due, c.buried_until or c.due), day_hour, tz))
        if (d - today).days < days:
            counts[d] += 1
    return [(today + timedelta(days=i), counts[today + timedelta(days=i)]) for i in range(days)]


def retention_by(reviews: Iterable[ReviewFact], key: Callable[[ReviewFact], str | None]) -> dict[str, Tally]:
    """Correct answers out of graded ones, grouped by `key` (reviews it maps to None are left out)."""
    out: dict[str, Tally] = {}
    for r in reviews:
        k = key(r)
        if k is None or r.correct is None:
            continue
        out[k] = out.get(k, Tally()).add(r.correct)
    return dict(sorted(out.items()))


@dataclass(frozen=True, slots=True)
class Hardest:
    card_uid: str
    lapses: int
    answers: Tally
    leech: bool


def hardest_cards(
    cards: Iterable[CardFact], reviews: Iterable[ReviewFact], *, limit: int = 10, min_answers: int = 2
) -> list[Hardest]:
    """Cards with the most lapses, then the lowest share of correct answers (at least `min_answers`)."""
    answers = retention_by(reviews, lambda r: r.card_uid)
    lapses = {c.card_uid: c.lapses for c in cards}
    rows = []
    for uid in set(answers) | {u for u, n in lapses.items() if n}:
        tally = answers.get(uid, Tally())
        n = lapses.get(uid, 0)
        if n == 0 and (tally.total < min_answers or tally.correct == tally.total):
            continue
        rows.append(Hardest(uid, n, tally, is_leech(n)))
    rows.sort(
        key=lambda h: (
            -h.lapses,
            h.answers.rate if h.answers.rate is not None else 1.0,
            -h.answers.total,
            h.card_uid,
        )
    )
    return rows[:limit]


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One rated answer of the session on screen."""

    card_uid: str
    backend: str
    correct: bool | None
    rating: int
    response_ms: int
    was_new: bool = False
    leech: bool = False


@dataclass(frozen=True, slots=True)
class SessionSummary:
    reviewed: int
    answers: Tally
    new_cards: int
    again: int
    seconds: float
    by_backend: dict[str, Tally] = field(default_factory=dict)
    leeches: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["answers"] = {"correct": self.answers.correct, "total": self.answers.total}
        d["by_backend"] = {k: {"correct": v.correct, "total": v.total} for k, v in self.by_backend.items()}
        return d


def session_summary(records: Sequence[SessionRecord]) -> SessionSummary:
    answers = Tally()
    by_backend: dict[str, Tally] = {}
    for r in records:
        if r.correct is None:
            continue
        answers = answers.add(r.correct)
        by_backend[r.backend] = by_backend.get(r.backend, Tally()).add(r.correct)
    return SessionSummary(
        reviewed=len(records),
        answers=answers,
        new_cards=sum(r.was_new for r in records),
        again=sum(r.rating == 1 for r in records),
        seconds=sum(r.response_ms for r in records) / 1000,
        by_backend=dict(sorted(by_backend.items())),
        leeches=tuple(dict.fromkeys(r.card_uid for r in records if r.leech)),
    )


def sections_of(reviews: Iterable[ReviewFact], section: Mapping[str, str]) -> dict[str, Tally]:
    """Retention per section, through a card uid → section map (cards no longer in a deck: "other")."""
    return retention_by(reviews, lambda r: section.get(r.card_uid, "other"))


# --- the statistics as data (`quiz stats --json`, the stats screen) ------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """A span of study days ending `ends_days_ago` days before today (`days` None: all time)."""

    key: str
    label: str
    days: int | None
    ends_days_ago: int = 0

    def span(self, today: date) -> tuple[date | None, date]:
        last = today - timedelta(days=self.ends_days_ago)
        return (None if self.days is None else last - timedelta(days=self.days - 1)), last


# The periods of the retention table, here and on the stats screen (and in its help): study days,
# which start at the day hour (4 am), as every count here does.
PERIODS = (
    Period("today", "today", 1),
    Period("yesterday", "yesterday", 1, 1),
    Period("week", "last 7 days", 7),
    Period("month", "last 30 days", 30),
    Period("year", "last 365 days", 365),
    Period("all", "all time", None),
)
HEATMAP_DAYS = 365
FORECAST_DAYS = 30


@dataclass(frozen=True, slots=True)
class PeriodRetention:
    """One period's numbers: reviews, graded answers that were right, and retention — reviews of
    learned cards (in the review state when asked) that were not forgotten (rated Again)."""

    period: Period
    first_day: date | None
    last_day: date
    reviews: int = 0
    new_cards: int = 0
    answers: Tally = Tally()
    retention: Tally = Tally()
    days_studied: int = 0

    def to_dict(self) -> dict[str, Any]:
        def tally(t: Tally) -> dict[str, Any]:
            return {
                "right": t.correct,
                "total": t.total,
                "rate": None if t.rate is None else round(t.rate, 4),
            }

        return {
            "period": self.period.key,
            "label": self.period.label,
            "from": self.first_day.isoformat() if self.first_day else None,
            "to": self.last_day.isoformat(),
            "reviews": self.reviews,
            "new_cards": self.new_cards,
            "days_studied": self.days_studied,
            "answers": tally(self.answers),
            "retention": tally(self.retention),
        }


def retention_by_period(
    reviews: Iterable[ReviewFact],
    *,
    today: date,
    day_hour: int = 4,
    tz: tzinfo | None = None,
    periods: Sequence[Period] = PERIODS,
) -> list[PeriodRetention]:
    """The numbers of each period (PERIODS by default), from the review history."""
    days = [(study_day(r.reviewed_at, day_hour, tz), r) for r in reviews]
    out = []
    for p in periods:
        first, last = p.span(today)
        inside = [(d, r) for d, r in days if (first is None or d >= first) and d <= last]
        answers, retention = Tally(), Tally()
        for _, r in inside:
            if r.correct is not None:
                answers = answers.add(r.correct)
            if r.state_before == REVIEW:
                retention = retention.add(r.rating != 1)
        out.append(
            PeriodRetention(
                p,
                first,
                last,
                reviews=len(inside),
                new_cards=sum(1 for _, r in inside if r.state_before == NEW),
                answers=answers,
                retention=retention,
                days_studied=len({d for d, _ in inside}),
            )
        )
    return out


def review_heatmap(
    reviews: Iterable[ReviewFact],
    *,
    today: date,
    days: int = HEATMAP_DAYS,
    day_hour: int = 4,
    tz: tzinfo | None = None,
) -> list[tuple[date, int]]:
    """Reviews on each of the last `days` study days, oldest first, ending today (zero days included)."""
    first = today - timedelta(days=days - 1)
    counts: Counter[date] = Counter()
    for r in reviews:
        d = study_day(r.reviewed_at, day_hour, tz)
        if first <= d <= today:
            counts[d] += 1
    return [(first + timedelta(days=i), counts[first + timedelta(days=i)]) for i in range(days)]


HEATMAP_SHADES = " ░▒▓█"


def heatmap_lines(days: Sequence[tuple[date, int]]) -> list[str]:
    """The year as text, like Anki's: a row of month names, then 7 rows (Monday to Sunday) of one
    column per week, darker for more reviews (`·` a day without any), and a legend."""
    if not days:
        return []
    top = max((n for _, n in days), default=0)
    pad = days[0][0].weekday()
    cells: list[int | None] = [None] * pad + [n for _, n in days]
    weeks = [cells[i : i + 7] for i in range(0, len(cells), 7)]
    months = [" "] * len(weeks)
    for i, (day, _) in enumerate(days):
        if day.day == 1:
            w = (i + pad) // 7
            label = day.strftime("%b")
            if all(c == " " for c in months[w : w + len(label) + 1]):
                months[w : w + len(label)] = list(label)
    rows = ["    " + "".join(months).rstrip()]
    for wd, name in enumerate(("Mon", "", "Wed", "", "Fri", "", "Sun")):
        line = ""
        for week in weeks:
            n = week[wd] if wd < len(week) else None
            if n is None:
                line += " "
            elif n == 0 or top == 0:
                line += "·"
            else:
                line += HEATMAP_SHADES[min(4, 1 + (n * 4 - 1) // top)]
        rows.append(f"{name:4s}{line}")
    rows.append(f"    less ·{HEATMAP_SHADES[1:]} more (at most {top} a day) · today {days[-1][0]:%d %b}")
    return rows


@dataclass(frozen=True, slots=True)
class StatsReport:
    """Everything `quiz stats` shows, as data; `cards` maps a uid to (deck, section, backend, prompt,
    file, line) for the hardest cards, so a screen can open them."""

    today: date
    heatmap: list[tuple[date, int]]
    forecast: list[tuple[date, int]]
    periods: list[PeriodRetention]
    hardest: list[Hardest]
    cards: Mapping[str, Mapping[str, Any]]
    streak: int
    total_reviews: int
    cards_seen: int
    leeches: int
    by_backend: dict[str, Tally]

    def to_dict(self) -> dict[str, Any]:
        studied = [n for _, n in self.heatmap if n]
        return {
            "today": self.today.isoformat(),
            "streak": self.streak,
            "total_reviews": self.total_reviews,
            "cards_seen": self.cards_seen,
            "leeches": self.leeches,
            "heatmap": {
                "from": self.heatmap[0][0].isoformat() if self.heatmap else None,
                "to": self.today.isoformat(),
                "days_studied": len(studied),
                "max": max(studied, default=0),
                "total": sum(studied),
                "days": [{"date": d.isoformat(), "reviews": n} for d, n in self.heatmap],
            },
            "forecast": [{"date": d.isoformat(), "due": n} for d, n in self.forecast],
            "retention": [p.to_dict() for p in self.periods],
            "by_backend": {
                k: {
                    "right": v.correct,
                    "total": v.total,
                    "rate": None if v.rate is None else round(v.rate, 4),
                }
                for k, v in self.by_backend.items()
            },
            "hardest": [
                {
                    "uid": h.card_uid,
                    "lapses": h.lapses,
                    "right": h.answers.correct,
                    "total": h.answers.total,
                    "leech": h.leech,
                    **dict(self.cards.get(h.card_uid, {})),
                }
                for h in self.hardest
            ],
        }


def stats_report(
    cards: Sequence[CardFact],
    reviews: Sequence[ReviewFact],
    *,
    now: datetime,
    day_hour: int = 4,
    tz: tzinfo | None = None,
    card_info: Callable[[str], Mapping[str, Any] | None] = lambda _: None,
    forecast_days: int = FORECAST_DAYS,
    heatmap_days: int = HEATMAP_DAYS,
    hardest: int = 10,
) -> StatsReport:
    """The statistics of one learner at `now`; `card_info(uid)` describes a card of the library (None: gone)."""
    today = study_day(now, day_hour, tz)
    worst = hardest_cards(cards, reviews, limit=hardest)
    info = {h.card_uid: card_info(h.card_uid) for h in worst}
    return StatsReport(
        today=today,
        heatmap=review_heatmap(reviews, today=today, days=heatmap_days, day_hour=day_hour, tz=tz),
        forecast=due_forecast(cards, now=now, days=forecast_days, day_hour=day_hour, tz=tz),
        periods=retention_by_period(reviews, today=today, day_hour=day_hour, tz=tz),
        hardest=worst,
        cards={uid: v for uid, v in info.items() if v is not None},
        streak=streak({study_day(r.reviewed_at, day_hour, tz) for r in reviews}, today),
        total_reviews=len(reviews),
        cards_seen=sum(1 for c in cards if c.reps > 0),
        leeches=sum(1 for c in cards if is_leech(c.lapses)),
        by_backend=retention_by(reviews, lambda r: r.backend),
    )
