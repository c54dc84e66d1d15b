"""`quiz stats`: your statistics — a year's review heatmap, the due forecast, retention per period
with its numbers, the hardest cards — as text or, with --json, as data."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from quiz.cli import add_common

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.stats import StatsReport

EPILOG = """\
Days are study days: they start at 4 am local time, as the queue's do.
retention: of the reviews of cards already learned, the share not forgotten (not rated Again);
answers: of the graded answers, the share that was right.

--json prints one object: today, streak, total_reviews, cards_seen, leeches, heatmap (from, to,
days_studied, max, total, days: [{date, reviews}] for a year), forecast ([{date, due}], overdue
cards count for today), retention ([{period, label, from, to, reviews, new_cards, days_studied,
answers: {right, total, rate}, retention: {right, total, rate}}] for today, yesterday, week,
month, year, all), by_backend, hardest ([{uid, lapses, right, total, leech, deck, section,
backend, prompt, file, line}])."""


def register(sub: Any, groups: dict[str, Any]) -> None:
    p = sub.add_parser(
        "stats",
        help="your statistics: review heatmap, due forecast, retention per period, hardest cards",
        description="Your statistics from the review history and the schedule.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--forecast-days", type=int, default=30, metavar="N", help="days of due forecast (default 30)"
    )
    p.add_argument("--hardest", type=int, default=10, metavar="N", help="how many hardest cards (default 10)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_common(p)
    p.set_defaults(handler=run)


def build_report(
    settings: Settings, now: datetime, *, forecast_days: int = 30, hardest: int = 10
) -> StatsReport:
    """The learner's statistics from the configured database and library (no runner needed)."""
    from quiz.commands.common import library
    from quiz.core.stats import stats_report
    from quiz.store.db import open_store
    from quiz.store.stats import card_facts, review_facts

    cards = library(settings).by_uid()
    store = open_store(settings.db_url)
    try:
        with store.session() as s:
            facts = card_facts(s, settings.profile)
            reviews = review_facts(s, settings.profile)
    finally:
        store.dispose()

    def info(uid: str) -> dict[str, Any] | None:
        card = cards.get(uid)
        if card is None:
            return None
        return {
            "deck": card.deck_id,
            "section": card.section,
            "backend": card.backend.value,
            "prompt": card.prompt,
            "file": card.location.path,
            "line": card.location.line,
        }

    return stats_report(
        facts,
        reviews,
        now=now,
        day_hour=settings.scheduling().day_starts_at_hour,
        card_info=info,
        forecast_days=forecast_days,
        hardest=hardest,
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.commands.common import err, print_json, say
    from quiz.store.db import StoreError

    if not 1 <= args.forecast_days <= 3650 or not 0 <= args.hardest <= 1000:
        err("--forecast-days takes 1 to 3650, --hardest 0 to 1000")
        return 2
    try:
        report = build_report(
            settings, datetime.now(UTC), forecast_days=args.forecast_days, hardest=args.hardest
        )
    except StoreError as exc:
        err(str(exc))
        return 2
    if args.json:
        print_json(report.to_dict())
        return 0
    say(render(report))
    return 0


def heatmap_text(report: StatsReport) -> list[str]:
    """The year as 7 rows (Monday to Sunday) of weeks, darker for more reviews (quiz.core.stats)."""
    from quiz.core.stats import heatmap_lines

    return heatmap_lines(report.heatmap)


def render(report: StatsReport) -> str:
    from quiz.core.answers import visible

    d = report.to_dict()
    out = [
        f"{d['total_reviews']} reviews, {d['cards_seen']} cards seen, streak {d['streak']} day(s), "
        f"{d['leeches']} leech(es)",
        "",
        f"Reviews, {d['heatmap']['from']} to {d['heatmap']['to']} "
        f"({d['heatmap']['days_studied']} days studied, at most {d['heatmap']['max']} a day):",
        *heatmap_text(report),
        "",
        "Retention (learned cards not forgotten) and answers right:",
    ]
    for p in report.periods:
        r, a = p.retention, p.answers
        out.append(
            f"  {p.period.label:14s} {p.reviews:6d} reviews  retention {r.percent():>4s} ({r.correct}/{r.total})  "
            f"answers {a.percent():>4s} ({a.correct}/{a.total})"
        )
    week = report.forecast[:7]
    out += ["", "Due in the next days: " + ", ".join(f"{day:%a} {n}" for day, n in week)]
    if report.hardest:
        out += ["", "Hardest cards:"]
        for h in report.hardest:
            info = report.cards.get(h.card_uid, {})
            prompt = visible(" ".join(str(info.get("prompt", "(no longer in a deck)")).split()))[:60]
            out.append(
                f"  {visible(h.card_uid):40s} lapses {h.lapses}  right {h.answers.correct}/{h.answers.total}"
                f"{'  leech' if h.leech else ''}  {prompt}"
            )
    return "\n".join(out)
