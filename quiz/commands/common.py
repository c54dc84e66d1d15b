"""Helpers shared by commands: JSON output, errors, finding decks and cards."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.cards import Card
    from quiz.core.decks import Library


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


def err(message: str) -> None:
    print(f"quiz: {message}", file=sys.stderr)


def library(settings: Settings, extra: list[str] | None = None, only: list[str] | None = None) -> Library:
    """What may run: the learner's library (`quiz.library`, with `extra` files named), or exactly `only`."""
    from quiz.core.decks import load_library
    from quiz.library import limits, load

    if only:
        return load_library(only, limits(settings))
    return load(settings, extra=extra).library


class CardNotFound(LookupError):
    pass


def find_card(lib: Library, ref: str, backend: str | None = None) -> Card:
    """A card by `deck/card`, bare card id, or family id (with `backend` to pick one)."""
    matches = lib.find(ref)
    if not matches:
        matches = [c for c in lib.cards() if ref in (c.family, f"{c.deck_id}/{c.family}")]
    if backend:
        matches = [c for c in matches if c.backend.value == backend]
    if not matches:
        where = f" for {backend}" if backend else ""
        raise CardNotFound(f"no card {ref!r}{where}; `quiz decks` lists the decks")
    if len(matches) > 1:
        options = ", ".join(sorted(c.uid for c in matches)[:8])
        raise CardNotFound(f"{ref!r} matches several cards ({options}); give deck/card or --backend")
    return matches[0]
