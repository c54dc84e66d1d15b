"""What the screens count and chart: the queue's counts, when the next card falls due, Home and statistics.

Each reads the schedule and the review history of one study session (its decks, custom-study scope
and backends) through the session's store, at the session's clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from quiz.core import stats as S
from quiz.core.cards import Card, Deck
from quiz.core.queue import StudyScope, reviews_left

if TYPE_CHECKING:
    from quiz.session.study import Study
    from quiz.store.repo import QueueCounts

__all__ = ["HomeData", "StatsData", "counts", "elsewhere", "home_data", "next_due", "stats_data"]


@dataclass(frozen=True, slots=True)
class HomeData:
    """The Home screen: decks with their counts, today's progress, the streak, what comes next."""

    decks: list[tuple[Deck, S.DeckCounts]]
    total: S.DeckCounts
    new_left_today: int
    reviewed_today: int
    correct_today: int
    graded_today: int
    streak: int
    total_reviews: int
    next_due: datetime | None
    problems: int = 0


@dataclass(frozen=True, slots=True)
class StatsData:
    """The statistics screen, computed from the review history and the schedule."""

    per_day: list[S.DayTally]
    forecast: list[tuple[Any, int]]
    by_section: dict[str, S.Tally]
    by_backend: dict[str, S.Tally]
    hardest: list[tuple[S.Hardest, Card | None]]
    total_reviews: int
    answers: S.Tally
    streak: int
    cards_seen: int
    leeches: int
    heatmap: list[tuple[Any, int]] = field(default_factory=list)  # (study day, reviews), a year to today


def counts(study: Study) -> QueueCounts:
    """What is waiting in this session's decks and backends: due, learning, new (within today's limit)."""
    from quiz.store import repo
    from quiz.store.stats import card_facts

    now = study.clock()
    day_start = study.day_start(now)
    with study.store.session() as s:
        facts = card_facts(s, study.profile)
        new_today = repo.new_introduced_since(s, study.profile, day_start)
        reviewed_today = repo.reviewed_since(s, study.profile, day_start)
        cap = study.settings.reviews_per_day
        left = (
            None if cap is None else reviews_left(cap, repo.reviews_done_since(s, study.profile, day_start))
        )
    total = _sum_counts(
        S.deck_counts(facts, now=now, usable=study.usable_uid, learn_ahead=study.learn_ahead).values()
    )
    return repo.QueueCounts(
        due=total.due if left is None else min(total.due, left),
        new=min(total.new, max(0, study.settings.new_per_day - new_today)),
        learning=total.learning,
        reviewed_today=reviewed_today,
        new_today=new_today,
    )


def next_due(study: Study) -> datetime | None:
    """When the next card of this session's decks falls due (after now)."""
    from quiz.store.stats import card_facts

    now = study.clock()
    with study.store.session() as s:
        facts = card_facts(s, study.profile)
    upcoming = [
        f.due
        for f in facts
        if f.due is not None and f.due > now and f.available(now) and study.usable_uid(f.card_uid)
    ]
    return min(upcoming, default=None)


def elsewhere(study: Study) -> tuple[int, datetime | None]:
    """Outside this session's decks or custom-study scope: how many cards wait now (due, learning
    within the learn-ahead, new within today's limit) and when the next one falls due. (0, None) for
    a session over everything."""
    from quiz.store import repo
    from quiz.store.stats import card_facts

    if study.deck_ids is None and study.scope == StudyScope():
        return 0, None
    everywhere = replace(study, deck_ids=None, scope=StudyScope())
    now = study.clock()
    with study.store.session() as s:
        facts = [
            f
            for f in card_facts(s, study.profile)
            if not study.usable_uid(f.card_uid) and everywhere.usable_uid(f.card_uid)
        ]
        new_today = repo.new_introduced_since(s, study.profile, study.day_start(now))
    total = _sum_counts(S.deck_counts(facts, now=now, learn_ahead=study.learn_ahead).values())
    waiting = total.due + total.learning + min(total.new, max(0, study.settings.new_per_day - new_today))
    upcoming = [f.due for f in facts if f.due is not None and f.due > now and f.available(now)]
    return waiting, min(upcoming, default=None)


def home_data(study: Study) -> HomeData:
    """Home: every deck of the library with its counts, today's progress, the streak, the next due."""
    from quiz.store import repo
    from quiz.store.stats import card_facts, review_facts

    now = study.clock()
    day_start = study.day_start(now)
    hour = study.settings.scheduling().day_starts_at_hour
    with study.store.session() as s:
        facts = card_facts(s, study.profile)
        reviews = review_facts(s, study.profile)
        new_today = repo.new_introduced_since(s, study.profile, day_start)
    # Every deck of the library, whatever the session's deck filter: Home is where decks are picked.
    everywhere = replace(study, deck_ids=None)
    deck_counts = S.deck_counts(
        facts, now=now, usable=lambda u: everywhere.usable_uid(u), learn_ahead=study.learn_ahead
    )
    new_left = max(0, study.settings.new_per_day - new_today)
    # A deck's "new" is what it can still bring today: never more than the day's new cards left.
    decks = [
        (d, replace(c, new=min(c.new, new_left)))
        for d in study.library.decks
        for c in [deck_counts.get(d.id, S.DeckCounts())]
    ]
    today = [r for r in reviews if r.reviewed_at >= day_start]
    graded = [r for r in today if r.correct is not None]
    # What Home's rows count: usable cards not suspended or buried (a backend switched off is not "due").
    upcoming = [
        f.due
        for f in facts
        if f.due is not None and f.due > now and f.available(now) and everywhere.usable_uid(f.card_uid)
    ]
    return HomeData(
        decks=decks,
        total=_sum_counts(c for _, c in decks),
        new_left_today=new_left,
        reviewed_today=len(today),
        correct_today=sum(1 for r in graded if r.correct),
        graded_today=len(graded),
        streak=S.streak({S.study_day(r.reviewed_at, hour) for r in reviews}, S.study_day(now, hour)),
        total_reviews=len(reviews),
        next_due=min(upcoming, default=None),
        problems=len(study.library.problems),
    )


def stats_data(study: Study, days: int = 30, forecast_days: int = 14) -> StatsData:
    """The statistics screen's figures: reviews per day and a year's heatmap, the due forecast,
    retention by section and backend, the hardest cards."""
    from quiz.store.stats import card_facts, review_facts

    now = study.clock()
    hour = study.settings.scheduling().day_starts_at_hour
    with study.store.session() as s:
        facts = card_facts(s, study.profile)
        reviews = review_facts(s, study.profile)
    today = S.study_day(now, hour)
    section = {uid: c.section for uid, c in study.cards.items()}
    hardest = S.hardest_cards(facts, reviews, limit=10)
    return StatsData(
        per_day=S.reviews_per_day(reviews, today=today, days=days, day_hour=hour),
        heatmap=S.review_heatmap(reviews, today=today, day_hour=hour),
        forecast=S.due_forecast(facts, now=now, days=forecast_days, day_hour=hour),
        by_section=S.sections_of(reviews, section),
        by_backend=S.retention_by(reviews, lambda r: r.backend),
        hardest=[(h, study.cards.get(h.card_uid)) for h in hardest],
        total_reviews=len(reviews),
        answers=S.retention_by(reviews, lambda r: "all").get("all", S.Tally()),
        streak=S.streak({S.study_day(r.reviewed_at, hour) for r in reviews}, today),
        cards_seen=sum(1 for f in facts if f.reps > 0),
        leeches=sum(1 for f in facts if S.is_leech(f.lapses)),
    )


def _sum_counts(counts: Iterable[S.DeckCounts]) -> S.DeckCounts:
    total = S.DeckCounts()
    for c in counts:
        total = S.DeckCounts(
            due=total.due + c.due,
            learning=total.learning + c.learning,
            new=total.new + c.new,
            total=total.total + c.total,
            suspended=total.suspended + c.suspended,
            leeches=total.leeches + c.leeches,
        )
    return total
