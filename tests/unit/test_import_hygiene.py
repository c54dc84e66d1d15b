"""The rooms stay apart: the core imports no UI, DB or ML framework; the app side of the runner no ML framework."""

from __future__ import annotations

import json
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
