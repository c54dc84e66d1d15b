"""Decks brought in from outside: copied into the library, run only once the learner trusts their content.

`quiz deck add PATH` copies a deck file to the data dir's `decks/` folder,
which the library loads (see `library_dirs`). Its code runs on the learner's
machine, so each learner (profile) pins the exact content they agreed to run
by its sha256 (the `trusted_deck` table). When the file's content is not the
pinned one — never trusted, or changed since — the loader leaves the deck out
(`leave_out_untrusted`) with a message saying how to trust it; nothing of it
runs. Built-in decks, the folders the learner configured (`deck_dirs`) and
files given explicitly on the command line are the learner's own choice and
need no pin.

Where each added deck came from is machine-local and kept beside the copies
(`added.json`); which content a learner trusts is kept in their database.
This module imports SQLAlchemy only inside functions: the start-up path asks
it for `library_dirs()`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quiz.core.cards import Card, Deck
    from quiz.core.decks import Library
    from quiz.store.db import Store

__all__ = [
    "AddedDeck",
    "Trust",
    "added_decks",
    "added_decks_dir",
    "code_listing",
    "is_added",
    "leave_out_untrusted",
    "library_dirs",
    "pins",
    "previously_trusted",
    "record_added",
    "sha256_file",
    "trust",
    "trust_state",
]

MANIFEST = "added.json"


class Trust(StrEnum):
    """Whether a learner agreed to run a deck's current content."""

    TRUSTED = "trusted"
    NEW = "not trusted"  # never trusted
    CHANGED = "changed"  # trusted once, its content changed since
    BUILTIN = "built-in"  # ships with quiz
    OWN = "own folder"  # a folder the learner configured (deck_dirs)


def added_decks_dir() -> Path:
    """Where added decks are copied (created when first asked for)."""
    from quiz import paths

    folder = paths.data_dir() / "decks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def library_dirs() -> list[Path]:
    """The added-decks folder for the library's search path, if it exists (so an absent one is no problem)."""
    from quiz import paths

    folder = paths.data_dir() / "decks"
    return [folder] if folder.is_dir() else []


def is_added(path: str | Path) -> bool:
    """Is this deck file one of the copies in the added-decks folder?"""
    from quiz import paths

    try:
        return Path(path).resolve().parent == (paths.data_dir() / "decks").resolve()
    except OSError:
        return False


def sha256_file(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- where each added deck came from (machine-local) --------------------------------------


@dataclass(frozen=True, slots=True)
class AddedDeck:
    file: str  # name in the added-decks folder
    deck_id: str
    origin: str
    added_at: str


def _manifest_path() -> Path:
    return added_decks_dir() / MANIFEST


def added_decks() -> dict[str, AddedDeck]:
    """file name → where it came from; an unreadable manifest only loses the origins."""
    try:
        data = json.loads(_manifest_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    if isinstance(data, dict):
        for name, d in data.items():
            if isinstance(d, dict):
                out[name] = AddedDeck(
                    name, str(d.get("deck_id", "")), str(d.get("origin", "")), str(d.get("added_at", ""))
                )
    return out


def record_added(file: Path, deck_id: str, origin: str, now: datetime | None = None) -> None:
    entries = {
        k: {"deck_id": v.deck_id, "origin": v.origin, "added_at": v.added_at}
        for k, v in added_decks().items()
    }
    entries[file.name] = {
        "deck_id": deck_id,
        "origin": origin,
        "added_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
    }
    path = _manifest_path()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(entries, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


# --- trust pins (per learner, in the database) ---------------------------------------------


def pins(store: Store, profile: str) -> dict[str, str]:
    """Deck file path → the sha256 this learner trusts."""
    from sqlalchemy import select

    from quiz.store.models import TrustedDeck

    with store.session() as s:
        return {
            p: h
            for p, h in s.execute(
                select(TrustedDeck.path, TrustedDeck.sha256).where(TrustedDeck.profile == profile)
            )
        }


def trust(
    store: Store,
    profile: str,
    path: str | Path,
    deck_id: str,
    data: bytes,
    origin: str | None,
    now: datetime | None = None,
) -> None:
    """Pin `data` (the bytes the learner was shown) as the content of `path` they agreed to run.

    Replaces an older pin, and keeps a copy of the trusted bytes so that a later
    version can be shown as what changed since.
    """
    from sqlalchemy import select

    from quiz.store.models import TrustedDeck

    key = str(Path(path).resolve())
    with store.session() as s:
        row = s.scalars(
            select(TrustedDeck).where(TrustedDeck.profile == profile, TrustedDeck.path == key)
        ).first()
        if row is None:
            row = TrustedDeck(profile=profile, path=key)
            s.add(row)
        row.deck_id = deck_id
        row.sha256 = hashlib.sha256(data).hexdigest()
        row.origin = origin
        row.trusted_at = now or datetime.now(UTC)
        s.commit()
    kept = _kept_dir() / Path(path).name
    kept.parent.mkdir(parents=True, exist_ok=True)
    tmp = kept.with_name(f".{kept.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, kept)


def _kept_dir() -> Path:
    # Not loaded by the library: deck_files() reads only the folder's own *.toml files.
    return added_decks_dir() / ".trusted"


def previously_trusted(path: str | Path, pinned: dict[str, str]) -> Deck | None:
    """The version of this added deck the learner last trusted, if its bytes are still at hand."""
    from quiz.core.decks import parse_deck

    key = str(Path(path).resolve())
    kept = _kept_dir() / Path(path).name
    try:
        data = kept.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != pinned.get(key):
        return None
    deck, _ = parse_deck(data.decode("utf-8", errors="replace"), str(kept))
    return deck


def trust_state(pinned: dict[str, str], path: str | Path) -> Trust:
    """TRUSTED, NEW or CHANGED for an added deck file, from this learner's pins."""
    key = str(Path(path).resolve())
    if key not in pinned:
        return Trust.NEW
    try:
        return Trust.TRUSTED if sha256_file(path) == pinned[key] else Trust.CHANGED
    except OSError:
        return Trust.CHANGED


def untrusted_message(deck_id: str, state: Trust) -> str:
    why = (
        "its content changed since you trusted it"
        if state == Trust.CHANGED
        else "you have not trusted it yet"
    )
    return (
        f"deck {deck_id!r} was added from outside and {why}, so none of its code runs: "
        f"`quiz deck trust {deck_id}` shows what it runs and asks"
    )


def leave_out_untrusted(library: Library, settings: Any) -> Library:
    """The library without added decks whose content this learner has not trusted (each left out is a Problem).

    Reads the pins only when the library holds added decks. If the database
    cannot be read, every added deck is left out: never run what may be untrusted.
    """
    from quiz.core.decks import Library, Problem

    added = [d for d in library.decks if is_added(d.path)]
    if not added:
        return library
    problems = list(library.problems)
    try:
        from quiz.store.db import StoreError, open_store

        store = open_store(settings.db_url)
        try:
            pinned = pins(store, settings.profile)
        finally:
            store.dispose()
    except (StoreError, Exception) as exc:  # fail closed
        for deck in added:
            problems.append(
                Problem(
                    deck.path,
                    None,
                    None,
                    f"deck {deck.id!r} left out: cannot read which decks you trust ({exc})",
                )
            )
        return Library(decks=[d for d in library.decks if d not in added], problems=problems)
    kept = []
    for deck in library.decks:
        if deck in added:
            state = trust_state(pinned, deck.path)
            if state != Trust.TRUSTED:
                problems.append(Problem(deck.path, None, None, untrusted_message(deck.id, state)))
                continue
        kept.append(deck)
    return Library(decks=kept, problems=problems)


def pending_trust(library: Library, settings: Any) -> list[tuple[Deck, Trust]]:
    """Added decks in `library` (loaded without the filter) that wait for this learner's trust.

    For a UI that asks at start-up: show `code_listing(deck)`, then `trust(...)`.
    """
    from quiz.store.db import open_store

    added = [d for d in library.decks if is_added(d.path)]
    if not added:
        return []
    store = open_store(settings.db_url)
    try:
        pinned = pins(store, settings.profile)
    finally:
        store.dispose()
    out: list[tuple[Deck, Trust]] = []
    for deck in added:
        state = trust_state(pinned, deck.path)
        if state != Trust.TRUSTED:
            out.append((deck, state))
    return out


# --- what a deck runs -----------------------------------------------------------------------


def runs(card: Card) -> str:
    """Everything of a card that is executed: its code, then its answer (and result) expressions."""
    parts = [card.code.rstrip()]
    if card.answer:
        parts.append(f"# answer, evaluated after the code:\n{card.answer.strip()}")
    if card.result:
        parts.append(f"# result:\n{card.result.strip()}")
    return "\n".join(parts)


def code_listing(deck: Deck, previous: Deck | None = None) -> list[tuple[Card, str]]:
    """(card, code it runs) for every card — or, given the trusted `previous` deck, only new or changed ones."""
    before = {c.id: runs(c) for c in previous.cards} if previous else {}
    out = []
    for card in deck.cards:
        text = runs(card)
        if previous is None or before.get(card.id) != text:
            out.append((card, text))
    return out


def write_into_library(data: bytes, deck_id: str) -> Path:
    """Write the deck's bytes (the very bytes shown and pinned) to `<added>/<deck id>.toml` atomically."""
    target = added_decks_dir() / f"{deck_id}.toml"
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return target
