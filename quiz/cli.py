"""The `quiz` command line: parse arguments, build settings, dispatch to a command.

Each command lives in its own module under `quiz.commands` and registers its
parser there; imports of heavy parts stay inside the handlers so `quiz --help`
and the TUI start fast.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Sequence

from quiz import __version__
from quiz.config import DEVICES
from quiz.core.i18n import LANGUAGES

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
    "cards",
    "stats",
    "optimize",
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
  quiz show expand-shape.torch --lang zh the same in Chinese (English where a card has none)
  quiz grade expand-shape.torch --seed 3 --answer "(2, 3, 4)" --json
  quiz doctor                            what is installed, which devices, which database
  quiz cards --state suspended           browse your cards (search, history, suspend/unsuspend, reset)
  quiz stats --json                      heatmap, forecast, retention per period, hardest cards
  quiz optimize                          fit FSRS to your own review history
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


def add_common(
    p: argparse.ArgumentParser, *, device: bool = False, device_default: str | None = None
) -> None:
    """Options every command takes; `device`: also --device, for the commands that run card code.

    The one definition of these options: `device_default` is for a command whose default is not
    the learner's setting (`quiz serve` runs on the CPU unless told).
    """
    if device or device_default is not None:
        p.add_argument(
            "--device",
            choices=DEVICES,
            default=argparse.SUPPRESS if device_default is None else device_default,
            help="where card code runs: auto (a GPU where one is present), cpu or gpu"
            + (f" (default: {device_default})" if device_default else " (default: the device setting, auto)"),
        )
    p.add_argument(
        "--db",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="database URL (or QUIZ_DB); default: SQLite in your data dir",
    )
    p.add_argument("--profile", default=argparse.SUPPRESS, help="learner profile (or QUIZ_PROFILE)")
    p.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=argparse.SUPPRESS,
        help="language of the cards and of quiz's own words: en or zh (default: your setting, else en); "
        "a card without Chinese text is shown in English",
    )
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
    add_common(parser, device=True)
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


def command_names(parser: argparse.ArgumentParser) -> list[str]:
    """The command words `parser` knows (its subcommands, aliases included)."""
    return [
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    ]


def unknown_command(word: str, names: Sequence[str]) -> str:
    """One line for a mistyped command: the nearest commands, or where to find them all."""
    import difflib

    close = difflib.get_close_matches(word, names, n=3, cutoff=0.6)
    shown = ascii(word)[1:-1] if not word.isprintable() else word
    if close:
        return f"unknown command {shown!r}; did you mean {' or '.join(repr(c) for c in close)}?"
    return f"unknown command {shown!r}; `quiz --help` lists the commands"


# Options of the top-level parser that take a value (skipped when looking for the command word).
_VALUE_OPTIONS = {"--db", "--profile", "--device", "--lang"}


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
    if word not in (None, "study") or not gc.isenabled():
        return _main(argv, word)
    # The study app's start-up makes some 50,000 objects that live as long as the app (modules,
    # classes, styles, widgets), and the cyclic collector would walk them about a hundred times
    # before the first card is painted (~7% of the start's CPU). It is paused until the card is on
    # screen (quiz.tui.app resumes it, start-up's objects frozen), and never beyond this call.
    gc.disable()
    try:
        return _main(argv, word)
    finally:
        gc.enable()


def _main(argv: list[str], word: str | None) -> int:
    parser = build_parser(only=("study",) if word in (None, "study") else None)
    if word is not None and not word.startswith("-"):
        names = command_names(parser)
        if word not in names:
            print(f"quiz: {unknown_command(word, names)}", file=sys.stderr)
            return 2
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
            lang=getattr(args, "lang", None),
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
