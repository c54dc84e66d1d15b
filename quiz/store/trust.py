"""The decks each learner trusts: the sha256 of the exact deck bytes they agreed to run (table `trusted_deck`).

Only the database side of trust lives here; which deck files there are, what
they run and whether their bytes are the pinned ones is `quiz.library`'s.
The key of a pin is the deck file's resolved path in the added-decks folder.
SQLAlchemy is imported inside the functions: the library asks for `pin_key`
on paths where no database is opened.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quiz.store.db import Store

__all__ = ["pin", "pin_key", "pins"]


def pin_key(path: str | Path) -> str:
    return str(Path(path).resolve())


def pins(store: Store, profile: str) -> dict[str, str]:
    """Deck file path (`pin_key`) → the sha256 this learner trusts."""
    from sqlalchemy import select

    from quiz.store.models import TrustedDeck

    with store.session() as s:
        return {
            p: h
            for p, h in s.execute(
                select(TrustedDeck.path, TrustedDeck.sha256).where(TrustedDeck.profile == profile)
            )
        }


def pin(
    store: Store,
    profile: str,
    path: str | Path,
    deck_id: str,
    sha256: str,
    origin: str | None,
    now: datetime | None = None,
) -> None:
    """Record that `profile` trusts the deck file at `path` while its bytes hash to `sha256` (replaces an older pin)."""
    from sqlalchemy import select

    from quiz.store.models import TrustedDeck

    key = pin_key(path)
    with store.session() as s:
        row = s.scalars(
            select(TrustedDeck).where(TrustedDeck.profile == profile, TrustedDeck.path == key)
        ).first()
        if row is None:
            row = TrustedDeck(profile=profile, path=key)
            s.add(row)
        row.deck_id = deck_id
        row.sha256 = sha256
        row.origin = origin
        row.trusted_at = now or datetime.now(UTC)
        s.commit()
