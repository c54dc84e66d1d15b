"""`textual_minimal_s` (a bare Textual app, headless: the floor) and `tui_first_card_s` (the real
`quiz` process, headless, with all built-in decks): both from process spawn to the first frame
with content on screen, read from a timestamp the process writes at that moment (exit and
teardown are not counted, for either).

`tui_first_card_s` is the everyday start: the previous session ended normally, so its prepared
start is valid. `tui_first_card_cold_s` is a start without one (after another program wrote to
the database, after the decks changed, or the very first run), which loads SQLAlchemy, the
schedule and hypothesis before painting.

The floor and the everyday start are timed in turns, so that `tui_first_card_ratio` compares them
under the same load (`tui_loadavg_1m`: the machine's load then; on a shared machine, rerun).
"""

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

PY = sys.executable

MINIMAL = """
import os, time
from textual.app import App
from textual.widgets import Static

class Minimal(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(self.mark)
    def mark(self):
        with open(os.environ["QUIZ_BENCH_MARK"], "w") as f:
            f.write(repr(time.time()))
        self.exit()

Minimal().run(headless=True)
"""


def _time_to_mark(cmd: list[str], env: dict[str, str], mark: Path) -> float:
    mark.unlink(missing_ok=True)
    env = {**env, "QUIZ_BENCH_MARK": str(mark)}
    started = time.time()
    subprocess.run(
        cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120
    )
    return float(mark.read_text()) - started


def _prepare_session(home: str) -> None:
    """A learner's normal state: the database exists and the last session ended normally."""
    code = (
        "from quiz.config import load_settings\n"
        "from quiz.session.compose import build_study\n"
        "from quiz.session.prepared import save_next_start\n"
        "from quiz.library import fingerprint\n"
        "s = load_settings()\n"
        "study = build_study(s, None)\n"
        "save_next_start(study, fingerprint(s))\n"
        "study.runner.close()\n"
    )
    subprocess.run([PY, "-c", code], env={**os.environ, "QUIZ_HOME": home}, check=True, timeout=120)


def run(args: Any) -> dict[str, Any]:
    n = 3 if args.quick else 9
    tmp = Path(tempfile.mkdtemp(prefix="quiz-bench-tui-"))
    mark = tmp / "mark"
    try:
        env = dict(os.environ)
        home = str(tmp / "home")
        qenv = {**env, "QUIZ_HOME": home, "QUIZ_HEADLESS": "1", "QUIZ_EXIT_AFTER_FIRST_CARD": "1"}
        qenv.pop("QUIZ_DB", None)
        quiz = [PY, "-m", "quiz", "study"]
        first_run = _time_to_mark(quiz, qenv, mark)  # creates the database, migrates, syncs
        cold = [_time_to_mark(quiz, qenv, mark) for _ in range(n)]  # no prepared start
        _prepare_session(home)
        # The floor and the everyday start in turns: on a shared machine the load changes from one
        # minute to the next, and the ratio compares the two under the same load.
        minimal: list[float] = []
        warm: list[float] = []
        for _ in range(n):
            minimal.append(_time_to_mark([PY, "-c", MINIMAL], env, mark))
            warm.append(_time_to_mark(quiz, qenv, mark))
        load = os.getloadavg()[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    floor = median(minimal)
    first = median(warm)
    return {
        "textual_minimal_s": floor,
        "tui_first_card_s": first,
        "tui_first_card_ratio": round(first / floor, 2),
        "tui_first_card_cold_s": median(cold),
        "tui_first_card_first_run_s": round(first_run, 3),
        "tui_loadavg_1m": round(load, 2),  # the machine's load when the pairs were timed
    }
