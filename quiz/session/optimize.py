"""Personal scheduling: fit FSRS's weights to a learner's own review history (fsrs's Optimizer), and
say what they change — how well each set predicts the learner's recalls, and the workload ahead.

fsrs trains with torch, so `fit_parameters` imports it (only `quiz optimize` calls it); reading the
history, counting what the optimizer can use and comparing weights need fsrs's Scheduler alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from quiz.core.stats import ReviewFact

if TYPE_CHECKING:
    from quiz.config import Settings

__all__ = [
    "MAX_SEQUENCE",
    "NEEDED_REVIEWS",
    "NotEnoughHistory",
    "OptimizeReport",
    "WeightsReport",
    "evaluate",
    "fit_parameters",
    "optimize",
    "sequences",
    "usable_reviews",
]

# fsrs's optimizer (6.x) learns from a review only when it came a day or more after the card's previous
# one, reads at most the first 64 reviews of each card, and below 512 such reviews returns its defaults.
NEEDED_REVIEWS = 512
MAX_SEQUENCE = 64
WORKLOAD_DAYS = 30


class NotEnoughHistory(ValueError):
    """Too few reviews the optimizer can learn from; says how many there are and how many it needs."""

    def __init__(self, usable: int, total: int, needed: int = NEEDED_REVIEWS) -> None:
        self.usable, self.total, self.needed = usable, total, needed
        super().__init__(
            f"not enough review history to fit FSRS to you yet: it learns from reviews made a day or more "
            f"after the card's previous review, and needs {needed}; you have {usable} "
            f"(of {total} reviews in all). Keep studying and try again later."
        )


def sequences(history: Iterable[ReviewFact]) -> list[list[ReviewFact]]:
    """Each card's reviews in time order, cut where the card was reset to new (a reset card starts over:
    its memory before the reset says nothing about the intervals after it)."""
    per_card: dict[str, list[ReviewFact]] = {}
    for r in sorted(history, key=lambda r: (r.card_uid, r.reviewed_at)):
        per_card.setdefault(r.card_uid, []).append(r)
    out: list[list[ReviewFact]] = []
    for reviews in per_card.values():
        current: list[ReviewFact] = []
        for r in reviews:
            if current and r.state_before == 0:
                out.append(current)
                current = []
            current.append(r)
        out.append(current)
    return out


def usable_reviews(seqs: Sequence[Sequence[ReviewFact]]) -> int:
    """The reviews fsrs's optimizer learns from: within each card's first MAX_SEQUENCE reviews, those a
    whole day or more after the previous one (the optimizer's own count)."""
    n = 0
    for seq in seqs:
        head = seq[:MAX_SEQUENCE]
        n += sum(1 for a, b in pairwise(head) if (b.reviewed_at - a.reviewed_at).days > 0)
    return n


def fit_parameters(seqs: Sequence[Sequence[ReviewFact]]) -> tuple[float, ...]:
    """fsrs's Optimizer over the sequences (imports torch; seconds to minutes)."""
    from fsrs import Optimizer, Rating, ReviewLog

    logs = [
        ReviewLog(
            card_id=i + 1,
            rating=Rating(r.rating),
            review_datetime=r.reviewed_at,
            review_duration=r.response_ms,
        )
        for i, seq in enumerate(seqs)
        for r in seq
    ]
    return tuple(float(w) for w in Optimizer(logs).compute_optimal_parameters())


@dataclass(frozen=True, slots=True)
class WeightsReport:
    """How one set of weights fits the history, and the workload it gives.

    `log_loss`: fsrs's training loss over the usable reviews (lower is a better fit); `predicted`: the
    recall rate the weights expected at those reviews, against `actual`; `reviews_next_30d`: reviews
    of the learner's cards in the next 30 days if every answer were Good; `mean_interval_days`: the
    cards' next intervals on average.
    """

    parameters: tuple[float, ...]
    log_loss: float
    predicted: float
    actual: float
    reviews_next_30d: int
    mean_interval_days: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "parameters": [round(w, 4) for w in self.parameters],
            "log_loss": round(self.log_loss, 4),
            "predicted_recall": round(self.predicted, 4),
            "actual_recall": round(self.actual, 4),
            "reviews_next_30d": self.reviews_next_30d,
            "mean_interval_days": round(self.mean_interval_days, 1),
        }


def evaluate(
    seqs: Sequence[Sequence[ReviewFact]],
    parameters: Sequence[float],
    *,
    now: datetime,
    desired_retention: float,
) -> WeightsReport:
    """Replay the history under `parameters` (fsrs's Scheduler, as the optimizer does), then look ahead."""
    from fsrs import Card, Rating, Scheduler

    scheduler = Scheduler(
        parameters=tuple(parameters), desired_retention=desired_retention, enable_fuzzing=False
    )
    loss, predicted, recalled, n = 0.0, 0.0, 0, 0
    last_cards = []
    for i, seq in enumerate(seqs):
        card = Card(card_id=i + 1, due=seq[0].reviewed_at)
        for j, r in enumerate(seq):
            if j < MAX_SEQUENCE and card.last_review and (r.reviewed_at - card.last_review).days > 0:
                p = min(max(scheduler.get_card_retrievability(card, r.reviewed_at), 1e-7), 1 - 1e-7)
                y = 0 if r.rating == 1 else 1
                loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
                predicted += p
                recalled += y
                n += 1
            card, _ = scheduler.review_card(card, Rating(r.rating), review_datetime=r.reviewed_at)
        last_cards.append(card)
    horizon = now + timedelta(days=WORKLOAD_DAYS)
    workload, intervals = 0, []
    for card in last_cards:
        if card.last_review is not None:
            intervals.append((card.due - card.last_review).total_seconds() / 86400)
        when = max(card.due, now)
        while when <= horizon:
            workload += 1
            card, _ = scheduler.review_card(card, Rating.Good, review_datetime=when)
            when = card.due
    return WeightsReport(
        parameters=tuple(float(w) for w in parameters),
        log_loss=loss / n if n else 0.0,
        predicted=predicted / n if n else 0.0,
        actual=recalled / n if n else 0.0,
        reviews_next_30d=workload,
        mean_interval_days=sum(intervals) / len(intervals) if intervals else 0.0,
    )


@dataclass(frozen=True, slots=True)
class OptimizeReport:
    """The fit: how much history, and the current weights against the fitted ones."""

    reviews: int
    usable: int
    cards: int
    desired_retention: float
    before: WeightsReport
    after: WeightsReport
    needed: int = NEEDED_REVIEWS
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reviews": self.reviews,
            "usable_reviews": self.usable,
            "needed": self.needed,
            "cards": self.cards,
            "desired_retention": self.desired_retention,
            "current": self.before.to_dict(),
            "fitted": self.after.to_dict(),
            **self.extra,
        }


def optimize(
    history: Sequence[ReviewFact],
    *,
    current: Sequence[float],
    now: datetime,
    desired_retention: float,
) -> OptimizeReport:
    """Fit weights to `history` and compare them with `current`; NotEnoughHistory below NEEDED_REVIEWS."""
    seqs = sequences(history)
    usable = usable_reviews(seqs)
    if usable < NEEDED_REVIEWS:
        raise NotEnoughHistory(usable, len(history))
    fitted = fit_parameters(seqs)
    return OptimizeReport(
        reviews=len(history),
        usable=usable,
        cards=len({r.card_uid for r in history}),
        desired_retention=desired_retention,
        before=evaluate(seqs, current, now=now, desired_retention=desired_retention),
        after=evaluate(seqs, fitted, now=now, desired_retention=desired_retention),
    )


def apply_weights(settings: Settings, weights: tuple[float, ...], now: datetime) -> None:
    """Save the weights in the learner's settings file and its copy in the database (as the Settings
    screen saves), so the scheduler uses them from the next review on."""
    from quiz.config import learner_settings_file, read_learner_settings, save_learner_settings
    from quiz.store.db import open_store
    from quiz.store.settings_repo import save_settings

    profile = settings.profile
    saved = read_learner_settings(profile) if learner_settings_file(profile).exists() else {}
    save_learner_settings(profile, {**saved, "fsrs_parameters": list(weights)})
    store = open_store(settings.db_url, backup=False)
    try:
        with store.session() as s:
            save_settings(s, profile, {"fsrs_parameters": list(weights)}, now)
    finally:
        store.dispose()


def render(report: OptimizeReport, *, custom: bool) -> str:
    b, a = report.before, report.after
    which = "your current weights" if custom else "fsrs's default weights"

    def row(name: str, before: str, after: str) -> str:
        return f"  {name:34s} {before:>12s} {after:>12s}"

    return "\n".join(
        [
            f"{report.reviews} reviews of {report.cards} cards; {report.usable} usable for fitting "
            f"(needs {report.needed}). Desired retention {report.desired_retention:.2f}.",
            "",
            row("", "current", "fitted"),
            row("fit to your history (log loss)", f"{b.log_loss:.4f}", f"{a.log_loss:.4f}"),
            row(
                f"predicted recall (actual {b.actual:.1%})",
                f"{b.predicted:.1%}",
                f"{a.predicted:.1%}",
            ),
            row("reviews in the next 30 days", str(b.reviews_next_30d), str(a.reviews_next_30d)),
            row("mean next interval (days)", f"{b.mean_interval_days:.1f}", f"{a.mean_interval_days:.1f}"),
            "",
            f"current: {which}. Workload assumes every answer Good; a fit closer to your actual recall "
            "keeps your retention at the level you chose.",
        ]
    )
