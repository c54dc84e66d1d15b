"""`quiz class report`, `add-learner`, `remove-learner`: a class on one database and its browser sign-ins."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from quiz.cli import add_common
from quiz.commands.common import err, print_json
from quiz.core.text import visible

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.store.classroom import ClassReport, SectionStats

REPORT_DESCRIPTION = """\
Summarise every learner (profile) in the database, and every section, from
the reviews and exams stored there. Point it at the class's server with
--db postgresql+psycopg://USER@HOST/DB (or QUIZ_DB); each learner's app
uses the same URL with its own --profile.

Columns: reviews; retention, the share of reviews of already-learned cards
that were recalled (not rated Again) — what FSRS aims at 90% by default;
correct, the share of graded answers that were right; exam, the mean score
of finished exams (per section: the share of exam questions answered right);
last, the day of the last review. Sections come from the deck files the
library loads here, so run it where the class's decks are installed."""

REPORT_EPILOG = """\
examples:
  quiz class report --db postgresql+psycopg://teacher@db.school/quiz
  quiz class report --section autograd --section view-permute-expand --markdown > week3.md
  quiz class report --since 2026-11-01 --json

--json prints one object: generated_at, since, section_filter, class {reviews,
retention, correct_rate, exam_correct_rate, learners, ...}, learners [{profile,
display_name, reviews, retention, correct_rate, exams {taken, finished,
mean_score, last_score}, sections {SECTION: {...}}}], sections [{section, title,
learners, reviews, retention, ...}]. Rates are fractions (0..1), null when
there is nothing to rate."""


ADD_DESCRIPTION = """\
Let a learner study in the browser on `quiz serve`: makes their profile if it
is new and prints a sign-in link that works once (the token is after '#',
which browsers never send to a server, so it stays out of every log). The
database keeps only the token's sha256. Running it again for the same
learner prints a new link and voids their unused one; sessions already
signed in go on until they expire."""

ADD_EPILOG = """\
examples:
  quiz class add-learner ada --url https://quiz.school --db postgresql+psycopg://teacher@db.school/quiz
  quiz class add-learner grace --display-name "Grace H." --valid-days 2 --json

--url is the address learners open (QUIZ_SERVE_URL; default http://127.0.0.1:8000).
--json prints {profile, new_profile, token, link, expires_at}."""

REMOVE_DESCRIPTION = """\
Take a learner's browser access away: their sign-in links and sessions are
deleted, and a running `quiz serve` closes their app within seconds. Their
reviews and exams stay in the database for `quiz class report`."""


def register(sub: Any, groups: dict[str, Any]) -> None:
    g = groups["class"]
    p = g.add_parser(
        "add-learner",
        help="a learner for `quiz serve`: prints a one-time sign-in link",
        description=ADD_DESCRIPTION,
        epilog=ADD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", metavar="NAME", help="the learner's profile: letters, digits, - and _")
    p.add_argument("--display-name", metavar="TEXT", help="the name the report shows")
    p.add_argument("--url", metavar="URL", help="the server's address for the link (or QUIZ_SERVE_URL)")
    p.add_argument(
        "--valid-days", type=_days, default=7.0, metavar="DAYS", help="the link works this long (default: 7)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_common(p)
    p.set_defaults(handler=cmd_add_learner)
    p = g.add_parser(
        "remove-learner",
        help="end a learner's browser access (their history stays)",
        description=REMOVE_DESCRIPTION,
    )
    p.add_argument("name", metavar="NAME", help="the learner's profile")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_common(p)
    p.set_defaults(handler=cmd_remove_learner)
    p = g.add_parser(
        "report",
        help="per learner and per section: retention, reviews, exam scores",
        description=REPORT_DESCRIPTION,
        epilog=REPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--section", action="append", metavar="SECTION", help="only this section (slug; repeatable)"
    )
    p.add_argument(
        "--since", type=_date, metavar="YYYY-MM-DD", help="only reviews and exams from this day on"
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.add_argument("--markdown", action="store_true", help="print Markdown tables (for notes and mail)")
    add_common(p)
    p.set_defaults(handler=cmd_report)


def _date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError("a date as YYYY-MM-DD") from None


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a number of days") from None
    if not 0 < value <= 366:
        raise argparse.ArgumentTypeError("more than 0 and at most 366 days")
    return value


def _open(settings: Settings, as_json: bool) -> Any:
    from quiz.store.db import StoreError, open_store

    try:
        return open_store(settings.db_url)
    except StoreError as exc:
        _fail(str(exc), as_json)
        return None


def _fail(message: str, as_json: bool) -> None:
    if as_json:
        print_json({"error": message})
    else:
        err(message)


def cmd_add_learner(args: argparse.Namespace, settings: Settings) -> int:
    import os
    from datetime import timedelta

    from quiz.serve.logins import LoginError, add_learner

    url = (args.url or os.environ.get("QUIZ_SERVE_URL") or "http://127.0.0.1:8000").rstrip("/")
    if not url.startswith(("http://", "https://")):
        _fail(f"--url must start with http:// or https://, not {url!r}", args.json)
        return 2
    store = _open(settings, args.json)
    if store is None:
        return 2
    try:
        issued = add_learner(
            store, args.name, display_name=args.display_name, valid=timedelta(days=args.valid_days)
        )
    except LoginError as exc:
        _fail(str(exc), args.json)
        return 2
    finally:
        store.dispose()
    link = f"{url}/signin#t={issued.token}"
    if args.json:
        print_json(
            {
                "profile": issued.profile,
                "new_profile": issued.new_profile,
                "token": issued.token,
                "link": link,
                "expires_at": issued.expires_at.isoformat(),
            }
        )
        return 0
    what = "a new profile" if issued.new_profile else "an existing profile; any earlier unused link is void"
    print(f"Learner {issued.profile} ({what}).")
    print(f"Sign-in link, works once, until {issued.expires_at.strftime('%Y-%m-%d %H:%M')} UTC:")
    print()
    print(f"  {link}")
    print()
    print(f"Or paste the token on {url}/signin: {issued.token}")
    print("Give it to the learner alone: whoever opens it first is signed in as them.")
    return 0


def cmd_remove_learner(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from quiz.serve.logins import remove_learner
    from quiz.store.models import Profile

    store = _open(settings, args.json)
    if store is None:
        return 2
    try:
        with store.session() as s:
            known = s.scalar(select(Profile.id).where(Profile.name == args.name)) is not None
        removed = remove_learner(store, args.name)
    finally:
        store.dispose()
    if not known and not (removed.tokens or removed.sessions):
        _fail(f"no learner {args.name!r} in this database (`quiz class report` lists them)", args.json)
        return 1
    if args.json:
        print_json({"profile": removed.profile, "tokens": removed.tokens, "sessions": removed.sessions})
        return 0
    print(
        f"{removed.profile} can no longer sign in: {removed.tokens} sign-in link(s) and "
        f"{removed.sessions} session(s) deleted; a running app of theirs closes within seconds. "
        "Their reviews stay for `quiz class report`."
    )
    return 0


def _sections_from_decks(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """card uid → section and section → title, from the deck files (parsed, never run)."""
    from quiz.core.decks import load_library
    from quiz.prepared import deck_search_path

    lib = load_library(deck_search_path(settings))
    sections = {c.uid: c.section for c in lib.cards()}
    titles: dict[str, str] = {}
    for deck in lib.decks:
        for slug, title in deck.sections.items():
            titles.setdefault(slug, title)
    return sections, titles


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.store.classroom import class_report
    from quiz.store.db import StoreError, open_store

    try:
        store = open_store(settings.db_url)
    except StoreError as exc:
        if args.json:
            print_json({"error": str(exc)})
        else:
            err(str(exc))
        return 2
    sections, titles = _sections_from_decks(settings)
    try:
        with store.session() as s:
            report = class_report(
                s,
                section_of=lambda uid: sections.get(uid) or uid.split("/", 1)[0],
                sections=args.section,
                since=args.since,
                section_titles=titles,
            )
    finally:
        store.dispose()
    if args.json:
        print_json(report.to_dict())
    elif args.markdown:
        print(visible(markdown(report)))
    else:
        _print_tables(report)
    return 0


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.0f}%"


def _day(stats: SectionStats) -> str:
    return stats.last_review.strftime("%Y-%m-%d") if stats.last_review else "–"


def _name(profile: str, display: str | None) -> str:
    return f"{display} ({profile})" if display and display != profile else profile


def markdown(report: ClassReport) -> str:
    """The report as Markdown: the class, then one table per learner and one per section."""
    t = report.total
    lines = [f"# Class report — {report.generated_at.strftime('%Y-%m-%d %H:%M')} UTC", ""]
    scope = []
    if report.since:
        scope.append(f"since {report.since.strftime('%Y-%m-%d')}")
    if report.sections_asked:
        scope.append("sections " + ", ".join(f"`{s}`" for s in report.sections_asked))
    if scope:
        lines += ["Only " + "; ".join(scope) + ".", ""]
    lines += [
        f"{len(report.learners)} learners, {t.reviews} reviews; retention {_pct(t.retention)}, "
        f"correct {_pct(t.correct_rate)}, exam answers right {_pct(t.exam_rate)}.",
        "",
        "## Learners",
        "",
        "| learner | reviews | retention | correct | exams | exam mean | last exam | last review |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report.learners:
        lines.append(
            f"| {_md(_name(r.profile, r.display_name))} | {r.total.reviews} | {_pct(r.total.retention)} | "
            f"{_pct(r.total.correct_rate)} | {r.exams_taken} | {_pct(r.exam_mean)} | {_pct(r.exam_last)} | "
            f"{_day(r.total)} |"
        )
    lines += [
        "",
        "## Sections",
        "",
        "| section | learners | reviews | retention | correct | exam answers right |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in sorted(report.sections.items()):
        title = report.section_titles.get(name)
        label = f"{title} (`{name}`)" if title else f"`{name}`"
        lines.append(
            f"| {_md(label)} | {report.section_learners.get(name, 0)} | {s.reviews} | {_pct(s.retention)} | "
            f"{_pct(s.correct_rate)} | {_pct(s.exam_rate)} |"
        )
    lines += ["", "## Per learner and section", ""]
    lines += [
        "| learner | section | reviews | retention | correct | exam answers right |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in report.learners:
        for name, s in sorted(r.sections.items()):
            lines.append(
                f"| {_md(r.profile)} | `{name}` | {s.reviews} | {_pct(s.retention)} | {_pct(s.correct_rate)} | "
                f"{_pct(s.exam_rate)} |"
            )
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _print_tables(report: ClassReport) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    t = report.total
    console.print(
        f"[bold]{len(report.learners)} learners[/], {t.reviews} reviews; retention {_pct(t.retention)}, "
        f"correct {_pct(t.correct_rate)}, exam answers right {_pct(t.exam_rate)}"
    )
    table = Table(title="learners")
    for col in (
        "learner",
        "reviews",
        "retention",
        "correct",
        "exams",
        "exam mean",
        "last exam",
        "last review",
    ):
        table.add_column(col, justify="left" if col in ("learner", "last review") else "right")
    for r in report.learners:
        table.add_row(
            Text(visible(_name(r.profile, r.display_name))),
            str(r.total.reviews),
            _pct(r.total.retention),
            _pct(r.total.correct_rate),
            str(r.exams_taken),
            _pct(r.exam_mean),
            _pct(r.exam_last),
            _day(r.total),
        )
    console.print(table)
    table = Table(title="sections")
    for col in ("section", "learners", "reviews", "retention", "correct", "exam answers right"):
        table.add_column(col, justify="left" if col == "section" else "right")
    for name, s in sorted(report.sections.items()):
        table.add_row(
            Text(visible(name)),  # section titles come from decks: never markup
            str(report.section_learners.get(name, 0)),
            str(s.reviews),
            _pct(s.retention),
            _pct(s.correct_rate),
            _pct(s.exam_rate),
        )
    console.print(table)
