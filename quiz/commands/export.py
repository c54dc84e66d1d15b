"""`quiz export --anki|--csv` and `quiz import --csv`: decks to Anki, reviews to a table, a table to a deck."""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quiz.cli import add_common
from quiz.commands.common import err, isolation_notice, lent_or_own, print_json, say

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.cards import Card, Deck

EXPORT_DESCRIPTION = """\
--anki OUT.apkg writes an Anki package: for every card that can run here, a
few variants (seeds 0..N-1), each a note whose answer is the truth computed
by running that variant's code now, on this machine's frameworks. Each note
records the framework version that produced its truth, the card id and the
seed (`quiz show CARD --seed S` shows the same variant). Cards whose backend
is not installed are left out and counted. DECK is a deck id of your
library or a deck file; default: the whole library (untrusted added decks
are not run).

--csv OUT.csv writes your review history, one row per answer (- for stdout);
--all-profiles includes every learner in the database (a class)."""

EXPORT_EPILOG = """\
examples:
  quiz export --anki torch-shapes.apkg view-permute-expand matmul --variants 5
  quiz export --anki mine.apkg ~/decks/week3.toml
  quiz export --csv reviews.csv
  quiz export --csv - --all-profiles --db postgresql+psycopg://teacher@db/quiz | head

--json prints a summary object: for --anki {out, notes, cards, decks,
variants_failed [{card, seed, error}], cards_skipped [{card, reason}],
versions}; for --csv {out, rows}."""

IMPORT_DESCRIPTION = """\
Turn a table of cards into a new deck file. The CSV needs a header row with
the columns prompt, code, answer, backend (torch, tensorflow, mxnet) and
kind (shape, dtype, bool, grad_is_none, value, raises, choice, code); it may
add id, section, explain, choices (separated by |) and tags (separated by
spaces). `answer` is the Python expression evaluated after `code` whose value
is the truth (empty for `raises` cards). Every row is checked first; if any
is wrong nothing is written and every problem is listed with its row.
Then run `quiz deck check` on the new file to run every card."""

IMPORT_EPILOG = """\
example CSV (a cell with several lines of code is quoted, as spreadsheets write it):
  prompt,code,answer,backend,kind
  What is y.shape?,"x = torch.zeros(2, 3)
  y = x.t()",y.shape,torch,shape

examples:
  quiz import --csv cards.csv --out decks/imported.toml --id imported --title "Imported cards"
  quiz deck check decks/imported.toml"""

CSV_COLUMNS = (
    "reviewed_at",
    "profile",
    "card",
    "deck",
    "seed",
    "variables",
    "answer_given",
    "expected",
    "correct",
    "error",
    "rating",
    "backend",
    "device",
    "framework_version",
    "response_ms",
    "run_ms",
    "shown_at",
    "uuid",
)


def register(sub: Any, groups: dict[str, Any]) -> None:
    p = sub.add_parser(
        "export",
        help="write an Anki package of decks (truths computed by running them) or your reviews as CSV",
        description=EXPORT_DESCRIPTION,
        epilog=EXPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--anki", metavar="OUT.apkg", help="write an Anki package")
    what.add_argument("--csv", metavar="OUT.csv", help="write the review history as CSV (- for stdout)")
    p.add_argument(
        "decks", nargs="*", metavar="DECK", help="--anki: deck ids or deck files (default: the library)"
    )
    p.add_argument(
        "--variants", type=int, default=3, metavar="N", help="--anki: variants per card (default 3)"
    )
    p.add_argument(
        "--jobs", type=int, metavar="N", help="--anki: worker processes per backend (default: cores)"
    )
    p.add_argument("--all-profiles", action="store_true", help="--csv: every learner, not only --profile")
    p.add_argument("--json", action="store_true", help="print a JSON summary; no progress bar")
    add_common(p, device=True)
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser(
        "import",
        help="make a deck file from a CSV table of cards",
        description=IMPORT_DESCRIPTION,
        epilog=IMPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--csv", required=True, metavar="IN.csv", help="the table of cards")
    p.add_argument("--out", metavar="PATH", help="the deck file to write (default: IN with .toml)")
    p.add_argument("--id", dest="deck_id", help="deck id (default: from the file name)")
    p.add_argument("--title", help="deck title (default: from the file name)")
    p.add_argument("--section", default="imported", help="section for rows without one (default: imported)")
    p.add_argument("--force", action="store_true", help="overwrite the deck file if it exists")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    add_common(p)
    p.set_defaults(handler=cmd_import)


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    if args.anki:
        if args.variants < 1:
            err("--variants must be at least 1")
            return 2
        return export_anki(args, settings)
    return export_csv(args, settings)


# --- Anki ----------------------------------------------------------------------------------------

MODEL_NAME = "quiz card (truth by execution)"
FIELDS = (
    "Prompt",
    "Code",
    "Choices",
    "Truth",
    "Explain",
    "Card",
    "Seed",
    "Values",
    "Backend",
    "Versions",
    "Kind",
    "Section",
)
FRONT = """<div class="prompt">{{Prompt}}</div>
<pre class="code"><code>{{Code}}</code></pre>
{{#Choices}}<div class="choices">{{Choices}}</div>{{/Choices}}"""
BACK = """{{FrontSide}}
<hr id="answer">
<div class="truth">{{Truth}}</div>
<div class="explain">{{Explain}}</div>
<div class="meta">{{Backend}} · {{Versions}} · {{Card}} seed {{Seed}} · {{Values}}</div>"""
CSS = """.card { font-family: sans-serif; font-size: 18px; text-align: left; }
pre.code { background: #f4f4f4; padding: 8px; border-radius: 4px; font-size: 15px; }
.truth { font-family: monospace; font-size: 22px; font-weight: bold; margin: 8px 0; }
.meta { color: #888; font-size: 12px; margin-top: 12px; }"""


def _stable_id(text: str) -> int:
    """Anki ids are 64-bit ints; derive them from names so a re-export updates instead of duplicating."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:6], "big") + (1 << 30)


def _markdown(text: str) -> str:
    from markdown_it import MarkdownIt

    return str(MarkdownIt("commonmark", {"html": False}).render(text)).strip()


@dataclass
class AnkiExport:
    notes: int = 0
    cards: int = 0
    decks: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)


def _decks_for(args: argparse.Namespace, settings: Settings) -> tuple[list[Deck], list[str]]:
    from quiz.commands.common import library
    from quiz.core.decks import load_library

    files = [d for d in args.decks if d.endswith(".toml") or Path(d).exists()]
    ids = [d for d in args.decks if d not in files]
    problems: list[str] = []
    decks: list[Deck] = []
    if files:  # named on the command line: the learner's own act
        explicit = load_library(files)
        decks += explicit.decks
        problems += [str(p) for p in explicit.problems]
    if ids or not args.decks:
        lib = library(settings)
        known = {d.id: d for d in lib.decks}
        missing = [i for i in ids if i not in known]
        if missing:
            problems.append(f"no deck {', '.join(map(repr, missing))} in the library (`quiz deck list`)")
        decks += [known[i] for i in ids if i in known] if ids else list(lib.decks)
        if not args.decks:
            problems += [str(p) for p in lib.problems]
    return decks, problems


def export_anki(args: argparse.Namespace, settings: Settings) -> int:
    import genanki  # type: ignore[import-untyped]

    from quiz import paths
    from quiz.core.decks import unmet_requirement
    from quiz.core.variables import NoVariantError, draw_variant
    from quiz.runner.backends import installed_versions
    from quiz.runner.pool import RunnerPool

    decks, problems = _decks_for(args, settings)
    for p in problems:
        say(p, file=sys.stderr)
    if not decks:
        err("no decks to export")
        return 2
    out = Path(args.anki)
    if out.suffix != ".apkg":
        out = out.with_name(out.name + ".apkg")
    versions = installed_versions()
    gpu = False if settings.device == "cpu" else None
    work: list[tuple[Deck, Card, Any]] = []
    summary = AnkiExport(decks=len(decks))
    for deck in decks:
        for card in deck.cards:
            reason = unmet_requirement(card, versions, gpu=gpu)
            if reason:
                summary.skipped.append({"card": card.uid, "reason": reason})
                continue
            summary.cards += 1
            for seed in range(args.variants):
                try:
                    work.append((deck, card, draw_variant(card, seed)))
                except NoVariantError as exc:
                    summary.failed.append({"card": card.uid, "seed": seed, "error": str(exc)})

    model = genanki.Model(
        _stable_id(MODEL_NAME),
        MODEL_NAME,
        fields=[{"name": f} for f in FIELDS],
        templates=[{"name": "Predict", "qfmt": FRONT, "afmt": BACK}],
        css=CSS,
    )
    anki_decks = {d.id: genanki.Deck(_stable_id(f"quiz deck {d.id}"), f"quiz::{d.title}") for d in decks}
    if work:
        isolation_notice(settings)
    results = _run_all(work, settings, args, paths.log_dir(), RunnerPool)
    for (deck, card, variant), result in zip(work, results):
        if not result.ok:
            summary.failed.append({"card": card.uid, "seed": variant.seed, "error": result.error})
            continue
        note_versions = _versions_text(card.backend.value, result.version, versions)
        summary.versions[card.backend.value] = result.version
        anki_decks[deck.id].add_note(
            genanki.Note(
                model=model,
                fields=_note_fields(card, variant, result, note_versions),
                tags=_tags(card),
                guid=genanki.guid_for("quiz", card.uid, variant.seed),
            )
        )
        summary.notes += 1
    if summary.notes == 0:
        err("no variant could be run here: nothing to export")
        for f in summary.failed[:5]:
            say(f"  {f['card']} seed {f['seed']}: {f['error']}", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    genanki.Package(list(anki_decks.values())).write_to_file(str(out))
    if args.json:
        print_json(
            {
                "out": str(out),
                "notes": summary.notes,
                "cards": summary.cards,
                "decks": summary.decks,
                "variants_failed": summary.failed,
                "cards_skipped": summary.skipped,
                "versions": summary.versions,
            }
        )
    else:  # paths, card ids and what card code raised: control characters made visible
        say(
            f"wrote {out}: {summary.notes} notes from {summary.cards} cards in {summary.decks} deck(s)"
            f" ({', '.join(f'{b} {v}' for b, v in sorted(summary.versions.items()))})"
        )
        if summary.skipped:
            say(
                f"left out {len(summary.skipped)} card(s) that cannot run here "
                f"(e.g. {summary.skipped[0]['card']}: {summary.skipped[0]['reason']})"
            )
        if summary.failed:
            say(
                f"{len(summary.failed)} variant(s) failed to run and were left out "
                f"(e.g. {summary.failed[0]['card']} seed {summary.failed[0]['seed']}: {summary.failed[0]['error']})"
            )
    return 0


def _run_all(
    work: list[tuple[Any, Any, Any]],
    settings: Settings,
    args: argparse.Namespace,
    log_dir: Path,
    pool_type: Any,
) -> list[Any]:
    """Run every variant through a pool of warm workers, with a progress bar on a terminal."""
    from concurrent.futures import ThreadPoolExecutor

    results: list[Any] = [None] * len(work)
    if not work:
        return results
    show = not args.json and sys.stderr.isatty()
    own = pool_type(
        args.jobs, device=settings.device, log_dir=log_dir, allow_unisolated=settings.allow_unisolated
    )
    with lent_or_own(own) as pool:
        pool.prestart(sorted({c.backend.value for _d, c, _v in work}))
        progress = None
        if show:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            progress = Progress(
                TextColumn("running variants"),
                BarColumn(),
                MofNCompleteColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            progress.start()
            task = progress.add_task("run", total=len(work))
        try:
            with ThreadPoolExecutor(max_workers=max(1, pool.size) * 3) as ex:
                futures = {
                    ex.submit(pool.run, card, variant): i for i, (_d, card, variant) in enumerate(work)
                }
                for fut, i in futures.items():
                    results[i] = fut.result()
                    if progress is not None:
                        progress.advance(task)
        finally:
            if progress is not None:
                progress.stop()
    return results


def _versions_text(backend: str, ran: str, versions: dict[str, str | None]) -> str:
    text = f"{backend} {ran or versions.get(backend) or '?'}"
    if backend == "tensorflow" and versions.get("keras"):
        text += f", keras {versions['keras']}"
    return text


def _note_fields(card: Card, variant: Any, result: Any, versions: str) -> list[str]:
    from quiz.core.grading import format_truth

    truth = format_truth(card, result.truth)
    if card.kind.value == "code" and card.answer:
        truth = f"{html.escape(card.answer.strip())} → {html.escape(truth)}"
    else:
        truth = html.escape(truth)
    choices = "".join(f"<div>{chr(97 + i)}) {html.escape(c)}</div>" for i, c in enumerate(card.choices))
    values = ", ".join(f"{k}={v!r}" for k, v in variant.values_json().items())
    return [
        _markdown(variant.prompt),
        html.escape(variant.code.strip()),
        choices,
        truth,
        _markdown(card.explain),
        html.escape(card.uid),
        str(variant.seed),
        html.escape(values),
        card.backend.value,
        html.escape(versions),
        card.kind.value,
        html.escape(card.section),
    ]


def _tags(card: Card) -> list[str]:
    raw = ["quiz", card.backend.value, f"kind::{card.kind.value}", f"section::{card.section}", *card.tags]
    return [re.sub(r"\s+", "_", t) for t in raw if t]


# --- CSV of reviews ------------------------------------------------------------------------------


def _review_rows(settings: Settings, all_profiles: bool) -> Iterator[list[Any]]:
    from sqlalchemy import select

    from quiz.store.db import open_store
    from quiz.store.models import Review

    store = open_store(settings.db_url)
    try:
        with store.session() as s:
            stmt = select(Review).order_by(Review.reviewed_at, Review.id)
            if not all_profiles:
                stmt = stmt.where(Review.profile == settings.profile)
            for r in s.scalars(stmt.execution_options(yield_per=500)):
                yield [
                    r.reviewed_at.isoformat(),
                    r.profile,
                    r.card_uid,
                    r.card_uid.split("/", 1)[0],
                    r.seed,
                    json.dumps(r.variables, sort_keys=True),
                    r.answer_given,
                    r.expected,
                    "" if r.correct is None else str(r.correct).lower(),
                    r.error or "",
                    r.rating,
                    r.backend,
                    r.device,
                    r.framework_version,
                    r.response_ms,
                    "" if r.run_ms is None else r.run_ms,
                    r.shown_at.isoformat(),
                    r.uuid,
                ]
    finally:
        store.dispose()


def export_csv(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.store.db import StoreError

    to_stdout = args.csv == "-"
    out = Path(args.csv)
    rows = 0
    try:
        if to_stdout:
            writer = csv.writer(sys.stdout)
            writer.writerow(CSV_COLUMNS)
            for row in _review_rows(settings, args.all_profiles):
                writer.writerow(row)
                rows += 1
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f".{out.name}.tmp")
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(CSV_COLUMNS)
                for row in _review_rows(settings, args.all_profiles):
                    writer.writerow(row)
                    rows += 1
            tmp.replace(out)
    except StoreError as exc:
        err(str(exc))
        return 2
    except OSError as exc:
        err(f"cannot write {out}: {exc.strerror or exc}")
        return 2
    if not to_stdout:
        if args.json:
            print_json({"out": str(out), "rows": rows})
        else:
            who = "every learner" if args.all_profiles else f"profile {settings.profile!r}"
            print(f"wrote {rows} review(s) of {who} to {out}")
    return 0


# --- CSV of cards → deck -------------------------------------------------------------------------

REQUIRED = ("prompt", "code", "answer", "backend", "kind")
OPTIONAL = ("id", "section", "explain", "choices", "tags")


def _toml_string(text: str) -> str:
    """A TOML string for `text`: a readable literal block for code, an escaped string otherwise."""
    if "\n" in text and "'''" not in text and not text.endswith("'") and "\r" not in text:
        return "'''\n" + text + "'''" if text.endswith("\n") else "'''\n" + text + "\n'''"
    return json.dumps(text, ensure_ascii=False)


def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "card"


def cards_from_csv(path: Path, section: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows as card tables, or every problem (row numbers as a spreadsheet shows them)."""
    from quiz.core.cards import BACKENDS, KINDS

    problems: list[str] = []
    cards: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"{path}: cannot read: {exc}"]
    reader = csv.DictReader(text.splitlines(keepends=True))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [f"{path}:1: the header lacks {', '.join(missing)} (needs {', '.join(REQUIRED)})"]
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    if unknown:
        problems.append(
            f"{path}:1: unknown column(s) {', '.join(unknown)} (known: {', '.join(REQUIRED + OPTIONAL)})"
        )
    seen: set[str] = set()
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "") for k, v in raw.items()}
        where = f"{path}:{n}"
        if not any(v.strip() for v in row.values()):
            continue
        backend, kind = row["backend"].strip().lower(), row["kind"].strip().lower()
        if backend not in BACKENDS:
            problems.append(f"{where}: backend {row['backend']!r} is not one of {', '.join(BACKENDS)}")
        if kind not in KINDS:
            problems.append(f"{where}: kind {row['kind']!r} is not one of {', '.join(KINDS)}")
        for col in ("prompt", "code"):
            if not row[col].strip():
                problems.append(f"{where}: `{col}` is empty")
        if kind != "raises" and not row["answer"].strip():
            problems.append(f"{where}: `answer` is empty (only `raises` cards have none)")
        base = row.get("id", "").strip() or _slug(row["prompt"])
        card_id = base if base.endswith(f".{backend}") else f"{base}.{backend}"
        k = 2
        while card_id in seen:
            card_id = f"{base}-{k}.{backend}"
            k += 1
        seen.add(card_id)
        card: dict[str, Any] = {
            "id": card_id,
            "section": row.get("section", "").strip() or section,
            "backend": backend,
            "kind": kind,
            "prompt": row["prompt"].strip(),
            "code": row["code"].strip("\n") + "\n",
            "explain": row.get("explain", "").strip() or f"Imported from {path.name}, row {n}.",
        }
        if row["answer"].strip():
            card["answer"] = row["answer"].strip()
        if row.get("choices", "").strip():
            card["choices"] = [c.strip() for c in row["choices"].split("|") if c.strip()]
        elif kind == "choice":
            problems.append(f"{where}: a `choice` card needs `choices` (separated by |)")
        if row.get("tags", "").strip():
            card["tags"] = row["tags"].split()
        cards.append(card)
    if not cards and not problems:
        problems.append(f"{path}: no rows")
    return cards, problems


def deck_toml(deck_id: str, title: str, cards: list[dict[str, Any]], source: str) -> str:
    lines = [
        f"# Imported from {source} by `quiz import --csv`; check it with `quiz deck check`.",
        "",
        "[deck]",
        f"id = {json.dumps(deck_id)}",
        f"title = {json.dumps(title, ensure_ascii=False)}",
        "",
    ]
    for card in cards:
        lines.append("[[card]]")
        for key in ("id", "section", "backend", "kind", "prompt", "code", "answer", "explain"):
            if key in card:
                lines.append(f"{key} = {_toml_string(card[key])}")
        for key in ("choices", "tags"):
            if key in card:
                lines.append(f"{key} = [{', '.join(json.dumps(x, ensure_ascii=False) for x in card[key])}]")
        lines.append("")
    return "\n".join(lines)


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.core.decks import parse_deck

    src = Path(args.csv)
    out = Path(args.out) if args.out else src.with_suffix(".toml")
    if out.suffix != ".toml":
        out = out.with_name(out.name + ".toml")
    if out.exists() and not args.force:
        err(f"{out} exists; pass --force to overwrite it, or --out another file")
        return 2
    cards, problems = cards_from_csv(src, args.section)
    if problems:
        for p in problems:
            say(p, file=sys.stderr)
        err(f"{len(problems)} problem(s) in {src}; nothing was written")
        return 1
    deck_id = args.deck_id or _slug(out.stem, 60)
    title = args.title or out.stem.replace("-", " ").replace("_", " ").strip().capitalize() or "Imported"
    text = deck_toml(deck_id, title, cards, src.name)
    deck, deck_problems = parse_deck(text, str(out))  # the loader must accept what we write
    if deck is None or deck_problems:
        for problem in deck_problems:
            say(str(problem), file=sys.stderr)
        err("the deck made from the table does not load; nothing was written")
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    if args.json:
        print_json({"out": str(out), "deck": deck_id, "cards": len(deck.cards)})
    else:
        print(
            f"wrote {out}: deck {deck_id!r} with {len(deck.cards)} card(s); run them with: quiz deck check {out}"
        )
    return 0
