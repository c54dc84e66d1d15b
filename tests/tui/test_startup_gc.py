"""`quiz study` pauses the cyclic garbage collector for start-up only: the app resumes it once loading
starts (after the first paint when a prepared card is shown), and the command never leaves it paused."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from quiz.cli import main
from quiz.config import load_settings
from quiz.tui.app import QuizApp
from tests.tui.conftest import gone_database, wait_for


@pytest.fixture
def collector_restored() -> Iterator[None]:
    yield
    gc.enable()
    gc.unfreeze()  # what the app froze belongs to this test alone


def test_the_command_never_leaves_the_collector_paused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], collector_restored: None
) -> None:
    monkeypatch.delenv("QUIZ_HEADLESS", raising=False)
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    # It stops before the app (no terminal) and after start-up paused the collector.
    assert main(["study"]) == 2
    assert "needs a terminal" in capsys.readouterr().err
    assert gc.isenabled()
    # A caller that paused it itself keeps it paused.
    gc.disable()
    assert main(["study"]) == 2
    assert not gc.isenabled()


async def test_the_app_resumes_the_collector_once_loading_starts(
    small_library: Path, tmp_path: Path, collector_restored: None
) -> None:
    app = QuizApp(
        load_settings(db_url=f"sqlite:///{tmp_path / 'q.db'}", device="cpu"), study_factory=gone_database
    )
    app.resume_gc = True  # as run_app sets it under `quiz study`
    gc.disable()
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: app.load_error is not None)
        assert gc.isenabled() and gc.get_freeze_count() > 0
        assert app.resume_gc is False
    # An app nobody paused it for leaves a paused collector alone.
    gc.disable()
    other = QuizApp(
        load_settings(db_url=f"sqlite:///{tmp_path / 'q.db'}", device="cpu"), study_factory=gone_database
    )
    async with other.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: other.load_error is not None)
        assert not gc.isenabled()
