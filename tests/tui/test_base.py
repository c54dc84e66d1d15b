"""The screens' base (quiz.tui.base): background work comes back as a message, a result or the failure;
waits for the session end when loading fails; an error outside an action stops quiz with one line."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual import on
from textual.app import App
from textual.message import Message

from quiz.tui.app import QuizApp, QuizStopped
from quiz.tui.base import QuizScreen
from quiz.tui.messages import Failed
from tests.tui.conftest import settings_for, wait_for


@dataclass
class Answer(Message):
    value: int


class Jobs(QuizScreen[None]):
    def __init__(self) -> None:
        super().__init__()
        self.got: list[Message] = []

    @on(Answer)
    @on(Failed)
    def _got(self, message: Message) -> None:
        self.got.append(message)


async def test_background_work_posts_its_message_or_its_failure() -> None:
    def boom() -> Message:
        raise ValueError("no such card")

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(Jobs())

    app = Host()
    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, Jobs)
        screen.in_background(lambda: Answer(42), doing="answering", group="a")
        screen.in_background(boom, doing="reading the card", group="b")
        screen.in_background(boom, doing="quietly", group="c", failure=lambda exc: None)  # keeps quiet
        screen.in_background(lambda: None, doing="nothing to say", group="d")
        await wait_for(pilot, lambda: len(screen.got) == 2)
        await pilot.pause(0.1)
    assert sorted(screen.got, key=lambda m: type(m).__name__) == [
        Answer(42),
        Failed("reading the card", "ValueError: no such card"),
    ]


@pytest.mark.torch
async def test_waits_end_when_loading_fails_and_an_error_outside_an_action_stops_quiz(
    kinds_library: Path, tmp_path: Path, runner: object
) -> None:
    app = QuizApp(settings_for(tmp_path, backends=("torch",)), deck="nosuchdeck", runner=runner, use_prepared_start=False)  # type: ignore[arg-type]

    def broken() -> None:
        raise RuntimeError("a bug in a callback")

    with pytest.raises(QuizStopped) as stopped:
        async with app.run_test() as pilot:
            await wait_for(pilot, lambda: app.load_error is not None)
            # A screen's worker asking for the session gets None at once, not after a 300 s wait.
            assert await asyncio.wait_for(asyncio.to_thread(app.wait_for_study), 5) is None
            assert await asyncio.wait_for(asyncio.to_thread(app.wait_for_runner), 5) is runner
            app.call_later(broken)  # not an action: nothing turns it into a message
            await wait_for(pilot, lambda: app.errors, what="the error to be noted")
            await pilot.pause(0.2)
    assert app.return_code == 1 and app.exiting
    assert app.errors == ["RuntimeError: a bug in a callback"]
    assert isinstance(stopped.value.__cause__, RuntimeError)
    line = stopped.value.__rich__().plain
    assert line.startswith("quiz stopped after an unexpected error (RuntimeError: a bug in a callback)")
    assert "\n" not in line and "quiz.log" in line
