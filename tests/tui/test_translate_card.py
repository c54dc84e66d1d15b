"""A translate card in the real app: the source code above the target's setup, the code editor, a
verdict that shows the smallest input where the learner's line and the source differ."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from textual.widgets import Static

from quiz.tui.app import QuizApp
from quiz.tui.widgets.answer_box import AnswerBox
from tests.tui.conftest import answer, settings_for, wait_for

pytestmark = [pytest.mark.torch, pytest.mark.mxnet]

DECK = """
[deck]
id = "tr"
title = "Translate"

[[card]]
id = "expand-dims.torch"
section = "translate"
backend = "torch"
kind = "translate"
source_backend = "mxnet"
prompt = "Write `y = ...` in PyTorch that does what the MXNet code does."
source_code = '''
x = nd.array(${x}, dtype="float32")
a = ${a}
y = x.expand_dims(axis=a)
'''
code = '''
x = torch.tensor(${x}, dtype=torch.float32)
a = ${a}
'''
answer = "y = x.unsqueeze(a)"
result = "y"
explain = "MXNet's `expand_dims` is PyTorch's `unsqueeze`."
vars.s = { shape = { rank = [1, 2], side = [2, 3] } }
vars.x = { array = "s", elements = [-9, 9] }
vars.a = { int = [0, "len(s)"] }

[[card]]
id = "sum.torch"
section = "translate"
backend = "torch"
kind = "translate"
source_backend = "mxnet"
prompt = "Write `y = ...` in PyTorch that does what the MXNet code does."
source_code = '''
x = nd.array(${x}, dtype="float32")
y = x.sum(axis=0)
'''
code = '''
x = torch.tensor(${x}, dtype=torch.float32)
'''
answer = "y = x.sum(dim=0)"
result = "y"
explain = "`axis=` is `dim=`."
vars.s = { shape = { rank = 2, side = [2, 3] } }
vars.x = { array = "s", elements = [-9, 9] }
"""

RIGHT = {"tr/expand-dims.torch": "y = x.unsqueeze(a)", "tr/sum.torch": "y = x.sum(dim=0)"}
WRONG = {"tr/expand-dims.torch": "y = x.unsqueeze(0)", "tr/sum.torch": "y = x.sum(dim=0).double()"}


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "tr.toml").write_text(textwrap.dedent(DECK).lstrip())
    monkeypatch.setenv("QUIZ_BUILTIN_DECKS", str(decks))
    return decks


async def test_a_translate_card_shows_both_sides_and_grades_the_translation(
    library: Path, tmp_path: Path, runner: object
) -> None:
    settings = settings_for(tmp_path, backends=("torch", "mxnet"))
    app = QuizApp(settings, runner=runner)  # type: ignore[arg-type]
    verdicts = {}
    async with app.run_test(size=(120, 50)) as pilot:
        screen = app.study_screen
        for n, texts in enumerate((WRONG, RIGHT)):
            await wait_for(pilot, lambda n=n: screen.phase == "question" and screen.reviewed == n)
            card, variant = screen.card, screen.variant
            assert card is not None and variant is not None and variant.source_code is not None
            source = screen.query_one("#card-source", Static)
            assert source.display and "mxnet" in str(source.border_title)
            assert "nd.array" in str(source.render())
            assert "torch.tensor" in str(screen.query_one("#card-code", Static).render())
            assert screen.query_one(AnswerBox).form == "code"
            await answer(pilot, screen, texts[card.uid])
            await wait_for(pilot, lambda: screen.phase == "verdict", timeout=120)
            assert screen.answered is not None
            verdict = screen.answered.verdict
            verdicts[card.uid] = verdict
            detail = str(screen.query_one("#verdict-detail", Static).render())
            if texts is WRONG:
                assert verdict.correct is False, verdict
                assert "fails for" in detail and "expected" in detail
                assert verdict.extra["failing_variant"]["difference"]
            else:
                assert verdict.correct is True, verdict
                assert verdict.extra["variants_checked"] >= 2
            assert "a reference answer" in detail
            await pilot.press("enter")
    assert app.errors == []
    assert len(verdicts) == 2
