"""`quiz exam`: a timed self-assessment in the terminal app; `--show` exports a saved one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quiz.cli import add_common

if TYPE_CHECKING:
    from quiz.config import Settings

EPILOG = """\
examples:
  quiz exam                                        20 questions, 20 minutes, every section and backend
  quiz exam --sections autograd,matmul --backends torch --questions 10 --time-limit 10
  quiz exam --report exam.md                       write the report as Markdown when it ends
  quiz exam --list                                 the exams you took
  quiz exam --show last --report exam.md           export a saved exam's report (no app)

Exams draw fresh variants and never change your study schedule.
"""


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def register(sub: Any, groups: dict[str, Any]) -> None:
    p = sub.add_parser(
        "exam",
        help="take a timed exam (self-assessment before interviews); the schedule is left alone",
        description="Take a timed exam in the terminal app: questions from the chosen sections and "
        "backends with fresh variants, a visible timer, and at the end a report with the score per "
        "section and backend, the time per question and every missed card with its truth and explanation.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--sections", type=_names, default=(), metavar="A,B", help="sections to ask about (default: all)"
    )
    p.add_argument(
        "--backends",
        type=_names,
        default=(),
        metavar="A,B",
        help="backends to ask about (default: all chosen)",
    )
    p.add_argument("--decks", type=_names, default=(), metavar="A,B", help="only cards of these decks")
    p.add_argument(
        "--questions", "-n", type=int, default=20, metavar="N", help="number of questions (default: 20)"
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=20,
        metavar="MIN",
        help="minutes for the whole exam; 0: no limit (default: 20)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="draw the same questions again (default: a fresh draw)"
    )
    p.add_argument("--report", type=Path, metavar="FILE.md", help="write the report as Markdown to FILE.md")
    p.add_argument("--list", action="store_true", help="list the exams taken (no app)")
    p.add_argument(
        "--show", metavar="ID|last", help="print a saved exam's report, or write it with --report (no app)"
    )
    p.add_argument("--json", action="store_true", help="with --list or --show: JSON")
    p.add_argument(
        "--device", choices=("auto", "cpu", "gpu"), default=argparse.SUPPRESS, help="where card code runs"
    )
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.commands.common import err

    if args.list or args.show:
        return _history(args, settings)
    try:
        config = _config(args, settings)
    except ValueError as exc:
        err(str(exc))
        return 2
    from quiz.commands.common import isolation_notice
    from quiz.tui.app import run_app

    code = run_app(settings, exam=config, report_path=args.report)
    isolation_notice(settings)  # after the app, as `quiz study` does
    return code


def _config(args: argparse.Namespace, settings: Settings) -> Any:
    """Check the options against the library before the app starts (a clear error, not a screen)."""
    from quiz.commands.common import library
    from quiz.core.cards import BACKENDS
    from quiz.core.exam import ExamConfig

    lib = library(settings)
    sections = sorted({c.section for c in lib.cards()})
    decks = sorted(d.id for d in lib.decks)
    for name in args.sections:
        if name not in sections:
            raise ValueError(f"no section {name!r}; sections: {', '.join(sections)}")
    for name in args.backends:
        if name not in BACKENDS:
            raise ValueError(f"no backend {name!r}; backends: {', '.join(BACKENDS)}")
    for name in args.decks:
        if name not in decks:
            raise ValueError(f"no deck {name!r}; decks: {', '.join(decks)}")
    if args.time_limit < 0:
        raise ValueError("--time-limit is minutes (0: no limit)")
    return ExamConfig(
        questions=args.questions,
        time_limit_s=int(args.time_limit * 60) or None,
        sections=args.sections,
        backends=args.backends,
        decks=args.decks,
        seed=args.seed,
    )


def _history(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.commands.common import err, print_json
    from quiz.core.exam import ExamReport, report_markdown
    from quiz.store.db import StoreError, open_store
    from quiz.store.exams import list_exams, load_exam

    try:
        store = open_store(settings.db_url)
    except StoreError as exc:
        err(str(exc))
        return 1
    try:
        with store.session() as s:
            if args.list:
                rows = list_exams(s, settings.profile)
                if args.json:
                    print_json(
                        [
                            {
                                "id": r.id,
                                "started_at": r.started_at,
                                "finished_at": r.finished_at,
                                "score": r.score,
                                "total": r.total,
                                "config": r.config,
                            }
                            for r in rows
                        ]
                    )
                    return 0
                if not rows:
                    print("No exams yet: `quiz exam` starts one.")
                for r in rows:
                    score = f"{r.score}/{r.total}" if r.total is not None else "not finished"
                    when = r.started_at.astimezone().strftime("%Y-%m-%d %H:%M")
                    print(
                        f"{r.id:>4}  {when}  {score:>12}  {len(r.report['results']) if r.report else '?'} questions"
                    )
                return 0
            which = None if args.show == "last" else _int(args.show)
            row = load_exam(s, settings.profile, which)
    finally:
        store.dispose()
    if row is None or row.report is None:
        err(f"no finished exam {args.show!r} for profile {settings.profile!r} (`quiz exam --list`)")
        return 1
    report = ExamReport.from_dict(row.report)
    if args.json:
        print_json({"id": row.id, **report.to_dict()})
        return 0
    text = report_markdown(report, title=f"quiz exam {row.id}")
    if args.report:
        try:
            args.report.write_text(text, encoding="utf-8")
        except OSError as exc:
            err(f"cannot write {args.report}: {exc}")
            return 1
        print(f"wrote {args.report}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return -1
