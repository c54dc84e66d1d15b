"""Pilot, real worker: the card's truth runs while the learner reads, and the verdict is what it
would be if the run came after the key — its own card and variant only, waited for when the answer
is quicker, and a code answer's failure shown at once with its smallest variant after, in place."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from quiz.session.grading import grade, read_answer
from quiz.tui.app import QuizApp
from tests.tui.conftest import answer, first_card, settings_for, wait_for

pytestmark = pytest.mark.torch

# A card whose run takes a while (so an answer can come before its pre-run ends); the deck has two.
SLOW = '''
[[card]]
id = "ID"
section = "s"
backend = "torch"
kind = "value"
prompt = "What is `y`?"
code = """
import time
time.sleep(0.6)
y = ${n} * 2
"""
answer = "y"
explain = "."
vars.n = { int = [2, 40] }
'''

DECK = '''
[deck]
id = "pre"
title = "pre-run"

''' + SLOW.replace("ID", "slow.torch") + '''

[[card]]
id = "sum.torch"
section = "s"
backend = "torch"
kind = "value"
prompt = "What is `y`?"
code = "y = int(torch.arange(${n}).sum())"
answer = "y"
explain = "."
vars.n = { int = [2, 40] }

''' + SLOW.replace("ID", "slow2.torch") + '''

[[card]]
id = "swap.torch"
section = "s"
backend = "torch"
kind = "code"
prompt = "Swap the last two axes of x."
code = "x = torch.arange(${prod(s)}).reshape(${s})"
answer = "x.transpose(-1, -2)"
explain = "."
vars.s = { shape = { rank = [2, 3], side = [2, 4] } }
'''


@pytest.fixture
def pre_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "pre.toml").write_text(textwrap.dedent(DECK).lstrip())
    monkeypatch.setenv("QUIZ_BUILTIN_DECKS", str(decks))
    return decks


def right(screen: Any) -> str:
    n = screen.variant.values["n"]
    return str(n * 2 if screen.card.id.startswith("slow") else n * (n - 1) // 2)


async def test_pre_runs_serve_their_own_card_and_an_early_answer_waits(
    pre_library: Path, tmp_path: Path, runner: object
) -> None:
    app = QuizApp(settings_for(tmp_path, backends=("torch",)), runner=runner)  # type: ignore[arg-type]
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await first_card(pilot, app)
        assert screen.card.id == "slow.torch"
        # Buried while its pre-run is still running (the worker warming, then 0.6 s): the next card's
        # verdict must be its own (never the slow card's truth), and right.
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: screen.phase == "question" and screen.card.id == "sum.torch")
        await answer(pilot, screen, right(screen))
        await wait_for(pilot, lambda: screen.phase == "verdict")
        assert screen.answered.card.id == "sum.torch" and screen.answered.verdict.correct is True
        mine = screen._truth.truth
        assert mine is not None and mine.card is screen.card and mine.variant is screen.variant
        assert screen.answered.verdict.elapsed_ms == mine.result.elapsed_ms  # its own pre-run, used
        await pilot.press("3")

        # The next slow card, answered at once, before its pre-run (0.6 s) can have ended: the answer
        # waits for it, and is right.
        await wait_for(pilot, lambda: screen.phase == "question" and screen.card.id == "slow2.torch")
        slot = screen._truth
        await answer(pilot, screen, right(screen))
        await wait_for(pilot, lambda: screen.phase == "verdict")
        assert slot.truth is not None and slot.card is screen.card  # the answer came before it was done
        assert screen.answered.verdict.correct is True
        assert screen.answered.verdict.elapsed_ms == slot.truth.result.elapsed_ms


async def test_a_code_failure_shows_at_once_and_its_smallest_variant_after(
    pre_library: Path, tmp_path: Path, runner: object
) -> None:
    app = QuizApp(settings_for(tmp_path, backends=("torch",)), runner=runner)  # type: ignore[arg-type]
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await first_card(pilot, app)
        for _ in range(3):  # to the code card
            before = screen.card.id
            await pilot.press("ctrl+b")
            await wait_for(pilot, lambda b=before: screen.phase == "question" and screen.card.id != b)
            if screen.card.id == "swap.torch":
                break
        assert screen.card.id == "swap.torch"
        await wait_for(pilot, lambda: screen._truth.truth is not None, what="the references' pre-run")
        card, variant = screen.card, screen.variant
        text = "x.flip(0)"  # wrong on the variant shown already
        view = screen.verdict_view
        shown: list[tuple[Any, str]] = []  # each verdict painted, with the detail it shows
        show, refine = view.show, view.refine

        def detail() -> str:
            return str(view.query_one("#verdict-detail").render())

        def spy_show(answered: Any, **kw: Any) -> Any:
            suggested = show(answered, **kw)
            shown.append((answered.verdict, detail()))
            return suggested

        def spy_refine(answered: Any) -> None:
            refine(answered)
            shown.append((answered.verdict, detail()))

        view.show, view.refine = spy_show, spy_refine  # type: ignore[method-assign]
        await answer(pilot, screen, text)
        await wait_for(pilot, lambda: screen.phase == "verdict")
        await wait_for(pilot, lambda: "shrinking" not in screen.answered.verdict.extra, what="the shrink")
        first, first_detail = shown[0]
        assert first.correct is False and first.extra.get("shrinking") is True
        assert first.extra["failing_variant"]["values"] == variant.values_json()  # the one shown
        assert "looking for a smaller failing one" in first_detail
        final = screen.answered.verdict
        assert len(shown) >= 2 and shown[-1][0] is final
        assert "looking for a smaller" not in str(screen.query_one("#verdict-detail").render())
        # The exam and `quiz grade` grade synchronously, without a pre-run: the very same verdict.
        alone = grade(runner, card, variant, read_answer(card, variant, text), device="cpu")  # type: ignore[arg-type]
        a, b = final.to_dict(), alone.to_dict()
        a.pop("elapsed_ms")
        b.pop("elapsed_ms")
        assert a == b

        # A cheating learner takes the answer back (nothing saved) and tries again on the same variant,
        # whose truth ran once, before any answer: an answer that changes the framework's defaults
        # for the runs after it is wrong, and the honest one after it is still right on that truth.
        slot = screen._truth
        for attempt, correct in (
            ("(torch.set_default_dtype(torch.float64), torch.zeros(1))[1]", False),
            ("x.transpose(-1, -2)", True),
        ):
            await pilot.press("ctrl+z")
            await wait_for(pilot, lambda: screen.phase == "question")
            assert screen._truth is slot and screen.variant is variant  # the same pre-run, kept
            screen.box.widget.clear()  # the taken-back answer is put back in the editor: replaced
            await answer(pilot, screen, attempt)
            await wait_for(pilot, lambda: screen.phase == "verdict")
            await wait_for(pilot, lambda: "shrinking" not in screen.answered.verdict.extra)
            assert screen.answered.verdict.correct is correct, screen.answered.verdict


async def test_while_an_answer_waits_the_collector_is_held_and_the_wait_is_said(
    pre_library: Path, tmp_path: Path, runner: object
) -> None:
    """From the key to its verdict on screen the cyclic collector is paused (a full collection there
    cost a verdict 150-250 ms), and it runs again once the verdict is painted; an answer that takes
    long says so on the status line."""
    import gc

    app = QuizApp(settings_for(tmp_path, backends=("torch",)), runner=runner)  # type: ignore[arg-type]
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await first_card(pilot, app)
        status = screen.query_one("#status")
        for card_id in ("slow.torch", "sum.torch"):  # the worker warm for the card that counts
            assert screen.card.id == card_id
            if card_id == "sum.torch":  # a malformed answer is asked again, and holds nothing
                await answer(pilot, screen, "not a number")
                assert screen.phase == "question" and gc.isenabled()
                screen.box.field.clear()
            await answer(pilot, screen, right(screen))
            await wait_for(pilot, lambda: screen.phase == "verdict")
            await pilot.press("3")
            await wait_for(pilot, lambda c=card_id: screen.phase == "question" and screen.card.id != c)
        assert screen.card.id == "slow2.torch" and gc.isenabled()
        await answer(pilot, screen, right(screen))  # before its pre-run (0.6 s) can have ended
        assert screen.phase == "running" and not gc.isenabled()
        await wait_for(pilot, lambda: "running on torch" in str(status.render()), what="the running line")
        await wait_for(pilot, screen._painted.is_set, what="the verdict painted")
        assert gc.isenabled()  # at the paint, not HOLD_GC_S after the key
        assert screen.answered.verdict.correct is True


async def test_a_rating_key_rates_even_while_the_hidden_form_still_has_the_focus(
    pre_library: Path, tmp_path: Path, runner: object
) -> None:
    """The answer form, hidden with the verdict, loses the focus only once the verdict is painted (its
    blur restyles it, ~7 ms for the code editor, for nothing anyone sees). A rating key pressed in
    between must rate the card (the rating keys come first), not be typed into the hidden form."""
    app = QuizApp(settings_for(tmp_path, backends=("torch",)), runner=runner)  # type: ignore[arg-type]
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await first_card(pilot, app)
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: screen.phase == "question" and screen.card.id == "sum.torch")
        typed = right(screen)
        await answer(pilot, screen, typed)
        await wait_for(pilot, lambda: screen.phase == "verdict" and screen.verdict_painted_at is not None)
        await wait_for(pilot, lambda: screen.focused is None, what="the focus to leave the hidden form")
        # The stretch between the verdict and its paint, made to last: the focus in the hidden form.
        screen.set_focus(screen.box.field)
        assert screen.box.has_focus_within and not screen.box.display
        await pilot.press("3")
        assert screen.phase in ("saving", "question") and screen.box.field.value in (typed, "")
        await wait_for(pilot, lambda: screen.reviewed == 1, what="the rating saved")
        assert screen.records[-1].rating == 3
        await wait_for(pilot, lambda: screen.phase == "question" and screen.card.id == "slow2.torch")
        assert screen.box.has_focus_within  # the next card's form has it again


async def test_a_hidden_answer_form_takes_no_key() -> None:
    """The text field and the code editor type nothing while the form is hidden (the verdict shown),
    so the rating keys reach the screen even where the focus has not left them yet."""
    from textual.app import App, ComposeResult
    from textual.containers import Vertical

    from quiz.tui.widgets.answer_box import AnswerField
    from quiz.tui.widgets.code_editor import CodeEditor

    class Form(App[None]):
        def compose(self) -> ComposeResult:
            with Vertical(id="box"):
                yield AnswerField(id="field")
                yield CodeEditor(id="editor")

    app = Form()
    async with app.run_test():
        box = app.query_one("#box")
        for widget in (app.query_one(AnswerField), app.query_one(CodeEditor)):
            assert widget.check_consume_key("3", "3")
            box.display = False
            assert not widget.check_consume_key("3", "3")
            box.display = True
