"""`quiz deck add`, `quiz deck trust` and `quiz deck list`: bring shared decks in, safely."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quiz.cli import add_common
from quiz.commands.common import err, print_json, say

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.cards import Card, Deck
    from quiz.store.db import Store

ADD_DESCRIPTION = """\
Copy deck files from outside into your library (the data dir's decks/
folder, which `quiz` loads). A deck's code runs on this machine, so quiz
first shows everything the deck will run — each card's code and answer
expression — and asks whether you trust it. The content you trust is pinned
by its sha256 for your profile: a deck whose content changes (adding a new
version again, or an edit of the copy) is left out of study, exams and
checks until you trust the new content, and nothing of it runs meanwhile.

Adding a deck that is already in the library updates it and shows only the
cards whose code changed. A deck you do not trust is still copied, and
waits: `quiz deck trust ID` asks again. Running a deck file you name
yourself (`quiz deck check PATH`, `quiz grade --deck PATH`) needs no trust."""

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


def show_code(deck: Deck, listing: list[tuple[Card, str]], unchanged: int, stream: Any = None) -> None:
    from rich.console import Console
    from rich.syntax import Syntax
    from rich.text import Text

    from quiz.core.text import visible

    # Deck text as Text and Syntax of escaped source: never markup, no live control characters
    # (an escape sequence in a comment must not hide the line after it).
    console = Console(file=stream or sys.stdout, highlight=False)
    rule = Text(deck.id, style="bold")
    rule.append(f" — {visible(deck.title)}" + (f" (version {deck.version})" if deck.version else ""))
    console.rule(rule)
    if deck.author:
        console.print(Text(f"author: {visible(deck.author)}"))
    console.print(f"{len(deck.cards)} cards; each runs in a worker process on this machine:")
    for card, code in listing:
        head = Text(f"\n{card.id}", style="bold")
        head.append(
            f"  {card.backend.value} · {card.kind.value} · {visible(str(card.location))}", style="dim"
        )
        console.print(head)
        console.print(Syntax(visible(code), "python", theme="ansi_dark", line_numbers=False, word_wrap=True))
    if unchanged:
        console.print(f"\n({unchanged} card(s) run the same code as the version you trusted)")


def ask(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    try:
        reply = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return reply.strip().lower() in ("y", "yes")


def _open_store(settings: Settings) -> Store | None:
    from quiz.store.db import StoreError, open_store

    try:
        return open_store(settings.db_url)
    except StoreError as exc:
        err(str(exc))
        return None


# --- add --------------------------------------------------------------------------------------


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.core.decks import deck_files, load_library, parse_deck
    from quiz.prepared import deck_search_path
    from quiz.store import trust as T

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
    # Ids the library already uses outside the added decks: an added deck may not shadow them.
    others = {
        d.id: d.path
        for d in load_library(
            [p for p in deck_search_path(settings) if Path(p).resolve() != T.added_decks_dir().resolve()]
        ).decks
    }
    results: list[dict[str, Any]] = []
    status = 0
    try:
        pinned = T.pins(store, settings.profile)
        for path in files:
            source = path.resolve()
            try:
                data = source.read_bytes()
                deck, problems = parse_deck(data.decode("utf-8"), str(source))
            except (OSError, UnicodeDecodeError) as exc:
                deck, problems = None, []
                err(f"{path}: cannot read: {exc}")
            for problem in problems:
                say(str(problem), file=sys.stderr)
            if deck is None:
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
            target = T.added_decks_dir() / f"{deck.id}.toml"
            updating = target.exists()
            if updating and target.read_bytes() == data:
                state = T.trust_state(pinned, target)  # adding the same content again
            elif updating and str(target.resolve()) in pinned:
                state = T.Trust.CHANGED  # a new version of a deck trusted before
            else:
                state = T.Trust.NEW
            # Trusted before: show only the cards whose code differs from what was trusted.
            previous = T.previously_trusted(target, pinned) if state == T.Trust.CHANGED else None
            listing = T.code_listing(deck, previous)
            trusted = state == T.Trust.TRUSTED
            if not trusted and not args.no_trust:
                if not args.json:
                    show_code(deck, listing, len(deck.cards) - len(listing))
                if args.yes:
                    trusted = True
                elif not args.json:
                    trusted = ask(f"Trust deck {deck.id!r} and let its code run on this machine?")
                    if not trusted and not sys.stdin.isatty():
                        print("(no terminal to ask: pass --yes to trust, or run `quiz deck trust` later)")
            written = T.write_into_library(data, deck.id)
            T.record_added(written, deck.id, str(source) if source != written.resolve() else "")
            if trusted:
                T.trust(store, settings.profile, written, deck.id, data, str(source))
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
    from quiz.core.decks import load_library, parse_deck
    from quiz.store import trust as T

    lib = load_library(T.library_dirs())
    store = _open_store(settings)
    if store is None:
        return 1
    try:
        pinned = T.pins(store, settings.profile)
        known = {d.id: d for d in lib.decks}
        wanted = args.deck_ids or [
            d.id for d in lib.decks if T.trust_state(pinned, d.path) != T.Trust.TRUSTED
        ]
        missing = [i for i in wanted if i not in known]
        if missing:
            err(f"no added deck {', '.join(map(repr, missing))}; `quiz deck list` shows the decks")
            return 2
        if not wanted:
            print("every added deck is trusted")
            return 0
        for deck_id in wanted:
            path = Path(known[deck_id].path)
            if T.trust_state(pinned, path) == T.Trust.TRUSTED:
                print(f"{deck_id!r} is trusted already")
                continue
            data = path.read_bytes()  # what is shown is exactly what gets pinned
            deck, _problems = parse_deck(data.decode("utf-8", errors="replace"), str(path))
            if deck is None:
                err(f"{path}: the deck does not load any more; `quiz deck check {path}` says why")
                continue
            listing = T.code_listing(deck, T.previously_trusted(path, pinned))
            show_code(deck, listing, len(deck.cards) - len(listing))
            if args.yes or ask(f"Trust deck {deck_id!r} and let its code run on this machine?"):
                origin = T.added_decks().get(path.name)
                T.trust(store, settings.profile, path, deck.id, data, origin.origin if origin else None)
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
    from quiz import paths
    from quiz.core.decks import load_library
    from quiz.store import trust as T

    builtin = paths.builtin_decks_dir().resolve()
    lib = load_library([builtin, *settings.deck_dirs, *T.library_dirs()])
    added = T.added_decks()
    pinned: dict[str, str] = {}
    if any(T.is_added(d.path) for d in lib.decks):
        store = _open_store(settings)
        if store is None:
            return 1
        try:
            pinned = T.pins(store, settings.profile)
        finally:
            store.dispose()
    records = _records()
    rows: list[dict[str, Any]] = []
    for deck in lib.decks:
        path = Path(deck.path)
        entry = added.get(path.name) if T.is_added(path) else None
        if T.is_added(path):
            state = T.trust_state(pinned, path)
            origin = entry.origin if entry and entry.origin else "added"
        elif path.resolve().parent == builtin:
            state, origin = T.Trust.BUILTIN, "built-in"
        else:
            state, origin = T.Trust.OWN, str(path.parent)
        rows.append(
            {
                "id": deck.id,
                "title": deck.title,
                "version": deck.version or None,
                "cards": len(deck.cards),
                "origin": origin,
                "trust": str(state),
                "check": check_status(deck, records),
                "path": deck.path,
                "added_at": entry.added_at if entry else None,
            }
        )
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
    styles = {"trusted": "green", "not trusted": "yellow", "changed": "red"}
    for r in rows:
        style = styles.get(r["trust"], "")
        table.add_row(
            r["id"],
            r["version"] or "–",
            str(r["cards"]),
            Text(visible(str(r["origin"]))),  # a path or URL someone else chose: never markup
            f"[{style}]{r['trust']}[/]" if style else r["trust"],
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
