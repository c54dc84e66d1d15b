"""kill -9 right after a rating, in the real app: the review is saved and the next start opens fine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from quiz.config import load_settings
from quiz.store.db import open_store
from quiz.store.models import Review
from quiz.tui.app import QuizApp
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.torch

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    sys.path.insert(0, sys.argv[2])
    from quiz.config import load_settings
    from quiz.tui.app import QuizApp
    from tests.tui.conftest import wait_for

    async def main():
        app = QuizApp(load_settings(db_url=sys.argv[1], device="cpu"))
        async with app.run_test(size=(100, 32)) as pilot:
            screen = app.study_screen
            await wait_for(pilot, lambda: screen.phase == "question")
            a, b = screen.variant.values["a"], screen.variant.values["b"]
            await pilot.press(*f"{a}x{b}")
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.phase == "verdict")
            await pilot.press("3")
            await wait_for(pilot, lambda: screen.reviewed == 1)
            print("rated", flush=True)
            await asyncio.sleep(60)  # killed here, with the app still running

    asyncio.run(main())
    """
)


async def test_sigkill_right_after_a_rating(small_library: Path, tmp_path: Path, runner: Any) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    root = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, root], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "rated"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    store = open_store(url)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Review)) == 1
        assert s.scalar(select(Review.rating)) == 3
    store.dispose()

    # The next start opens fine (in this process, on the session's warm runner; the killed app above
    # made its own, as `quiz` does).
    app = QuizApp(load_settings(db_url=url, device="cpu"), runner=runner)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question")
        assert screen.card is not None and screen.card.id == "view-after-permute.torch"
