"""A full disk while rating: one line for the learner, nothing half-saved, and rating again works once there is space.

Two ways to fill the disk for real: a SQLite page limit (`PRAGMA max_page_count`,
set on every connection of the study's own engine), which makes the real
commit fail with SQLITE_FULL and runs everywhere; and, where the test may
mount one (root with CAP_SYS_ADMIN), a tiny tmpfs holding the database, filled
to the last byte, driven through the app's keys.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from quiz.config import load_settings
from quiz.core.grading import Verdict
from quiz.session.compose import build_study
from quiz.session.grading import Answered
from quiz.session.study import DISK_FULL
from quiz.store.db import DiskFull
from quiz.store.models import Review
from quiz.tui.app import QuizApp
from tests.tui.conftest import settled, wait_for

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def reviews(study: Any) -> int:
    with study.store.session() as s:
        return int(s.scalar(select(func.count()).select_from(Review)) or 0)


def test_a_page_limit_makes_rating_fail_with_one_line_and_nothing_saved(
    small_library: Path, tmp_path: Path, runner: Any
) -> None:
    study = build_study(
        load_settings(db_url=f"sqlite:///{tmp_path / 'q.db'}", device="cpu"), None, runner=runner
    )
    card = study.library.cards()[0]
    variant = study.prepare(card, seed=1)
    verdict = Verdict(True, "(2, 3)", "2x3", "torch", "cpu", "2.13.0", 1.0)
    answered = Answered(card, variant, "2x3", verdict, NOW, NOW, 1000)
    engine = study.store.engine
    with engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())

    def limit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", limit)
    engine.dispose()  # every connection from now on has the limit
    saved, steps = reviews(study), len(study.undo_steps)
    failure = None
    for _ in range(500):  # each saved review fills the pages a little more
        try:
            study.rate(answered, 3)
        except DiskFull as exc:
            failure = exc
            break
        saved, steps = saved + 1, steps + 1
    assert failure is not None, "the page limit never filled up"
    assert str(failure) == DISK_FULL
    assert "OperationalError" not in str(failure)
    assert reviews(study) == saved and len(study.undo_steps) == steps  # nothing of it was saved

    event.remove(engine, "connect", limit)
    engine.dispose()  # space again
    study.rate(answered, 3)
    assert reviews(study) == saved + 1
    study.store.dispose()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}); the page-limit test runs"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the file system has no byte left."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (65536, 4096, 1):
            with contextlib.suppress(OSError):
                while f.write(b"\0" * size):
                    pass
    return filler


@pytest.mark.torch
async def test_a_full_disk_in_the_app_shows_one_line_and_rating_again_works(
    small_library: Path, tiny_disk: Path, runner: Any
) -> None:
    url = f"sqlite:///{tiny_disk / 'q.db'}"
    # On the session's warm runner: the database is on the full disk, the workers never were.
    app = QuizApp(load_settings(db_url=url, device="cpu"), runner=runner)
    shown: list[str] = []
    async with app.run_test(size=(100, 32)) as pilot:
        notify = app.notify

        def record(message: str, **kw: Any) -> None:
            shown.append(message)
            notify(message, **kw)

        app.notify = record  # type: ignore[method-assign]
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question" and screen.card is not None)
        assert screen.variant is not None and screen.card is not None
        a, b = screen.variant.values["a"], screen.variant.values["b"]
        await pilot.press(*f"{a}x{b}")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.phase == "verdict")

        filler = fill(tiny_disk)
        assert os.statvfs(tiny_disk).f_bavail == 0
        await pilot.press("3")
        await wait_for(pilot, lambda: "disk is full" in str(screen.query_one("#status").render()))
        # Once the saving thread has ended and what it posted is handled, a second message would be shown.
        await settled(pilot, app, "next")
        await pilot.pause()
        assert str(screen.query_one("#status").render()) == DISK_FULL
        assert [m for m in shown if "disk" in m or "Error" in m] == [DISK_FULL]  # once, not twice
        assert not any("OperationalError" in m for m in shown) and app.errors == []
        assert screen.phase == "verdict" and screen.reviewed == 0

        filler.unlink()  # free space, and rate again
        await pilot.press("3")
        await wait_for(pilot, lambda: screen.reviewed == 1)
