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
    "LEECH_LAPSES",
    "CardFact",
    "DeckCounts",
    "DayTally",
    "Hardest",
    "ReviewFact",
    "SessionRecord",
    "SessionSummary",
    "Tally",
    "deck_counts",
    "due_forecast",
    "hardest_cards",
    "is_leech",
    "retention_by",
    "reviews_per_day",
    "session_summary",
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
    cards: Iterable[CardFact], *, now: datetime, usable: Callable[[str], bool] = lambda _: True
) -> dict[str, DeckCounts]:
    """Per deck: review cards due now, learning cards due now, new cards (before the daily limit)."""
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
        elif c.due is not None and c.due <= now:
            t["due" if c.state == REVIEW else "learning"] += 1
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
