"""Helpers shared by commands: JSON output, errors, finding decks and cards."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Any, TextIO

from quiz.core.text import CONTROLS, has_controls, visible

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.cards import Card
    from quiz.core.decks import Library


def print_json(obj: Any) -> None:
    """One JSON object; JSON escapes C0 controls itself, the rest (C1, bidi overrides) are escaped here."""
    text = json.dumps(obj, indent=2, default=str, ensure_ascii=False)
    if has_controls(text):  # only inside strings: JSON's own syntax has none
        text = re.sub(CONTROLS, lambda m: f"\\u{ord(m.group()):04x}", text)
    print(text)


def err(message: str) -> None:
    print(f"quiz: {visible(message)}", file=sys.stderr)


def say(text: str = "", *, file: TextIO | None = None) -> None:
    """Print a line that holds deck or run text: its control characters made visible."""
    print(visible(text), file=file)


def isolation_notice(settings: Settings) -> bool:
    """Before running card code: one line on stderr when it is not fully isolated here, with the fix.

    False when card code cannot run here at all (the line says why).
    """
    from quiz.runner.isolation import notice, sandbox_for

    sandbox = sandbox_for()
    line = notice(sandbox, allow_unisolated=settings.allow_unisolated)
    if line:
        err(line)
    return not sandbox.refused


def library(settings: Settings, extra: list[str] | None = None, only: list[str] | None = None) -> Library:
    """The learner's library (built-in decks + configured folders + `extra`), or exactly `only`."""
    from quiz.core.decks import load_library
    from quiz.study import load_decks

    if only:
        return load_library(only)
    return load_decks(settings, extra)


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
