"""The rooms stay apart: the core imports no UI, DB or ML framework; the app side of the runner no ML framework."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("textual", "sqlalchemy", "alembic", "torch", "tensorflow", "keras", "mxnet")


def loaded_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return set(json.loads(proc.stdout))


CORE_MODULES = sorted(
    f"quiz.core.{p.stem}"
    for p in (Path(__file__).resolve().parents[2] / "quiz" / "core").glob("*.py")
    if p.stem != "__init__"
)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_imports_no_ui_db_or_framework(module: str) -> None:
    assert loaded_after(f"import {module}") & set(HEAVY) == set()


def test_drawing_a_variant_imports_no_framework() -> None:
    decks = Path(__file__).resolve().parents[2] / "decks"  # the repository's, wherever pytest was started
    mods = loaded_after(
        "from quiz.core.decks import load_library\n"
        "from quiz.core.variables import draw_variant\n"
        f"lib = load_library([{str(decks)!r}])\n"
        "assert lib.cards(), 'no built-in cards to draw'\n"
        "[draw_variant(c, 1) for c in lib.cards()]"
    )
    assert mods & set(HEAVY) == set()


def test_runner_client_imports_no_framework() -> None:
    assert (
        loaded_after("import quiz.runner.client, quiz.runner.pool")
        & {"torch", "tensorflow", "keras", "mxnet"}
        == set()
    )


def test_cli_help_is_light() -> None:
    assert loaded_after("import quiz.cli; quiz.cli.build_parser()") & set(HEAVY) == set()


def test_the_study_layer_imports_no_ui_or_framework() -> None:
    # quiz.session is shared by the TUI, the exam and the command line: every module of it, loaded
    # together, brings in no Textual and no ML framework (workers run those).
    root = Path(__file__).resolve().parents[2] / "quiz" / "session"
    modules = sorted(f"quiz.session.{p.stem}" for p in root.glob("*.py") if p.stem != "__init__")
    assert "quiz.session.study" in modules and "quiz.session.compose" in modules
    loaded = loaded_after("import " + ", ".join(modules))
    assert loaded & {"textual", "torch", "tensorflow", "keras", "mxnet"} == set()


# What the prepared start does before the first card is painted: the command line, settings, the
# app with its study screen, and the prepared start's checks (the library's fingerprint, the
# sealed file). Everything else loads in the background once the card is on screen; an eager
# import of any of these puts it back on every start (scripts/bench.py: tui_first_card_ratio).
FIRST_PAINT = (
    "import datetime\n"
    "import quiz.cli, quiz.commands.study, quiz.tui.app\n"
    "from quiz.config import load_settings\n"
    "from quiz.library import fingerprint\n"
    "from quiz.session.prepared import first_card\n"
    "s = load_settings()\n"
    "assert len(fingerprint(s)) == 64\n"
    "first_card(s, None, datetime.datetime.now(datetime.UTC))\n"
)
NOT_BEFORE_FIRST_PAINT = (
    "quiz.core.decks",  # the deck parser: the fingerprint only hashes the files (quiz.core.deck_files)
    "tomllib",  # read only when a config or profile file exists
    "quiz.store",
    "quiz.runner.client",
    "quiz.runner.isolation",
    "quiz.session.study",
    "quiz.session.compose",  # the loading thread's: the app imports it when it loads
    "sqlalchemy",
    "alembic",
    "hypothesis",
    "fsrs",
)


def test_the_first_paint_path_leaves_the_rest_for_later(tmp_path: Path) -> None:
    code = FIRST_PAINT + "import sys, json\nprint(json.dumps(sorted(sys.modules)))"
    env = {k: v for k, v in os.environ.items() if k not in ("QUIZ_DB", "QUIZ_PROFILE")}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={**env, "QUIZ_HOME": str(tmp_path)},  # no config file, no prepared start
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = set(json.loads(proc.stdout))
    early = {m for m in loaded for name in NOT_BEFORE_FIRST_PAINT if m == name or m.startswith(name + ".")}
    assert early == set()
    assert "textual" in loaded and "quiz.core.deck_files" in loaded  # it did load the app and hash the decks
