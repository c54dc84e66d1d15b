"""The `quiz` command line: parse arguments, build settings, dispatch to a command.

Each command lives in its own module under `quiz.commands` and registers its
parser there; imports of heavy parts stay inside the handlers so `quiz --help`
and the TUI start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from quiz import __version__

# Modules under quiz.commands, each with `register(sub, groups)`.
COMMAND_MODULES = (
    "study",
    "library",
    "doctor",
    "deck",
    "classroom",
    "share",
    "export",
    "backup",
    "exam",
    "serve",
)
# Subcommand groups (`quiz deck check`, `quiz class report`): modules add their commands to these.
GROUPS = {
    "deck": "author, check and share deck files",
    "class": "a class on one database: learners' sign-ins for `quiz serve`, reports per learner and section",
}

DESCRIPTION = """\
quiz teaches how PyTorch, TensorFlow/Keras and MXNet really behave.
Each card asks you to predict what a few lines of code do (a shape, a dtype,
whether a gradient is None, whether a line raises...); your answer is graded
by running that code on the frameworks installed here, and FSRS schedules
the card for when you are about to forget it.

Run `quiz` with no command to study the cards that are due."""

EPILOG = """\
examples:
  quiz                                   study (the same as `quiz study`)
  quiz study view-permute-expand         study one deck
  quiz decks                             the decks, with card counts per section and backend
  quiz show expand-shape.torch --seed 3  one concrete variant of a card
  quiz grade expand-shape.torch --seed 3 --answer "(2, 3, 4)" --json
  quiz doctor                            what is installed, which devices, which database
  quiz serve --db postgresql+psycopg://teacher@db.school/quiz
                                         a class in the browser (learners: quiz class add-learner)

environment:
  QUIZ_DB       database URL (default: SQLite in your user data dir)
  QUIZ_HOME     keep all of quiz's data, settings and caches under one directory
  QUIZ_PROFILE  learner profile name (default: "default")
  QUIZ_ALLOW_UNISOLATED=1  the same as --allow-unisolated

isolation: card code runs walled in. With bubblewrap installed that is full
isolation; without it quiz says so on every command that runs cards, and runs
only the built-in decks unless you pass --allow-unisolated (or set
allow_unisolated = true in config.toml). `quiz doctor` lists what is in force.
"""


def add_common(p: argparse.ArgumentParser) -> None:
    """Options every command takes."""
    p.add_argument(
        "--db",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="database URL (or QUIZ_DB); default: SQLite in your data dir",
    )
    p.add_argument("--profile", default=argparse.SUPPRESS, help="learner profile (or QUIZ_PROFILE)")
    p.add_argument(
        "--allow-unisolated",
        action="store_true",
        default=argparse.SUPPRESS,
        help="run cards of added decks even without full isolation (no bubblewrap); "
        "or allow_unisolated = true in config.toml",
    )


def build_parser(only: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (`only`) just some command modules: `quiz` alone needs only `study`."""
    parser = argparse.ArgumentParser(
        prog="quiz",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"quiz {__version__}")
    add_common(parser)
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "gpu"),
        default=argparse.SUPPRESS,
        help="where card code runs (default: auto)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction[argparse.ArgumentParser]] = {}
    for name, help_text in GROUPS.items() if only is None else ():
        g = sub.add_parser(name, help=help_text, description=help_text)
        g.set_defaults(handler=None, group_parser=g)
        groups[name] = g.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
    for module_name in COMMAND_MODULES if only is None else only:
        module = importlib.import_module(f"quiz.commands.{module_name}")
        module.register(sub, groups)
    return parser


# Options of the top-level parser that take a value (skipped when looking for the command word).
_VALUE_OPTIONS = {"--db", "--profile", "--device"}


def _command_word(argv: Sequence[str]) -> str | None:
    """The first word that is not an option (or an option's value): the command, if any."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-") or arg in ("-h", "--help", "--version"):
            return arg
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Studying is what `quiz` does most, and start-up time is part of the product:
    # it needs only its own parser, not every command module's.
    word = _command_word(argv)
    parser = build_parser(only=("study",) if word in (None, "study") else None)
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["study", *argv])
    handler = getattr(args, "handler", None)
    if handler is None:  # a group without its subcommand: `quiz deck`
        args.group_parser.print_help()
        return 2
    from quiz import paths

    paths.use_hypothesis_cache()
    from quiz.config import SettingsError, load_settings

    try:
        settings = load_settings(
            db_url=getattr(args, "db", None),
            device=getattr(args, "device", None),
            profile=getattr(args, "profile", None),
            allow_unisolated=getattr(args, "allow_unisolated", None),
        )
    except SettingsError as exc:
        print(f"quiz: {exc}", file=sys.stderr)
        return 2
    try:
        return int(handler(args, settings))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
