"""Pilot: answers nobody should type, pasted into the study screen, get a one-line hint and the same
question again; the app stays usable and the next honest answer is graded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.widgets import Input

from quiz.config import load_settings
from quiz.tui.app import QuizApp
from quiz.tui.screens.study import StudyScreen
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.torch

NASTY = [
    ("\x1b[2J\x1b[31m(2, 3)", "control character (\\x1b"),
    ("(" * 30_000 + ")" * 30_000, "nested more than 32 deep"),
    ("1+" * 40_000, "too long"),
    ("(2, 3)\u202e)3 ,2(", "control character (\\u202e"),
]


async def test_a_nasty_answer_is_asked_again_with_one_line(
    small_library: Path, tmp_path: Path, runner: Any
) -> None:
    # On the session's warm runner: a malformed answer never reaches it, the honest one does.
    app = QuizApp(load_settings(db_url=f"sqlite:///{tmp_path / 'q.db'}", device="cpu"), runner=runner)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = app.study_screen
        assert isinstance(screen, StudyScreen)
        await wait_for(pilot, lambda s=screen: s.phase == "question")
        assert screen.variant is not None
        field = screen.query_one("#answer", Input)
        for text, said in NASTY:
            field.value = ""
            field.post_message(events.Paste(text))  # as a terminal delivers a paste
            await wait_for(pilot, lambda t=text: field.value == t.splitlines()[0])
            await pilot.press("enter")
            await wait_for(pilot, lambda s=said: s in str(screen.query_one("#status").render()))
            status = str(screen.query_one("#status").render())
            assert screen.phase == "question" and screen.answered is None
            assert "\n" not in status.strip() and "\x1b" not in status and "\u202e" not in status
            assert len(status) < 300
        a, b = screen.variant.values["a"], screen.variant.values["b"]
        field.value = f"{a}x{b}"
        await pilot.press("enter")
        await wait_for(pilot, lambda s=screen: s.phase == "verdict")
        assert screen.answered is not None and screen.answered.verdict.correct is True
