"""`quiz class report`: how a class on one database is doing, per learner and per section."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from quiz.cli import add_common
from quiz.commands.common import err, print_json

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.store.classroom import ClassReport, SectionStats
    from quiz.store.db import Store

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


def register(sub: Any, groups: dict[str, Any]) -> None:
    g = groups["class"]
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


def _sections_from_decks(settings: Settings, store: Store) -> tuple[dict[str, str], dict[str, str]]:
    """card uid → section and section → title, from the deck files (parsed, never run)."""
    from quiz.library import load

    decks = [e.deck for e in load(settings, store=store).entries if e.deck is not None]
    sections = {c.uid: c.section for d in decks for c in d.cards}
    titles: dict[str, str] = {}
    for deck in decks:
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
    try:
        sections, titles = _sections_from_decks(settings, store)
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
        print(markdown(report))
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
            _name(r.profile, r.display_name),
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
            name,
            str(report.section_learners.get(name, 0)),
            str(s.reviews),
            _pct(s.retention),
            _pct(s.correct_rate),
            _pct(s.exam_rate),
        )
    console.print(table)
