"""`textual_minimal_s` (a bare Textual app, started and exited headless: the floor) and
`tui_first_card_s` (the real `quiz` process, headless, from spawn to its first card mounted)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.util import median

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable

MINIMAL = """
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(self.exit)

Minimal().run(headless=True)
"""


def _time(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    return time.perf_counter() - started


def _quiz_env(home: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(QUIZ_HOME=home, QUIZ_HEADLESS="1", QUIZ_EXIT_AFTER_FIRST_CARD="1")
    env.pop("QUIZ_DB", None)
    return env


def run(args: Any) -> dict[str, Any]:
    n = 3 if args.quick else 9
    env = dict(os.environ)
    minimal = [_time([PY, "-c", MINIMAL], env) for _ in range(n)]
    home = tempfile.mkdtemp(prefix="quiz-bench-tui-")
    try:
        qenv = _quiz_env(home)
        quiz = [PY, "-m", "quiz", "study"]
        cold = _time(quiz, qenv)  # first start: creates the database, migrates, syncs the library
        warm = [_time(quiz, qenv) for _ in range(n)]
    finally:
        shutil.rmtree(home, ignore_errors=True)
    floor = median(minimal)
    first = median(warm)
    return {
        "textual_minimal_s": floor,
        "tui_first_card_s": first,
        "tui_first_card_ratio": round(first / floor, 2),
        "tui_first_card_first_run_s": round(cold, 3),
    }
