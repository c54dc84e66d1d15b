"""`quiz optimize`: fit FSRS's weights to your own review history, show what they change, apply them."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from quiz.cli import add_common

if TYPE_CHECKING:
    from quiz.config import Settings

EPILOG = """\
FSRS predicts when you are about to forget a card from weights fitted to many learners' reviews.
With enough of your own history (512 reviews made a day or more after the card's previous review),
fsrs's optimizer fits the weights to you. quiz shows how well the current and the fitted weights
predict your recalls (log loss: lower is better; predicted against actual recall) and the workload
each gives (reviews in the next 30 days if every answer were Good), then applies the fitted weights
when you confirm (or with --yes). They are saved in your settings and used for every review after;
--reset goes back to fsrs's defaults.

exit status: 0 done (applied, or shown and not applied), 1 not enough history, 2 bad input.

--json prints one object: reviews, usable_reviews, needed, cards, desired_retention, current and
fitted ({parameters, log_loss, predicted_recall, actual_recall, reviews_next_30d,
mean_interval_days}), applied; or, below the history needed: ok false, reason, reviews,
usable_reviews, needed."""


def register(sub: Any, groups: dict[str, Any]) -> None:
    p = sub.add_parser(
        "optimize",
        help="fit FSRS to your own review history (personal scheduling)",
        description="Fit FSRS's weights to your review history with fsrs's optimizer, compare them with "
        "the current ones, and apply them on confirmation.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--yes", "-y", action="store_true", help="apply the fitted weights without asking")
    p.add_argument("--reset", action="store_true", help="go back to fsrs's default weights")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.commands.common import err, print_json
    from quiz.session.optimize import (
        NEEDED_REVIEWS,
        NotEnoughHistory,
        apply_weights,
        optimize,
        render,
        sequences,
        usable_reviews,
    )
    from quiz.store.db import StoreError, open_store
    from quiz.store.stats import review_facts

    now = datetime.now(UTC)
    if args.reset:
        try:
            apply_weights(settings, (), now)
        except (OSError, StoreError) as exc:
            err(f"could not save the settings: {exc}")
            return 2
        if args.json:
            print_json({"applied": True, "parameters": "fsrs defaults"})
        else:
            print("FSRS weights back to fsrs's defaults.")
        return 0
    try:
        store = open_store(settings.db_url)
    except StoreError as exc:
        err(str(exc))
        return 2
    try:
        with store.session() as s:
            history = review_facts(s, settings.profile)
    finally:
        store.dispose()
    current = settings.fsrs_parameters or _defaults()
    try:
        usable = usable_reviews(sequences(history))
        if usable < NEEDED_REVIEWS:
            raise NotEnoughHistory(usable, len(history))
        if not args.json:
            print(
                f"Fitting FSRS to {len(history)} reviews (this can take a minute)…",
                file=sys.stderr,
                flush=True,
            )
        report = optimize(history, current=current, now=now, desired_retention=settings.desired_retention)
    except NotEnoughHistory as exc:
        if args.json:
            print_json(
                {
                    "ok": False,
                    "reason": "not enough history",
                    "message": str(exc),
                    "reviews": exc.total,
                    "usable_reviews": exc.usable,
                    "needed": exc.needed,
                }
            )
        else:
            print(f"quiz optimize: {exc}")
        return 1
    except ImportError as exc:
        err(f"fsrs's optimizer is not installed here ({exc}); install quiz with the `optimize` extra")
        return 2
    if not args.json:
        print(render(report, custom=bool(settings.fsrs_parameters)))
    apply = args.yes
    if not apply and not args.json and sys.stdin.isatty():
        apply = input("Apply the fitted weights? [y/N] ").strip().lower() in ("y", "yes")
    if apply:
        try:
            apply_weights(settings, report.after.parameters, now)
        except (OSError, StoreError) as exc:
            err(f"could not save the settings: {exc}")
            return 2
    if args.json:
        print_json({**report.to_dict(), "applied": apply})
    elif apply:
        print("Applied: your reviews are scheduled with the fitted weights from now on.")
    else:
        print("Not applied (run `quiz optimize --yes` to apply).")
    return 0


def _defaults() -> tuple[float, ...]:
    from fsrs.scheduler import DEFAULT_PARAMETERS

    return tuple(DEFAULT_PARAMETERS)
