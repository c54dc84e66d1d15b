"""What is in the learner's library: every deck file, read once, and run only from the bytes its trust covers.

Where decks come from, in search order (the first deck with an id wins):
the built-in decks, the folders in the config's `deck_dirs`, files named on
the command line, and the added-decks folder (the data dir's `decks/`,
filled by `quiz deck add`). The first three are the learner's own choice.
Added decks come from other people and run only while their bytes are the
ones this learner trusted: the sha256 pinned per profile in the database
(`quiz.store.trust`).

Each file is read once. Those very bytes are hashed for the pin, parsed (or
found in the cache under their hash: the cache is keyed by content, never by
size and mtime), and shown in the trust review — so what runs is what was
trusted. In the added-decks folder a symbolic link or a hard-linked file is
refused. The cache is JSON sealed with an HMAC (`quiz.sealed`): reading it
executes nothing, and a cache nobody with the learner's key wrote is ignored.

The API other code calls:

- `load(settings, store=, extra=)` → `Contents`: `.library` (what may run),
  `.entries` (every deck file with its source and trust), `.pending` (added
  decks waiting for trust, each a `TrustRequest` with its `Review`),
  `.fingerprint`. Pass the store you have open: start-up opens it once.
- `fingerprint(settings)`: the library's content hash without parsing (the
  prepared start compares it).
- `quiz.trust_review.review(deck, previous)`: every field that decides what
  runs or what the learner is told, card by card, as a diff against the
  trusted version (each `TrustRequest` carries its `.review`).
- `trust(store, profile, path, deck_id, data, origin)`: pin those bytes.
- `write_into_library`, `record_added`, `added_decks`, `added_dir`: the
  added-decks folder for `quiz deck add`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

# Only the file side of decks here: the parser (quiz.core.decks: TOML, expressions) is imported where a
# deck is parsed, so the prepared start's `fingerprint` on the first-paint path does not load it.
from quiz.core.cards import Deck
from quiz.core.deck_files import DeckLimits, Problem, deck_files, read_deck_bytes

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.decks import Library
    from quiz.store.db import Store
    from quiz.trust_review import Review

__all__ = [
    "AddedDeck",
    "Contents",
    "Entry",
    "Source",
    "Trust",
    "TrustRequest",
    "added_decks",
    "added_dir",
    "fingerprint",
    "limits",
    "load",
    "record_added",
    "trust",
    "trust_request",
    "trusted_version",
    "write_into_library",
]

MANIFEST = "added.json"
CACHE_FILE = "library.json"
CACHE_FORMAT = 2
# The loader's own code: a new quiz re-parses every deck.
_LOADER_SOURCES = ("cards.py", "decks.py", "deck_files.py", "variables.py", "expr.py", "card_data.py")


class Source(StrEnum):
    """Where a deck file is in the search path."""

    BUILTIN = "built-in"
    OWN = "own folder"  # a folder in the config's deck_dirs
    NAMED = "named"  # named on the command line (--deck FILE, deck check PATH)
    ADDED = "added"  # the added-decks folder: runs only while trusted


class Trust(StrEnum):
    """Whether a deck may run: a learner's own choice, or the trust they gave an added deck."""

    TRUSTED = "trusted"
    NEW = "not trusted"  # added, never trusted
    CHANGED = "changed"  # trusted once, its bytes changed since
    BUILTIN = "built-in"
    OWN = "own folder"
    NAMED = "named"
    REFUSED = "refused"  # an added file that cannot be trusted at all (a link) or read
    UNKNOWN = "unknown"  # the trust store could not be read: not run


_OWN_CHOICE = {Source.BUILTIN: Trust.BUILTIN, Source.OWN: Trust.OWN, Source.NAMED: Trust.NAMED}


def limits(settings: Settings) -> DeckLimits:
    """The deck size limits, from the settings (`deck_max_bytes`, `deck_max_cards` in config.toml)."""
    return DeckLimits(max_bytes=settings.deck_max_bytes, max_cards=settings.deck_max_cards)


def added_dir(create: bool = True) -> Path:
    """The added-decks folder (created when first asked for, unless `create` is False)."""
    from quiz import paths

    folder = paths.data_dir() / "decks"
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def search_path(settings: Settings, extra: Iterable[str | Path] = ()) -> list[tuple[Path, Source]]:
    """Every deck file the library reads, in order, with where it comes from."""
    from quiz import paths

    out = [(p, Source.BUILTIN) for p in deck_files([paths.builtin_decks_dir()])]
    out += [(p, Source.OWN) for p in deck_files(settings.deck_dirs)]
    out += [(p, Source.NAMED) for p in deck_files(extra)]
    folder = added_dir(create=False)
    if folder.is_dir():
        out += [(p, Source.ADDED) for p in deck_files([folder])]
    return out


# --- loading ----------------------------------------------------------------------------------------
# The records here are NamedTuples, not dataclasses: this module is imported on the first-paint path
# (the prepared start asks for `fingerprint`), where each frozen dataclass costs about a millisecond.


class Entry(NamedTuple):
    """One deck file as loaded: where it comes from, whether it may run, and what it holds."""

    path: Path
    source: Source
    trust: Trust
    deck: Deck | None  # parsed (for an added deck not trusted: to show it, never to run it)
    problems: tuple[Problem, ...]
    sha256: str | None  # of the bytes read; None when they could not be read
    data: bytes | None = None  # the bytes, kept for added decks only

    @property
    def runs(self) -> bool:
        return self.trust in (Trust.TRUSTED, Trust.BUILTIN, Trust.OWN, Trust.NAMED)


class TrustRequest(NamedTuple):
    """An added deck waiting for this learner's trust: the bytes to pin, and the review of what they run."""

    deck: Deck
    path: Path
    data: bytes  # exactly the bytes that were parsed and reviewed: trusting pins these
    state: Trust  # NEW or CHANGED
    review: Review
    problems: tuple[Problem, ...] = ()  # parts of the file that did not load: not reviewed, they never run

    @property
    def deck_id(self) -> str:
        return self.deck.id

    @property
    def title(self) -> str:
        return self.deck.title

    @property
    def changed(self) -> bool:
        return self.state == Trust.CHANGED

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class Contents(NamedTuple):
    """The result of `load`."""

    library: Library  # what may run: built-in, own, named and trusted added decks
    entries: list[Entry]
    pending: list[TrustRequest]
    fingerprint: str


def load(
    settings: Settings,
    *,
    store: Store | None = None,
    extra: Iterable[str | Path] | None = None,
    pinned: Mapping[str, str] | None = None,
) -> Contents:
    """Read and parse every deck file; leave out added decks this learner has not trusted.

    `store`: the open database to read the trust pins from (opened here, and
    closed, only when the library holds added decks and none is given).
    `extra`: deck files or folders named on the command line. If the pins
    cannot be read, every added deck is left out: never run what may be
    untrusted.
    """
    lim = limits(settings)
    named = list(extra or [])
    files = search_path(settings, named)
    cache = _Cache.read(lim)
    reads = [_read(path, source, lim, cache) for path, source in files]
    if not named:
        cache.write(reads)

    trouble: str | None = None
    if pinned is None and any(r.source is Source.ADDED and r.sha256 is not None for r in reads):
        try:
            pinned = _read_pins(settings, store)
        except Exception as exc:  # fail closed: nothing added runs
            trouble = f"{type(exc).__name__}: {exc}"
    entries: list[Entry] = []
    pending: list[TrustRequest] = []
    for r in reads:
        state = _state(r, pinned or {}, trouble)
        problems = list(r.problems)
        if r.source is Source.ADDED and state != Trust.TRUSTED and r.deck is not None:
            problems.append(Problem(str(r.path), None, None, _left_out(r.deck.id, state, trouble)))
            if state in (Trust.NEW, Trust.CHANGED) and r.data is not None:
                from quiz.trust_review import review

                previous = trusted_version(r.path, pinned or {}, lim) if state == Trust.CHANGED else None
                pending.append(
                    TrustRequest(r.deck, r.path, r.data, state, review(r.deck, previous), tuple(r.problems))
                )
        entries.append(
            Entry(
                r.path,
                r.source,
                state,
                r.deck,
                tuple(problems),
                r.sha256,
                r.data if r.source is Source.ADDED else None,
            )
        )
    from quiz.core.decks import collect

    library = collect((str(e.path), e.deck if e.runs else None, list(e.problems)) for e in entries)
    return Contents(library, entries, pending, _fingerprint(reads, lim))


def _state(r: _Read, pinned: Mapping[str, str], trouble: str | None) -> Trust:
    from quiz.store.trust import pin_key

    if r.source is not Source.ADDED:
        return _OWN_CHOICE[r.source]
    if r.sha256 is None:
        return Trust.REFUSED
    if trouble is not None:
        return Trust.UNKNOWN
    pin = pinned.get(pin_key(r.path))
    return Trust.NEW if pin is None else Trust.TRUSTED if pin == r.sha256 else Trust.CHANGED


def _read_pins(settings: Settings, store: Store | None) -> dict[str, str]:
    from quiz.store.trust import pins

    if store is not None:
        return pins(store, settings.profile)
    from quiz.store.db import open_store

    own = open_store(settings.db_url)
    try:
        return pins(own, settings.profile)
    finally:
        own.dispose()


def _left_out(deck_id: str, state: Trust, trouble: str | None) -> str:
    if state == Trust.UNKNOWN:
        return f"deck {deck_id!r} left out: cannot read which decks you trust ({trouble})"
    why = (
        "its content changed since you trusted it"
        if state == Trust.CHANGED
        else "you have not trusted it yet"
    )
    return (
        f"deck {deck_id!r} was added from outside and {why}, so none of its code runs: "
        f"`quiz deck trust {deck_id}` shows what it runs and asks"
    )


class _Read(NamedTuple):
    path: Path
    source: Source
    sha256: str | None
    deck: Deck | None
    problems: list[Problem]
    data: bytes | None
    from_cache: bool


def _read(path: Path, source: Source, lim: DeckLimits, cache: _Cache) -> _Read:
    raw = read_deck_bytes(path, lim, refuse_links=source is Source.ADDED)
    if isinstance(raw, Problem):
        return _Read(path, source, None, None, [raw], None, False)
    sha = hashlib.sha256(raw).hexdigest()
    hit = cache.get(path, sha)
    if hit is not None:
        deck, problems = hit
    else:
        from quiz.core.decks import parse_deck_bytes

        deck, problems = parse_deck_bytes(raw, str(path), lim)
    return _Read(path, source, sha, deck, problems, raw, hit is not None)


def fingerprint(settings: Settings) -> str:
    """A hash of the library's content (every deck file's bytes, the loader, the limits), without parsing."""
    lim = limits(settings)
    reads = []
    for path, source in search_path(settings):
        raw = read_deck_bytes(path, lim, refuse_links=source is Source.ADDED)
        sha = None if isinstance(raw, Problem) else hashlib.sha256(raw).hexdigest()
        reads.append(_Read(path, source, sha, None, [], None, False))
    return _fingerprint(reads, lim)


def _fingerprint(reads: list[_Read], lim: DeckLimits) -> str:
    h = hashlib.sha256(f"library {CACHE_FORMAT} {_loader_stamp()} {lim.max_bytes} {lim.max_cards}\n".encode())
    for r in reads:
        h.update(f"{r.source.value} {r.path} {r.sha256}\n".encode())
    return h.hexdigest()


def _loader_stamp() -> str:
    core = Path(__file__).resolve().parent / "core"
    h = hashlib.sha256()
    for name in _LOADER_SOURCES:
        try:
            st = os.stat(core / name)
            h.update(f"{name} {st.st_size} {st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{name} missing\n".encode())
    return h.hexdigest()[:16]


# --- the parse cache: keyed by each file's content ----------------------------------------------------


class _Cache:
    """Parsed decks by (path, sha256 of the bytes); JSON sealed with the learner's key (quiz.sealed)."""

    def __init__(self, key: str, files: dict[str, Any]) -> None:
        self.key = key
        self.files = files

    @classmethod
    def read(cls, lim: DeckLimits) -> _Cache:
        from quiz.sealed import read_sealed

        key = f"{CACHE_FORMAT} {_loader_stamp()} {lim.max_bytes} {lim.max_cards}"
        data = read_sealed(_cache_path())
        if isinstance(data, dict) and data.get("key") == key and isinstance(data.get("files"), dict):
            return cls(key, data["files"])
        return cls(key, {})

    def get(self, path: Path, sha: str) -> tuple[Deck | None, list[Problem]] | None:
        from quiz.core.card_data import deck_from_data, problem_from_data

        entry = self.files.get(str(path))
        if not isinstance(entry, dict) or entry.get("sha256") != sha:
            return None
        try:
            deck = deck_from_data(entry["deck"]) if entry["deck"] is not None else None
            return deck, [problem_from_data(p) for p in entry["problems"]]
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    def write(self, reads: list[_Read]) -> None:
        """Store this load's parses, if any was not from the cache (what is not read again is dropped)."""
        from quiz.core.card_data import deck_data, deck_from_data, exact, problem_data
        from quiz.sealed import write_sealed

        if all(r.from_cache or r.sha256 is None for r in reads):
            return
        files: dict[str, Any] = {}
        for r in reads:
            if r.sha256 is None:
                continue
            data = None if r.deck is None else deck_data(r.deck)
            # Only what comes back exactly is cached: a value JSON cannot carry is parsed each time.
            if r.deck is not None and not exact(r.deck, deck_from_data(json.loads(json.dumps(data)))):
                continue
            files[str(r.path)] = {
                "sha256": r.sha256,
                "deck": data,
                "problems": [problem_data(p) for p in r.problems],
            }
        write_sealed(_cache_path(), {"key": self.key, "files": files})


def _cache_path() -> Path:
    from quiz import paths

    return paths.cache_dir() / CACHE_FILE


# --- trusting, and the added-decks folder -----------------------------------------------------------


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

    Keeps a copy of the trusted bytes so that a later version can be reviewed
    as a diff against them.
    """
    from quiz.store.trust import pin

    pin(store, profile, path, deck_id, hashlib.sha256(data).hexdigest(), origin, now)
    kept = _kept_dir() / Path(path).name
    kept.parent.mkdir(parents=True, exist_ok=True)
    tmp = kept.with_name(f".{kept.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, kept)


def trust_request(store: Store, profile: str, request: TrustRequest, origin: str | None = None) -> None:
    """Trust the bytes a `TrustRequest` showed."""
    if origin is None:
        entry = added_decks().get(request.path.name)
        origin = entry.origin if entry and entry.origin else None
    trust(store, profile, request.path, request.deck.id, request.data, origin)


def _kept_dir() -> Path:
    # Not loaded by the library: deck_files() reads only the folder's own *.toml files.
    return added_dir() / ".trusted"


def trusted_version(path: Path, pinned: Mapping[str, str], lim: DeckLimits) -> Deck | None:
    """The version of this added deck the learner last trusted, if its bytes are still at hand."""
    from quiz.store.trust import pin_key

    kept = _kept_dir() / path.name
    raw = read_deck_bytes(kept, lim, refuse_links=True)
    if isinstance(raw, Problem) or hashlib.sha256(raw).hexdigest() != pinned.get(pin_key(path)):
        return None
    from quiz.core.decks import parse_deck_bytes

    deck, _ = parse_deck_bytes(raw, str(path), lim)
    return deck


def write_into_library(data: bytes, deck_id: str) -> Path:
    """Write the deck's bytes (the very bytes shown and pinned) to `<added>/<deck id>.toml` atomically."""
    target = added_dir() / f"{deck_id}.toml"
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return target


class AddedDeck(NamedTuple):
    """Where an added deck came from (machine-local, beside the copies)."""

    file: str  # name in the added-decks folder
    deck_id: str
    origin: str
    added_at: str


def added_decks() -> dict[str, AddedDeck]:
    """file name → where it came from; an unreadable manifest only loses the origins."""
    try:
        data = json.loads((added_dir(create=False) / MANIFEST).read_text(encoding="utf-8"))
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
    path = added_dir() / MANIFEST
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(entries, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
