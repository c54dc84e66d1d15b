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
    p.add_argument(
        "--device", choices=("auto", "cpu", "gpu"), default=argparse.SUPPRESS, help="where card code runs"
    )
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.commands.common import isolation_notice
    from quiz.tui.app import run_app

    code = run_app(settings, deck=getattr(args, "deck", None))
    # After the app (whose top bar said it all along): left on the terminal, and it costs no start-up time.
    isolation_notice(settings)
    return code
