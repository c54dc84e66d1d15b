"""Issue 13 §3 layout, on the real study screen: notifications never cover the answer field, and an
answer's hint too long for the field (80 columns) is shown whole under it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from textual.widgets import Input, Static

from quiz.core.answers import hint_for
from quiz.core.i18n import t
from quiz.tui.app import QuizApp
from quiz.tui.widgets.answer_box import AnswerBox
from tests.tui.conftest import Clock, settings_for, study_only, wait_for


def _app(tmp_path: Path, runner: Any) -> QuizApp:
    return QuizApp(settings_for(tmp_path, backends=("torch",)), runner=runner, clock=Clock())


@pytest.mark.parametrize("size", [(80, 24), (100, 30)], ids=["80x24", "100x30"])
async def test_a_notification_during_study_leaves_the_answer_field_free(
    kinds_library: Path, tmp_path: Path, runner: Any, size: tuple[int, int]
) -> None:
    """After a bury (whose note is a toast), notes on the next card leave its answer field and the top
    bar uncovered."""
    study_only(tmp_path, runner, "kinds/value.torch", "kinds/shape.torch", "kinds/dtype.torch")
    app = _app(tmp_path, runner)
    async with app.run_test(size=size, notifications=True) as pilot:
        screen = app.study_screen
        await wait_for(
            pilot,
            lambda: screen.study is not None and screen.phase == "question" and screen.card is not None,
            what="a card, with the study session loaded",
        )
        assert screen.card is not None
        buried = screen.card.uid
        await pilot.press("ctrl+b")
        await wait_for(
            pilot,
            lambda: screen.phase == "question" and screen.card is not None and screen.card.uid != buried,
            what="the next card",
        )
        # The bury note may be gone by now on a slow machine: two more, as the screen makes them.
        screen.notify(t("study.buried", card=buried), timeout=30)
        screen.notify("A second note, long enough to wrap over more than one line of its toast.", timeout=30)
        await wait_for(pilot, lambda: len(screen.query("Toast")) >= 2, what="both notes")
        await pilot.pause()
        box = screen.query_one(AnswerBox)
        field = box.query_one(Input)
        topbar = screen.query_one("#topbar", Static)
        toasts = list(screen.query("Toast"))
        assert box.display and field.region.area > 0
        for toast in toasts:
            assert toast.region.area > 0, "the toast is on screen"
            assert not toast.region.overlaps(box.region), f"{toast.region} covers the answer {box.region}"
            assert not toast.region.overlaps(topbar.region), "the top bar (counts) stays readable"


async def test_a_hint_too_long_for_the_field_is_shown_whole_under_it(
    kinds_library: Path, tmp_path: Path, runner: Any
) -> None:
    """At 80 columns a value card's hint does not fit in the field: it wraps under it, all of it; widened
    to 120 columns it is the field's placeholder again."""
    study_only(tmp_path, runner, "kinds/value.torch")
    app = _app(tmp_path, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question" and screen.card is not None, what="a card")
        await pilot.pause()
        assert screen.card is not None
        hint = t("field.then_enter", hint=hint_for(screen.card))
        box = screen.query_one(AnswerBox)
        field = box.query_one(Input)
        line = box.query_one("#answer-hint", Static)
        assert cell_len(hint) > field.content_size.width, "the test needs a hint longer than the field"
        assert line.display and line.region.height >= 1
        assert str(line.render()).replace("\n", " ").split() == hint.split()
        assert field.placeholder == ""
        assert line.region.bottom <= box.region.bottom, "inside the answer box, above the keys"

        await pilot.resize_terminal(120, 30)
        await wait_for(pilot, lambda: not line.display, what="the hint back in the field")
        assert field.placeholder == hint


LONG_CODE = "\n".join(["x = torch.zeros(2, 3)"] + [f"x = x + {i}  # step {i}" for i in range(1, 25)])
LONG_DECK = f'''
[deck]
id = "long"
title = "Long"

[[card]]
id = "long.torch"
section = "long"
backend = "torch"
kind = "shape"
prompt = "What is `x.shape`?"
code = """
{LONG_CODE}
"""
answer = "x.shape"
explain = "Adding a number keeps the shape."
'''


async def test_the_verdict_is_marked_on_screen_only_once_it_is_in_view(
    kinds_library: Path, tmp_path: Path, runner: Any
) -> None:
    """The mark `keypress_to_verdict_ms` is timed to (VerdictLine.on_drawn) comes when the verdict's
    line is drawn. Below a card longer than the screen the verdict is out of view at first: the mark
    waits for the scroll that brings it up, and then the line is in view."""
    (kinds_library / "long.toml").write_text(LONG_DECK.lstrip())
    study_only(tmp_path, runner, "long/long.torch")
    app = _app(tmp_path, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question" and screen.card is not None, what="a card")
        assert screen.card is not None and screen.card.uid == "long/long.torch"
        line = screen.query_one("#verdict-line", Static)
        scroll = screen.query_one("#card-scroll")
        seen: list[tuple[float, bool]] = []  # at each draw of the verdict: the scroll, the line in view
        drawn = screen._drawn

        def watched() -> None:
            seen.append((scroll.scroll_y, scroll.content_region.contains_region(line.region)))
            drawn()

        screen._drawn = watched  # type: ignore[method-assign]
        await pilot.press(*"2x3", "enter")
        await wait_for(pilot, lambda: screen.verdict_painted_at is not None, what="the verdict on screen")
        assert len(seen) == 1 and seen[0][0] > 0 and seen[0][1], seen  # drawn once, scrolled, in view
        assert screen.phase == "verdict" and "2, 3" in str(screen.query_one("#verdict-detail", Static).render())
        assert line.region.area > 0 and scroll.content_region.contains_region(line.region)
