"""The `quiz` command line: parse arguments, build settings, dispatch to a command.

Imports stay inside the commands so `quiz --help` and the TUI start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from quiz import __version__

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.cards import Card
    from quiz.core.decks import Library

DESCRIPTION = """\
quiz teaches how PyTorch, TensorFlow/Keras and MXNet really behave.
Each card asks you to predict what a few lines of code do (a shape, a dtype,
whether a gradient is None, whether a line raises...); your answer is graded
by running that code on the frameworks installed here, and FSRS schedules
the card for when you are about to forget it.

Run `quiz` with no command to study the cards that are due."""

EPILOG = """\
examples:
  quiz                                   study (the same as `quiz study`)
  quiz study view-permute-expand         study one deck
  quiz decks                             the decks, with card counts per section and backend
  quiz show expand-shape.torch --seed 3  one concrete variant of a card
  quiz grade expand-shape.torch --seed 3 --answer "(2, 3, 4)" --json
  quiz doctor                            what is installed, which devices, which database

environment:
  QUIZ_DB       database URL (default: SQLite in your user data dir)
  QUIZ_HOME     keep all of quiz's data, settings and caches under one directory
  QUIZ_PROFILE  learner profile name (default: "default")
"""

GRADE_EPILOG = """\
exit status: 0 correct, 1 incorrect, 2 bad input (unknown card, malformed
answer: nothing was graded), 3 the card could not be run (timeout, crash,
backend missing).

--json prints one object: correct (true/false; null when not graded, with
error saying why), expected, given, backend, device, version, elapsed_ms,
plus card and seed."""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", help="database URL (or QUIZ_DB); default: SQLite in your data dir")
    p.add_argument("--profile", help="learner profile (or QUIZ_PROFILE)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quiz",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"quiz {__version__}")
    _common(parser)
    parser.add_argument(
        "--device", choices=("auto", "cpu", "gpu"), help="where card code runs (default: auto)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("study", help="study due cards in the terminal app (the default)")
    p.add_argument("deck", nargs="?", help="study only this deck (id); default: all decks")
    p.add_argument("--device", choices=("auto", "cpu", "gpu"), default=argparse.SUPPRESS)
    _common(p)

    p = sub.add_parser("doctor", help="check Python, backends, devices, database and isolation")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _common(p)

    p = sub.add_parser("decks", help="list decks with card counts per section and backend")
    p.add_argument("paths", nargs="*", help="deck files or folders to list instead of the library")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _common(p)

    p = sub.add_parser(
        "show",
        help="print one concrete variant of a card: prompt and code with the drawn values",
        description="Print the variant of CARD_ID drawn from SEED: the same seed gives the same variant anywhere.",
    )
    p.add_argument("card", metavar="CARD_ID", help="card id, deck/card, or a family id with --backend")
    p.add_argument("--seed", type=int, default=0, help="variant seed (default 0)")
    p.add_argument(
        "--backend", choices=("torch", "tensorflow", "mxnet"), help="pick the family's card for this backend"
    )
    p.add_argument(
        "--deck", metavar="PATH", action="append", help="a deck file outside the library (repeatable)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _common(p)

    p = sub.add_parser(
        "grade",
        help="run a card's variant and grade an answer",
        description="Run the variant of CARD_ID for SEED on this machine and grade ANSWER against what happened.",
        epilog=GRADE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("card", metavar="CARD_ID", help="card id, deck/card, or a family id with --backend")
    p.add_argument("--seed", type=int, default=0, help="variant seed (default 0)")
    p.add_argument("--answer", required=True, help="your prediction, as you would type it in the app")
    p.add_argument(
        "--backend", choices=("torch", "tensorflow", "mxnet"), help="pick the family's card for this backend"
    )
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "gpu"),
        default=argparse.SUPPRESS,
        help="where to run (default auto)",
    )
    p.add_argument(
        "--deck", metavar="PATH", action="append", help="a deck file outside the library (repeatable)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _common(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "study"
    from quiz import paths

    paths.use_hypothesis_cache()
    try:
        settings = _settings(args)
    except ValueError as exc:
        print(f"quiz: {exc}", file=sys.stderr)
        return 2
    handler = {
        "study": cmd_study,
        "doctor": cmd_doctor,
        "decks": cmd_decks,
        "show": cmd_show,
        "grade": cmd_grade,
    }[command]
    try:
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def _settings(args: argparse.Namespace) -> Settings:
    from quiz.config import load_settings

    return load_settings(
        db_url=getattr(args, "db", None),
        device=getattr(args, "device", None),
        profile=getattr(args, "profile", None),
    )


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


def _err(message: str) -> None:
    print(f"quiz: {message}", file=sys.stderr)


# --- study ---------------------------------------------------------------------


def cmd_study(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.tui.app import run_app

    return run_app(settings, deck=getattr(args, "deck", None))


# --- decks -------------------------------------------------------------------


def _library(settings: Settings, extra: list[str] | None = None, only: list[str] | None = None) -> Library:
    from quiz.core.decks import load_library
    from quiz.study import load_decks

    if only:
        return load_library(only)
    return load_decks(settings, extra)


def deck_summary(library: Library) -> list[dict[str, Any]]:
    out = []
    for deck in library.decks:
        sections: dict[str, dict[str, int]] = {}
        backends: dict[str, int] = {}
        families: dict[str, list[str]] = {}
        for card in deck.cards:
            b = card.backend.value
            sections.setdefault(card.section, {}).setdefault(b, 0)
            sections[card.section][b] += 1
            backends[b] = backends.get(b, 0) + 1
            families.setdefault(card.family, []).append(b)
        out.append(
            {
                "id": deck.id,
                "title": deck.title,
                "path": deck.path,
                "cards": len(deck.cards),
                "families": len(families),
                "backends": backends,
                "sections": sections,
                "family_backends": families,
            }
        )
    return out


def cmd_decks(args: argparse.Namespace, settings: Settings) -> int:
    library = _library(settings, only=args.paths or None)
    summary = deck_summary(library)
    if args.json:
        totals: dict[str, int] = {}
        for d in summary:
            for b, n in d["backends"].items():
                totals[b] = totals.get(b, 0) + n
        _print_json(
            {
                "decks": summary,
                "totals": {
                    "decks": len(summary),
                    "cards": sum(d["cards"] for d in summary),
                    "families": sum(d["families"] for d in summary),
                    "backends": totals,
                },
                "problems": [p.to_dict() for p in library.problems],
            }
        )
    else:
        from rich.console import Console
        from rich.table import Table

        console = Console()
        table = Table(title="decks", show_lines=False)
        for col in ("deck", "section", "torch", "tensorflow", "mxnet", "cards"):
            table.add_column(col, justify="right" if col not in ("deck", "section") else "left")
        for d in summary:
            first = True
            for section, counts in sorted(d["sections"].items()):
                table.add_row(
                    d["id"] if first else "",
                    section,
                    *(str(counts.get(b, "")) for b in ("torch", "tensorflow", "mxnet")),
                    str(sum(counts.values())),
                )
                first = False
        console.print(table)
        total = sum(d["cards"] for d in summary)
        console.print(f"{len(summary)} decks, {total} cards, {sum(d['families'] for d in summary)} families")
    for problem in library.problems:
        print(str(problem), file=sys.stderr)
    if library.problems:
        _err(f"{len(library.problems)} problem(s) in deck files; the other decks loaded")
        return 1
    return 0


# --- show / grade --------------------------------------------------------------


class CardNotFound(LookupError):
    pass


def find_card(library: Library, ref: str, backend: str | None) -> Card:
    matches = library.find(ref)
    if not matches:
        matches = [c for c in library.cards() if c.family == ref or f"{c.deck_id}/{c.family}" == ref]
    if backend:
        matches = [c for c in matches if c.backend.value == backend]
    if not matches:
        where = f" for {backend}" if backend else ""
        raise CardNotFound(f"no card {ref!r}{where}; `quiz decks` lists the decks")
    if len(matches) > 1:
        options = ", ".join(sorted(c.uid for c in matches)[:8])
        raise CardNotFound(f"{ref!r} matches several cards ({options}); give deck/card or --backend")
    return matches[0]


def _card_for(args: argparse.Namespace, settings: Settings) -> tuple[Card | None, int]:
    library = _library(settings, extra=args.deck)
    for problem in library.problems:
        if args.deck and any(problem.path == d for d in args.deck):
            print(str(problem), file=sys.stderr)
    try:
        return find_card(library, args.card, args.backend), 0
    except CardNotFound as exc:
        if args.json:
            _print_json({"correct": None, "error": str(exc), "card": args.card})
        else:
            _err(str(exc))
        return None, 2


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.core.variables import NoVariantError, draw_variant

    card, status = _card_for(args, settings)
    if card is None:
        return status
    try:
        variant = draw_variant(card, args.seed)
    except NoVariantError as exc:
        _err(str(exc))
        return 2
    if args.json:
        _print_json(
            {
                "card": card.uid,
                "family": card.family,
                "seed": args.seed,
                "backend": card.backend.value,
                "kind": card.kind.value,
                "section": card.section,
                "values": variant.values_json(),
                "prompt": variant.prompt,
                "code": variant.code,
                "choices": list(card.choices),
            }
        )
        return 0
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.syntax import Syntax

    console = Console()
    console.print(f"[bold]{card.uid}[/]  [dim]{card.backend.value} · {card.kind.value} · seed {args.seed}[/]")
    console.print(Markdown(variant.prompt))
    console.print(Syntax(variant.code, "python", theme="ansi_dark", line_numbers=False))
    for i, choice in enumerate(card.choices):
        console.print(f"  {chr(ord('a') + i)}) {choice}")
    return 0


def cmd_grade(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.core.answers import MalformedAnswer, parse_answer
    from quiz.core.grading import judge
    from quiz.core.variables import draw_variant
    from quiz.runner.client import Runner

    card, status = _card_for(args, settings)
    if card is None:
        return status
    variant = draw_variant(card, args.seed)
    try:
        parsed = parse_answer(card, args.answer)
    except MalformedAnswer as exc:
        if args.json:
            _print_json(
                {
                    "correct": None,
                    "error": f"malformed answer: {exc.hint}",
                    "given": args.answer,
                    "card": card.uid,
                }
            )
        else:
            _err(f"malformed answer: {exc.hint}")
        return 2
    from quiz import paths

    with Runner(device=settings.device, log_dir=paths.log_dir()) as runner:
        result = runner.run(card, variant, given=parsed if card.kind.value == "code" else None)
    verdict = judge(card, args.answer, parsed, result)
    if args.json:
        _print_json({**verdict.to_dict(), "card": card.uid, "seed": args.seed})
    else:
        if verdict.correct is None:
            print(f"not graded: {verdict.error}")
        else:
            word = "correct" if verdict.correct else "incorrect"
            print(
                f"{word}: you said {verdict.given}; {card.backend.value} on {verdict.device} gave {verdict.expected}"
            )
            print(f"({card.backend.value} {verdict.version}, ran in {verdict.elapsed_ms:.1f} ms)")
    if verdict.correct is None:
        return 3
    return 0 if verdict.correct else 1


# --- doctor ------------------------------------------------------------------


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    import platform
    import time

    from quiz import paths
    from quiz.runner.backends import backend_info
    from quiz.runner.client import Runner

    report: dict[str, Any] = {
        "quiz": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "paths": {
            "data": str(paths.data_dir()),
            "config": str(paths.config_dir()),
            "cache": str(paths.cache_dir()),
        },
        "backends": {},
    }
    runner = Runner(device=settings.device, log_dir=paths.log_dir())
    infos = {b: backend_info(b) for b in ("torch", "tensorflow", "mxnet")}
    started = time.perf_counter()
    runner.prestart([b for b, i in infos.items() if i.installed])
    for name, info in infos.items():
        entry: dict[str, Any] = {"installed": info.installed, "version": info.version}
        if info.installed:
            try:
                ready = runner.info(name) or {}
                entry["devices"] = ready.get("devices", [])
                entry["worker"] = "ok"
                entry["worker_ready_s"] = round(time.perf_counter() - started, 2)
            except Exception as exc:
                entry["worker"] = f"failed: {exc}"
                entry["devices"] = []
        else:
            entry["hint"] = info.hint
        report["backends"][name] = entry
    runner.close()

    from quiz.store.db import HEAD_REVISION, StoreError, _redact, open_store

    db: dict[str, Any] = {"url": _redact(settings.db_url), "head": HEAD_REVISION}
    try:
        store = open_store(settings.db_url)
        db["revision"] = store.revision
        db["ok"] = store.revision == HEAD_REVISION
        store.dispose()
    except StoreError as exc:
        db["ok"] = False
        db["error"] = str(exc)
    report["database"] = db
    report["isolation"] = {
        "layers": [
            "separate worker process per backend",
            "own process group (killed whole on timeout)",
            "cleared environment, scratch cwd and HOME",
            "no core dumps",
        ],
    }
    library = _library(settings)
    report["decks"] = {
        "decks": len(library.decks),
        "cards": len(library.cards()),
        "problems": len(library.problems),
    }

    if args.json:
        _print_json(report)
    else:
        print(f"quiz {report['quiz']} on Python {report['python']} ({report['platform']})")
        for name, entry in report["backends"].items():
            if entry["installed"]:
                devices = ", ".join(entry.get("devices", [])) or "-"
                print(
                    f"  {name:<11} {entry['version'] or '?':<10} devices: {devices:<10} worker: {entry['worker']}"
                )
            else:
                print(f"  {name:<11} not installed — {entry['hint']}")
        state = (
            "ok" if db.get("ok") else db.get("error", f"revision {db.get('revision')} (head {HEAD_REVISION})")
        )
        print(f"  database    {db['url']}  schema {db.get('revision')} / head {HEAD_REVISION}: {state}")
        print(f"  isolation   {'; '.join(report['isolation']['layers'])}")
        d = report["decks"]
        print(f"  decks       {d['decks']} decks, {d['cards']} cards, {d['problems']} problems")
    ok = db.get("ok") and all(e.get("worker", "ok") == "ok" for e in report["backends"].values())
    return 0 if ok else 1
