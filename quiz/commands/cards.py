"""`quiz cards`: search your cards (text, deck, section, backend, kind, tag, state), see one card's
reviews with the variants shown, suspend/unsuspend, bury/unbury or reset the cards found, open one
in $EDITOR."""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from quiz.cli import add_common

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.browse import CardQuery
    from quiz.core.decks import Library
    from quiz.store.browse import BrowseRow, HistoryEntry
    from quiz.store.db import Store

EPILOG = """\
examples:
  quiz cards                                  every card, with its state and reviews
  quiz cards expand --backend torch           cards whose prompt, code or id says "expand"
  quiz cards --state suspended                what you suspended (--unsuspend --yes brings them back)
  quiz cards --tag interview --state due      due interview cards
  quiz cards --deck autograd --state leech --suspend --yes
  quiz cards --history autograd/detach.torch  every review of one card, with the values it showed
  quiz cards --edit autograd/detach.torch     open its deck file at the card ($VISUAL, $EDITOR)

states: new, learning, review (learned), due (now), suspended, buried, leech.
Filters given together must all hold; a filter given several values (--deck a,b) takes any of them.
An operation on more than one card asks first (--yes: don't ask). reset forgets a card's memory
(back to new) and keeps its reviews in the history.

--json prints one object: total, offset, limit, query, counts (cards per state), and cards (uid,
deck, id, section, backend, kind, tags, prompt, state, states, due, stability, difficulty, reps,
lapses, suspended, buried_until, reviews, graded, correct, last_reviewed, file, line); with
--history: card and reviews (newest first: reviewed_at, rating, rating_name, correct, answer,
expected, error, seed, variables, backend, device, version, response_ms, due_after, ...); with an
operation: action, matched, changed, cards."""

ACTIONS = ("suspend", "unsuspend", "bury", "unbury", "reset")


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def register(sub: Any, groups: dict[str, Any]) -> None:
    p = sub.add_parser(
        "cards",
        help="browse your cards: search, review history, suspend/unsuspend, bury/unbury, reset",
        description="Search your cards by text and by deck, section, backend, kind, tag and state; show "
        "one card's reviews with the variants shown; suspend, unsuspend, bury, unbury or reset the cards "
        "found; open a card in your editor.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("text", nargs="*", help="words that must all appear in the prompt, code or card id")
    for flag, dest, what in (
        ("--deck", "decks", "deck id"),
        ("--section", "sections", "section"),
        ("--backend", "backends", "torch, tensorflow or mxnet"),
        ("--kind", "kinds", "card kind (shape, dtype, bool, value, raises, choice, code...)"),
        ("--tag", "tags", "tag (e.g. interview)"),
        ("--state", "states", "new, learning, review, due, suspended, buried, leech"),
    ):
        p.add_argument(
            flag, dest=dest, type=_names, action="extend", default=[], metavar="A,B", help=f"only this {what}"
        )
    p.add_argument(
        "--limit", type=int, default=50, metavar="N", help="show at most N cards (default 50; 0: all)"
    )
    p.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N matches")
    act = p.add_mutually_exclusive_group()
    for name in ACTIONS:
        act.add_argument(
            f"--{name}", dest="action", action="store_const", const=name, help=f"{name} every card found"
        )
    act.add_argument("--history", metavar="CARD", help="every review of CARD, with the variant shown")
    act.add_argument("--edit", metavar="CARD", help="open CARD's deck file at its line in $VISUAL/$EDITOR")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask before changing several cards")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_common(p)
    p.set_defaults(handler=run, action=None)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.commands.common import CardNotFound, err, find_card, library
    from quiz.core.browse import CardQuery, QueryError
    from quiz.store.db import StoreError, open_store

    if args.limit < 0 or args.offset < 0:
        err("--limit and --offset take 0 or more")
        return 2
    try:
        query = CardQuery(
            text=" ".join(args.text),
            decks=tuple(args.decks),
            sections=tuple(args.sections),
            backends=tuple(args.backends),
            kinds=tuple(args.kinds),
            tags=tuple(args.tags),
            states=tuple(args.states),
        )
    except QueryError as exc:
        err(str(exc))
        return 2
    lib = library(settings)
    if args.edit:
        try:
            card = find_card(lib, args.edit)
        except CardNotFound as exc:
            err(str(exc))
            return 2
        return _edit(card, args.json)
    try:
        store = open_store(settings.db_url)
    except StoreError as exc:
        err(str(exc))
        return 2
    try:
        now = datetime.now(UTC)
        _sync(store, settings, lib, now)
        if args.history:
            try:
                card = find_card(lib, args.history)
            except CardNotFound as exc:
                err(str(exc))
                return 2
            return _history(store, settings, card.uid, args.json)
        if args.action:
            return _act(store, settings, lib, query, args.action, now, yes=args.yes, as_json=args.json)
        return _list(store, settings, lib, query, now, args)
    finally:
        store.dispose()


def _sync(store: Store, settings: Settings, lib: Library, now: datetime) -> None:
    from quiz.store import repo

    with store.session() as s:
        repo.sync_library(s, settings.profile, lib.cards(), now=now, order=settings.new_card_order)


def _list(
    store: Store, settings: Settings, lib: Library, query: CardQuery, now: datetime, args: argparse.Namespace
) -> int:
    from quiz.commands.common import print_json, say
    from quiz.core.browse import CardIndex
    from quiz.store.browse import search_cards, state_counts

    with store.session() as s:
        result = search_cards(
            s,
            settings.profile,
            CardIndex.build(lib.cards()),
            query,
            now=now,
            limit=args.limit or None,
            offset=args.offset,
        )
        counts = state_counts(s, settings.profile, now=now)
    if args.json:
        print_json(
            {
                "total": result.total,
                "offset": args.offset,
                "limit": args.limit or None,
                "query": query.to_dict(),
                "counts": counts,
                "cards": [row.to_dict(now) for row in result.rows],
            }
        )
        return 0
    if not result.total:
        print("no card matches" + ("" if query == type(query)() else " the search"))
        return 1
    say(_table(result.rows, now))
    shown = f"{args.offset + 1}–{args.offset + len(result.rows)} of {result.total}"
    more = "; --limit/--offset for more" if args.offset + len(result.rows) < result.total else ""
    summary = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
    print(f"\n{shown} card(s){more}. All your cards: {summary or 'none'}.")
    return 0


def _when(due: datetime | None, now: datetime) -> str:
    from quiz.core.previews import format_interval

    if due is None:
        return "–"
    if due <= now:
        late = now - due
        return "now" if late < timedelta(hours=1) else f"{format_interval(late)} ago"
    return f"in {format_interval(due - now)}"


def _table(rows: list[BrowseRow], now: datetime) -> str:
    from quiz.core.answers import visible

    header = ("CARD", "STATE", "DUE", "REVIEWS", "RIGHT", "LAPSES", "PROMPT")
    body = [
        (
            visible(r.card.uid),
            r.status.primary(now),
            _when(r.status.due, now) if r.status.state else "–",
            str(r.reviews),
            f"{r.correct}/{r.graded}" if r.graded else "–",
            str(r.status.lapses),
            visible(" ".join(r.card.prompt.split())),
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header[:-1])]
    width = shutil.get_terminal_size((120, 24)).columns
    room = max(20, width - sum(widths) - 2 * len(widths))

    def line(cells: tuple[str, ...]) -> str:
        prompt = cells[-1] if len(cells[-1]) <= room else cells[-1][: room - 1] + "…"
        return "  ".join([*(c.ljust(w) for c, w in zip(cells, widths)), prompt]).rstrip()

    return "\n".join([line(header), *(line(b) for b in body)])


def _history(store: Store, settings: Settings, uid: str, as_json: bool) -> int:
    from quiz.commands.common import print_json, say
    from quiz.store.browse import card_history

    with store.session() as s:
        entries = card_history(s, settings.profile, uid)
    if as_json:
        print_json({"card": uid, "reviews": [e.to_dict() for e in entries]})
        return 0
    if not entries:
        say(f"{uid}: no reviews yet")
        return 0
    say(f"{uid}: {len(entries)} review(s), newest first")
    for e in entries:
        say(_history_line(e))
    return 0


def _history_line(e: HistoryEntry) -> str:
    """One review, indented under the card (printed through say(): its control characters made visible)."""
    return "\n".join("  " + line for line in e.lines())


def _act(
    store: Store,
    settings: Settings,
    lib: Library,
    query: CardQuery,
    action: str,
    now: datetime,
    *,
    yes: bool,
    as_json: bool,
) -> int:
    from quiz.commands.common import err, print_json
    from quiz.core.browse import CardIndex
    from quiz.core.queue import study_day_start
    from quiz.store import browse

    if query == type(query)():
        err(f"--{action} needs a search (text, --deck, --tag, --state...): it would change every card")
        return 2
    with store.session() as s:
        found = browse.search_cards(
            s, settings.profile, CardIndex.build(lib.cards()), query, now=now, limit=0
        )
    uids = found.uids
    if not uids:
        err(f"no card matches; nothing to {action}")
        return 1
    if len(uids) > 1 and not yes:
        if not sys.stdin.isatty():
            err(f"{len(uids)} cards match; add --yes to {action} them all")
            return 2
        reply = input(f"{action.capitalize()} {len(uids)} cards? [y/N] ").strip().lower()
        if reply not in ("y", "yes"):
            print("nothing changed")
            return 1
    with store.session() as s:
        if action in ("suspend", "unsuspend"):
            changed = browse.suspend_cards(s, settings.profile, uids, action == "suspend")
        elif action == "bury":
            until = study_day_start(now, settings.scheduling()) + timedelta(days=1)
            changed = browse.bury_cards(s, settings.profile, uids, until)
        elif action == "unbury":
            changed = browse.bury_cards(s, settings.profile, uids, None)
        else:
            changed = browse.reset_cards(s, settings.profile, uids)
    if as_json:
        print_json({"action": action, "matched": len(uids), "changed": changed, "cards": uids})
    else:
        past = {
            "suspend": "suspended",
            "unsuspend": "unsuspended",
            "bury": "buried until tomorrow",
            "unbury": "unburied",
            "reset": "reset to new",
        }[action]
        print(
            f"{changed} of {len(uids)} card(s) {past}"
            + ("" if changed == len(uids) else " (the others already were)")
        )
    return 0


def _edit(card: Any, as_json: bool) -> int:
    import subprocess

    from quiz.commands.common import err, print_json
    from quiz.core.editor import EditorNotFound, editor_command

    path, line = card.location.path, card.location.line
    if not path:
        err(f"{card.uid} has no deck file to open")
        return 2
    try:
        command = editor_command(path, line)
    except EditorNotFound as exc:
        err(str(exc))
        return 2
    if as_json:
        print_json({"card": card.uid, "file": path, "line": line, "command": command})
        return 0
    try:
        return subprocess.call(command)
    except OSError as exc:
        err(f"could not start the editor {command[0]!r}: {exc}")
        return 2
