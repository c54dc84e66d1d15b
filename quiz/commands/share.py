"""`quiz deck add`, `quiz deck trust` and `quiz deck list`: bring shared decks in, safely."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quiz.cli import add_common
from quiz.commands.common import err, print_json, say

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.cards import Deck
    from quiz.store.db import Store
    from quiz.trust_review import FieldReview, Review

ADD_DESCRIPTION = """\
Copy deck files from outside into your library (the data dir's decks/
folder, which `quiz` loads). A deck's code runs on this machine, so quiz
first shows everything that decides what the deck runs and tells you — each
card's code, vars, answer, result, choices, prompt, explanation and
requirements — and asks whether you trust it. The content you trust is
pinned by its sha256 for your profile: a deck whose content changes (adding
a new version again, or an edit of the copy) is left out of study, exams
and checks until you trust the new content, and nothing of it runs
meanwhile.

Adding a deck that is already in the library updates it and shows, card by
card, every field that differs from the version you trusted. A deck you do
not trust is still copied, and waits: `quiz deck trust ID` asks again.
Running a deck file you name yourself (`quiz deck check PATH`, `quiz grade
--deck PATH`) needs no trust. In the library's folder, symbolic links and
hard-linked files are refused: add the deck file itself."""

ADD_EPILOG = """\
examples:
  quiz deck add ~/class/week3.toml
  quiz deck add /mnt/course/decks/          every *.toml deck in a folder
  quiz deck add week3.toml --yes            trust without asking (you read it already)

exit status: 0 every deck was added (trusted or left waiting as you chose);
1 a deck could not be added; 2 nothing to add."""

LIST_EPILOG = """\
--json prints {"decks": [{id, title, version, cards, origin, trust, check,
path, added_at}]}: trust is trusted | not trusted | changed | built-in | own
folder; check is the last `quiz deck check` record for the deck's cards
(checked, partly checked, stale, not checked)."""


def register(sub: Any, groups: dict[str, Any]) -> None:
    g = groups["deck"]
    p = g.add_parser(
        "add",
        help="copy a deck (or a folder of decks) into your library, after showing what it runs",
        description=ADD_DESCRIPTION,
        epilog=ADD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="a deck file or a folder of *.toml decks")
    p.add_argument("--yes", action="store_true", help="trust without asking (the code is still printed)")
    p.add_argument("--no-trust", action="store_true", help="copy only; trust later with `quiz deck trust`")
    p.add_argument("--json", action="store_true", help="print one JSON object (implies no prompt)")
    add_common(p)
    p.set_defaults(handler=cmd_add)

    p = g.add_parser(
        "trust",
        help="show what an added deck runs and trust its current content",
        description="Show the code of added decks waiting for your trust, and ask for each.",
    )
    p.add_argument("deck_ids", nargs="*", metavar="DECK", help="deck ids (default: every deck waiting)")
    p.add_argument("--yes", action="store_true", help="trust without asking (the code is still printed)")
    add_common(p)
    p.set_defaults(handler=cmd_trust)

    p = g.add_parser(
        "list",
        help="every deck in the library: origin, trust, version and check status",
        epilog=LIST_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_common(p)
    p.set_defaults(handler=cmd_list)


# --- showing and asking ---------------------------------------------------------------------

# Fields holding Python: highlighted when shown whole.
PYTHON_FIELDS = ("code", "source_code", "answer", "result")


def show_review(deck: Deck, review: Review, *, changed: bool = False, stream: Any = None) -> None:
    """Print what the deck runs and tells, card by card (deck text as plain text, never markup)."""
    from rich.console import Console
    from rich.text import Text

    from quiz.core.text import visible

    # Deck text as Text and Syntax of escaped source: never markup, no live control characters
    # (an escape sequence in a comment must not hide the line after it).
    console = Console(file=stream or sys.stdout, highlight=False)
    version = f" (version {visible(deck.version)})" if deck.version else ""
    console.rule(Text(f"{visible(deck.id)} — {visible(deck.title)}{version}"))
    if changed and review.against_trusted:
        console.print(
            Text(
                f"Changed since you trusted it: {review.changed_cards} card(s) new or changed, "
                f"{review.unchanged} the same in everything they run and show. Each difference is "
                "shown as - (trusted) and + (now).",
                style="yellow",
            )
        )
    elif changed:
        console.print(
            Text("Changed since you trusted it; the trusted version is not at hand, so all of it is shown.")
        )
    else:
        console.print(Text(f"{len(deck.cards)} cards; each runs in a worker process on this machine:"))
    for f in review.deck:
        _show_field(console, f)
    for card in review.cards:
        heading = Text("\n")
        heading.append(visible(card.card_id), style="bold")
        if card.heading:
            heading.append(f"  {visible(card.heading)}", style="dim")
        heading.append(f"  {visible(str(card.where))}  [{card.status}]", style="dim")
        console.print(heading)
        for f in card.fields:
            _show_field(console, f)
    if changed and review.against_trusted and not review.cards and not review.deck:
        console.print(Text("No card differs in anything it runs or shows: only comments or layout changed."))
    if review.unchanged:
        console.print(
            Text(f"\n({review.unchanged} card(s) the same as the version you trusted in every field shown)")
        )


def _show_field(console: Any, f: FieldReview) -> None:
    from rich.padding import Padding
    from rich.syntax import Syntax
    from rich.text import Text

    from quiz.core.text import visible

    label = Text("  ")
    label.append(f.label, style="bold")
    if f.changed and f.before is not None:
        label.append("  changed", style="bold yellow")
        console.print(label)
        body = Text()
        for line in f.diff():
            style = "red" if line.startswith("-") else "green" if line.startswith("+") else "dim"
            body.append(visible(line) + "\n", style=style)
        console.print(Padding(body, (0, 0, 0, 4)))
        return
    console.print(label)
    if f.name in PYTHON_FIELDS:
        console.print(
            Padding(
                Syntax(visible(f.text), "python", theme="ansi_dark", line_numbers=False, word_wrap=True),
                (0, 0, 0, 4),
            )
        )
    else:
        console.print(Padding(Text(visible(f.text)), (0, 0, 0, 4)))


def ask(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    try:
        reply = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return reply.strip().lower() in ("y", "yes")


def _open_store(settings: Settings) -> Store | None:
    """The database, or None after saying why it cannot be opened."""
    from quiz.store.db import StoreError, open_store

    try:
        return open_store(settings.db_url)
    except StoreError as exc:
        err(str(exc))
        return None


# --- add --------------------------------------------------------------------------------------


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from quiz import library as L
    from quiz.core.decks import Problem, deck_files, parse_deck_bytes, read_deck_bytes
    from quiz.store.trust import pin_key, pins
    from quiz.trust_review import review

    files = []
    for raw in args.paths:
        p = Path(raw).expanduser()
        if not p.exists():
            err(f"no such file or folder: {raw}")
            return 2
        files += deck_files([p])
    if not files:
        err(f"no deck files (*.toml) in {', '.join(args.paths)}")
        return 2
    store = _open_store(settings)
    if store is None:
        return 1
    limits = L.limits(settings)
    results: list[dict[str, Any]] = []
    status = 0
    try:
        contents = L.load(settings, store=store)
        # Ids the library already uses outside the added decks: an added deck may not shadow them.
        others = {
            e.deck.id: e.path
            for e in contents.entries
            if e.deck is not None and e.source is not L.Source.ADDED
        }
        pinned = pins(store, settings.profile)
        for path in files:
            source = path.resolve()
            data = read_deck_bytes(source, limits)
            if isinstance(data, Problem):
                deck, problems = None, [data]
            else:
                deck, problems = parse_deck_bytes(data, str(source), limits)
            for problem in problems:
                say(str(problem), file=sys.stderr)
            if deck is None or isinstance(data, Problem):
                results.append({"path": str(path), "added": False, "error": "the deck does not load"})
                err(f"{path}: not added (fix the problems above; `quiz deck check {path}` helps)")
                status = 1
                continue
            if deck.id in others:
                results.append(
                    {
                        "path": str(path),
                        "deck": deck.id,
                        "added": False,
                        "error": f"deck id already used by {others[deck.id]}",
                    }
                )
                err(f"{path}: not added: the library already has a deck {deck.id!r} ({others[deck.id]})")
                status = 1
                continue
            target = L.added_dir() / f"{deck.id}.toml"
            current = read_deck_bytes(target, limits, refuse_links=True)
            updating = target.exists() or target.is_symlink()
            key = pin_key(target)
            sha = hashlib.sha256(data).hexdigest()
            if current == data and pinned.get(key) == sha:
                state = L.Trust.TRUSTED  # adding the same content again
            elif key in pinned:
                state = L.Trust.CHANGED  # a new version of a deck trusted before
            else:
                state = L.Trust.NEW
            # Trusted before: review what differs from the trusted version, field by field.
            previous = L.trusted_version(target, pinned, limits) if state == L.Trust.CHANGED else None
            trusted = state == L.Trust.TRUSTED
            if not trusted and not args.no_trust:
                if not args.json:
                    show_review(deck, review(deck, previous), changed=state == L.Trust.CHANGED)
                if args.yes:
                    trusted = True
                elif not args.json:
                    trusted = ask(f"Trust deck {deck.id!r} and let its code run on this machine?")
                    if not trusted and not sys.stdin.isatty():
                        print("(no terminal to ask: pass --yes to trust, or run `quiz deck trust` later)")
            written = L.write_into_library(data, deck.id)
            L.record_added(written, deck.id, str(source) if source != written.resolve() else "")
            if trusted:
                L.trust(store, settings.profile, written, deck.id, data, str(source))
            word = "trusted" if trusted else "waiting for your trust (`quiz deck trust " + deck.id + "`)"
            if not args.json:
                verb = "updated" if updating else "added"
                print(f"{verb} {deck.id!r} ({len(deck.cards)} cards) → {written}: {word}")
            results.append(
                {
                    "path": str(path),
                    "deck": deck.id,
                    "added": True,
                    "library_path": str(written),
                    "trusted": trusted,
                    "cards": len(deck.cards),
                    "problems": len(problems),
                }
            )
    finally:
        store.dispose()
    if args.json:
        print_json({"decks": results})
    return status


# --- trust ------------------------------------------------------------------------------------


def cmd_trust(args: argparse.Namespace, settings: Settings) -> int:
    from quiz import library as L

    store = _open_store(settings)
    if store is None:
        return 1
    try:
        contents = L.load(settings, store=store)
        waiting = {r.deck_id: r for r in contents.pending}
        added = {e.deck.id: e for e in contents.entries if e.source is L.Source.ADDED and e.deck is not None}
        refused = [e for e in contents.entries if e.source is L.Source.ADDED and e.trust == L.Trust.REFUSED]
        for e in refused:
            for problem in e.problems:
                print(str(problem), file=sys.stderr)
        wanted = args.deck_ids or list(waiting)
        missing = [i for i in wanted if i not in added]
        if missing:
            err(f"no added deck {', '.join(map(repr, missing))}; `quiz deck list` shows the decks")
            return 2
        if not wanted:
            print("every added deck is trusted")
            return 0
        for deck_id in wanted:
            request = waiting.get(deck_id)
            if request is None:
                entry = added[deck_id]
                if entry.trust == L.Trust.TRUSTED:
                    print(f"{deck_id!r} is trusted already")
                else:
                    err(f"{deck_id!r} cannot be trusted now: " + "; ".join(p.message for p in entry.problems))
                continue
            for problem in request.problems:
                print(str(problem), file=sys.stderr)
            show_review(request.deck, request.review, changed=request.changed)
            if args.yes or ask(f"Trust deck {deck_id!r} and let its code run on this machine?"):
                L.trust_request(store, settings.profile, request)
                print(f"trusted {deck_id!r}")
            else:
                print(f"{deck_id!r} stays out of your studies until you trust it")
    finally:
        store.dispose()
    return 0


# --- list ---------------------------------------------------------------------------------------


def check_status(deck: Deck, records: dict[str, Any] | None) -> str:
    """What the deck-check records say of this deck's current cards."""
    if records is None:
        return "not checked"
    from quiz.checking.records import fingerprint

    cards = records.get("cards", {})
    stale = records.get("stale", {})
    checked = [
        c
        for c in deck.cards
        if isinstance(cards.get(c.uid), dict) and cards[c.uid].get("fingerprint") == fingerprint(c)
    ]
    n_stale = sum(1 for c in deck.cards if c.uid in stale)
    if not checked:
        return "not checked"
    when = max(str(cards[c.uid].get("checked_at", "")) for c in checked)[:10]
    text = (
        f"checked {when}"
        if len(checked) == len(deck.cards)
        else f"partly checked ({len(checked)}/{len(deck.cards)}, {when})"
    )
    return f"{text}, {n_stale} stale" if n_stale else text


def _records() -> dict[str, Any] | None:
    try:
        from quiz.checking.records import Records
    except ImportError:
        return None
    rec = Records.load()
    return rec.data if rec.data.get("cards") else None


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from quiz import library as L

    contents = L.load(settings)
    added = L.added_decks()
    records = _records()
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for e in contents.entries:
        deck = e.deck
        if deck is None or deck.id in seen:  # a deck id already used: the first one is the library's
            continue
        seen.add(deck.id)
        entry = added.get(e.path.name) if e.source is L.Source.ADDED else None
        if e.source is L.Source.ADDED:
            origin = entry.origin if entry and entry.origin else "added"
        elif e.source is L.Source.BUILTIN:
            origin = "built-in"
        else:
            origin = str(e.path.parent)
        rows.append(
            {
                "id": deck.id,
                "title": deck.title,
                "version": deck.version or None,
                "cards": len(deck.cards),
                "origin": origin,
                "trust": str(e.trust),
                "check": check_status(deck, records),
                "path": deck.path,
                "added_at": entry.added_at if entry else None,
            }
        )
    lib = contents.library
    if args.json:
        print_json({"decks": rows, "problems": [p.to_dict() for p in lib.problems]})
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from quiz.core.text import visible

    table = Table(title="decks")
    for col in ("deck", "version", "cards", "origin", "trust", "check"):
        table.add_column(col, justify="right" if col == "cards" else "left")
    styles = {"trusted": "green", "not trusted": "yellow", "changed": "red", "unknown": "red"}
    for r in rows:
        table.add_row(
            Text(r["id"]),
            Text(r["version"] or "–"),
            str(r["cards"]),
            Text(visible(str(r["origin"]))),  # a path or URL someone else chose: never markup
            Text(r["trust"], style=styles.get(r["trust"], "")),
            r["check"],
        )
    Console().print(table)
    waiting = [r["id"] for r in rows if r["trust"] in ("not trusted", "changed")]
    if waiting:
        print(
            f"{len(waiting)} deck(s) wait for your trust and are left out of study: quiz deck trust "
            + " ".join(waiting)
        )
    for problem in lib.problems:
        say(str(problem), file=sys.stderr)
    return 0
