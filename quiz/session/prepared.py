"""The start of the next session, prepared when this one ends: paint the first card at once.

Opening the database layer and drawing a variant cost more than starting the
whole TUI, so when a session ends quiz writes what the next start needs to
choose its first card: the earliest due cards, the next new cards, today's
new-card count, and a drawn variant for the likely candidates. At start-up
this is used only if it provably describes the database as it is now — the
SQLite files' size and mtime must match what they were right after it was
written, and the deck library, profile, deck filter and settings must be the
same — and the choice is recomputed for the current time with the same
policy (`quiz.core.queue.pick_next`). Anything else (PostgreSQL, another
process wrote, the decks changed, an unreadable file) falls back to the
normal path. The full study session still loads in the background and
confirms the card before anything is written.

The file holds a card whose code the app runs, so it is JSON sealed with the
learner's key (quiz.sealed), never a pickle: reading it executes nothing, and
a file that quiz did not write is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quiz.core.queue import UNDECIDED, pick_prepared

if TYPE_CHECKING:
    from quiz.core.cards import Card
    from quiz.core.variables import Variant
    from quiz.session.study import Study

__all__ = ["Prepared", "db_stamp", "read_prepared", "write_prepared", "prepared_path", "choose"]

FORMAT = 2


@dataclass
class Prepared:
    key: dict[str, Any]
    db_stamp: list[list[Any]]
    day_start: str
    new_introduced_today: int
    due: list[tuple[str, str]]  # (due time ISO, card uid), earliest first
    due_complete: bool  # False: more due cards exist beyond the list
    new: list[str]  # next new cards, in order
    new_complete: bool
    variants: dict[str, Any] = field(default_factory=dict)  # uid → its drawn Variant
    cards: dict[str, Any] = field(default_factory=dict)  # uid → Card, for the candidates above
    counts: dict[str, int] = field(default_factory=dict)
    format: int = FORMAT


def sqlite_path(url: str) -> Path | None:
    """The database file of a file-based SQLite URL; None for anything else."""
    if not url.startswith("sqlite:///") or url in ("sqlite:///:memory:",):
        return None
    path = url[len("sqlite:///") :].split("?", 1)[0]
    return Path(path) if path else None


def db_stamp(url: str) -> list[list[Any]] | None:
    """Size and mtime of the SQLite database and its WAL: any commit changes them."""
    path = sqlite_path(url)
    if path is None:
        return None
    stamp: list[list[Any]] = []
    for p in (path, Path(f"{path}-wal")):
        try:
            st = os.stat(p)
        except FileNotFoundError:
            stamp.append([p.name, None, None])
            continue
        stamp.append([p.name, st.st_size, st.st_mtime_ns])
    return stamp


def prepared_path(cache_dir: Path, profile: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in profile)
    return cache_dir / f"next-start-{safe}.json"


def write_prepared(path: Path, prepared: Prepared) -> None:
    """Write the prepared start (only its candidates that JSON gives back exactly); failures only cost speed."""
    from quiz.core.card_data import card_data, card_from_data, exact, variant_data, variant_from_data
    from quiz.sealed import write_sealed

    cards: dict[str, Any] = {}
    variants: dict[str, Any] = {}
    for uid, variant in prepared.variants.items():
        card = prepared.cards.get(uid)
        if card is None:
            continue
        c, v = card_data(card), variant_data(variant)
        try:
            same = exact(card, card_from_data(_json(c))) and exact(variant, variant_from_data(_json(v)))
        except (TypeError, ValueError):
            same = False
        if same:
            cards[uid], variants[uid] = c, v
    data = {
        "format": FORMAT,
        "key": prepared.key,
        "db_stamp": prepared.db_stamp,
        "day_start": prepared.day_start,
        "new_introduced_today": prepared.new_introduced_today,
        "due": [list(d) for d in prepared.due],
        "due_complete": prepared.due_complete,
        "new": list(prepared.new),
        "new_complete": prepared.new_complete,
        "variants": variants,
        "cards": cards,
        "counts": prepared.counts,
    }
    try:
        write_sealed(path, data)
    except (TypeError, ValueError):
        return
    with contextlib.suppress(OSError):  # the pickle an older quiz wrote: never read again
        path.with_suffix(".pickle").unlink()


def _json(data: Any) -> Any:
    return json.loads(json.dumps(data))


def read_prepared(path: Path) -> Prepared | None:
    from quiz.core.card_data import card_from_data, variant_from_data
    from quiz.sealed import read_sealed

    data = read_sealed(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    try:
        return Prepared(
            key=dict(data["key"]),
            db_stamp=list(data["db_stamp"]),
            day_start=str(data["day_start"]),
            new_introduced_today=int(data["new_introduced_today"]),
            due=[(str(when), str(uid)) for when, uid in data["due"]],
            due_complete=bool(data["due_complete"]),
            new=[str(u) for u in data["new"]],
            new_complete=bool(data["new_complete"]),
            variants={str(u): variant_from_data(v) for u, v in data["variants"].items()},
            cards={str(u): card_from_data(c) for u, c in data["cards"].items()},
            counts={str(k): int(v) for k, v in data["counts"].items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def choose(
    prepared: Prepared,
    *,
    key: dict[str, Any],
    url: str,
    now: datetime,
    day_start: datetime,
    new_limit: int,
    usable: Callable[[str], bool],
    learn_ahead: timedelta = timedelta(minutes=20),
) -> tuple[str, Any] | None:
    """The first card and its prepared variant, if `prepared` still describes the database; else None."""
    if prepared.key != key:
        return None
    stamp = db_stamp(url)
    if stamp is None or stamp != prepared.db_stamp:
        return None
    introduced = prepared.new_introduced_today
    if day_start.isoformat() != prepared.day_start:
        introduced = 0 if datetime.fromisoformat(prepared.day_start) < day_start else introduced
    due = [(datetime.fromisoformat(when), uid) for when, uid in prepared.due]
    uid = pick_prepared(
        due,
        prepared.new,
        due_complete=prepared.due_complete,
        new_complete=prepared.new_complete,
        now=now,
        new_left_today=max(0, new_limit - introduced),
        usable=usable,
        learn_ahead=learn_ahead,
    )
    if uid is UNDECIDED or uid is None or uid not in prepared.variants:
        return None
    return str(uid), prepared.variants[str(uid)]


def start_key(
    url: str, profile: str, deck_ids: Sequence[str] | None, library_fingerprint: str, settings: Any
) -> dict[str, Any]:
    """What must be equal between the writing session and this start."""
    return {
        "url": url,
        "profile": profile,
        "decks": sorted(deck_ids) if deck_ids else None,
        "library": library_fingerprint,
        "new_per_day": settings.new_per_day,
        "day_hour": settings.scheduling().day_starts_at_hour,
        "new_card_order": getattr(settings, "new_card_order", "by-topic"),
    }


@dataclass
class FirstCard:
    """What the app needs to paint the first card before the study session has loaded."""

    fingerprint: str
    card: Any  # quiz.core.cards.Card
    variant: Any  # quiz.core.variables.Variant
    counts: dict[str, int]


def first_card(settings: Any, deck: str | None, now: datetime) -> FirstCard | None:
    """The prepared first card, if the prepared start still describes the database and decks."""
    from quiz import paths
    from quiz.core.queue import study_day_start
    from quiz.library import fingerprint as library_fingerprint

    if getattr(settings, "reviews_per_day", None) is not None:
        return None  # whether today's review cap is reached is the database's to say
    prepared = read_prepared(prepared_path(paths.cache_dir(), settings.profile))
    if prepared is None:
        return None
    fingerprint = library_fingerprint(settings)
    deck_ids = [deck] if deck else None
    cards = prepared.cards
    chosen = choose(
        prepared,
        key=start_key(settings.db_url, settings.profile, deck_ids, fingerprint, settings),
        url=settings.db_url,
        now=now,
        day_start=study_day_start(now, settings.scheduling()),
        new_limit=settings.new_per_day,
        usable=lambda u: u in cards and (deck is None or cards[u].deck_id == deck),
    )
    if chosen is None:
        return None
    uid, variant = chosen
    return FirstCard(fingerprint, cards[uid], variant, dict(prepared.counts))


def next_start(study: Study, library_fingerprint: str, candidates: int = 4) -> Prepared:
    """What the next start needs to paint its first card at once.

    The database stamp is left empty: the caller fills it in once the
    database is closed (closing checkpoints the WAL, which changes the files).
    """
    from quiz.core.queue import study_day_start
    from quiz.session.dashboards import counts as queue_counts
    from quiz.store import repo

    now = study.clock()
    day_start = study_day_start(now, study.settings.scheduling())
    with study.store.session() as s:
        head = repo.upcoming(s, study.profile, now=now, deck_ids=study.deck_ids)
        introduced = repo.new_introduced_since(s, study.profile, day_start)
    counts = queue_counts(study)
    variants: dict[str, Variant] = {}
    cards: dict[str, Card] = {}
    # Only cards this session may show are candidates: others (a backend switched off in the
    # settings) are unknown to the prepared start, which then defers to the database.
    for uid in [u for _, u in head.due[:candidates]] + head.new[:1]:
        card = study.cards.get(uid)
        if card is None or uid in variants or not study.usable(card):
            continue
        v = study.prepare(card)
        variants[uid] = v
        cards[uid] = card
    return Prepared(
        key=start_key(study.store.url, study.profile, study.deck_ids, library_fingerprint, study.settings),
        db_stamp=[],
        day_start=day_start.isoformat(),
        new_introduced_today=introduced,
        due=[(d.isoformat(), u) for d, u in head.due],
        due_complete=head.due_complete,
        new=head.new,
        new_complete=head.new_complete,
        variants=variants,
        cards=cards,
        counts={
            "due": counts.due,
            "learning": counts.learning,
            "new": counts.new,
            "reviewed_today": counts.reviewed_today,
        },
    )


def save_next_start(study: Study, fingerprint: str) -> None:
    """At the end of a session: compute the next start, close the database, stamp and write it."""
    from quiz import paths

    prepared = next_start(study, fingerprint)
    study.store.dispose()
    stamp = db_stamp(study.store.url)
    if stamp is None:
        return
    prepared.db_stamp = stamp
    write_prepared(prepared_path(paths.cache_dir(), study.profile), prepared)
