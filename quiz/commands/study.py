"""`quiz study [DECK]` (and plain `quiz`): the terminal app."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from quiz.cli import add_common

if TYPE_CHECKING:
    from quiz.config import Settings


def register(sub: Any, groups: dict[str, Any]) -> None:
    p = sub.add_parser("study", help="study due cards in the terminal app (the default)")
    p.add_argument("deck", nargs="?", help="study only this deck (id); default: all decks")
    add_common(p, device=True)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import os
    import sys

    from quiz.commands.common import err, isolation_notice

    deck = getattr(args, "deck", None)
    if deck:
        problem = _unknown_deck(settings, deck)
        if problem:
            err(problem)
            return 2
    # The app reads keys from the terminal: from a pipe or a file it would sit there (the bench runs
    # it headless, QUIZ_HEADLESS=1; a Textual driver of one's own, TEXTUAL_DRIVER, brings its keys).
    headless = os.environ.get("QUIZ_HEADLESS") == "1" or "TEXTUAL_DRIVER" in os.environ
    if not headless and not sys.stdin.isatty():
        err(
            "the study app needs a terminal (stdin is not one); for scripts use "
            "`quiz grade --json`, `quiz cards --json` or `quiz stats --json`"
        )
        return 2
    from quiz.tui.app import run_app

    code = run_app(settings, deck=deck)
    # After the app (whose top bar said it all along): left on the terminal, and it costs no start-up time.
    isolation_notice(settings)
    return code


def _unknown_deck(settings: Settings, deck: str) -> str | None:
    """Why `deck` cannot be studied (no such deck in the library), or None: checked before the app
    starts, so a typo is one line on stderr and not an app that cannot load."""
    import difflib

    from quiz.commands.common import library

    known = sorted(d.id for d in library(settings).decks)
    if deck in known:
        return None
    close = difflib.get_close_matches(deck, known, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return f"no deck {deck!r}; {hint}`quiz decks` lists them ({len(known)} decks)"
