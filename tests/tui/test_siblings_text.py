"""The comparison panel with a hostile deck's text: escapes shown, markup literal, the question on one
line, and marks taken from the results (never from text that looks alike). No workers: the panel is
fed the run results a worker would send."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.app import App, ComposeResult

from quiz.core.cards import Backend, Card, Kind
from quiz.core.grading import RunResult
from quiz.core.siblings import Mark
from quiz.core.variables import draw_variant
from quiz.tui.widgets.siblings_view import SiblingPanel, SiblingsHint, SiblingsView
from tests.cli.test_control_characters import assert_safe

ESC = "\x1b"
HOSTILE = f"What is {ESC}]0;pwned\x07 [bold]y[/bold]\n  on\u202e the [/x] next line?"


def card(backend: Backend, **fields: Any) -> Card:
    base = Card(
        deck_id="d",
        id=f"f.{backend.value}",
        section="s",
        backend=backend,
        kind=Kind.VALUE,
        prompt=HOSTILE,
        code=f'y = "{ESC}[2K"',
        answer="y",
        explain="",
        family="f",
        variables=(("a", {"int": [1, 3]}),),
    )
    return replace(base, **fields)


class Harness(App[None]):
    def compose(self) -> ComposeResult:
        hint = SiblingsHint(id="siblings-hint")
        yield hint
        yield SiblingsView(hint=hint, id="siblings")


async def test_hostile_sibling_text_is_shown_not_obeyed_and_marks_follow_the_results() -> None:
    mine = card(Backend.TORCH)
    tf, mx = card(Backend.TENSORFLOW), card(Backend.MXNET, choices=())
    variant = draw_variant(mine, 1)
    # The learner's result, one sibling's equal to it, and one sibling that crashed.
    own = RunResult(ok=True, truth=f"{ESC}[31m1", backend="torch")
    app = Harness()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(SiblingsView)
        await view.reset(
            mine, variant, own, [tf, mx], {"tensorflow": "running…", "mxnet": f"{ESC}[5m starting"}
        )
        view.show_sibling(tf, draw_variant(tf, 1), True, RunResult(ok=True, truth=f"{ESC}[31m1"))
        view.show_sibling(
            mx, draw_variant(mx, 1), True, RunResult(ok=False, error=f"boom {ESC}[2J", error_kind="crashed")
        )
        await pilot.pause()
        panels = {p.backend: p for p in app.query(SiblingPanel)}
        assert panels["tensorflow"].comparison is not None
        assert panels["tensorflow"].comparison.mark == Mark.SAME
        assert panels["mxnet"].comparison is not None
        assert panels["mxnet"].comparison.mark == Mark.NOT_COMPARED  # it crashed: no "differs", no "same"
        texts = [str(w.render()) for w in app.query("Static")]
        everything = "\n".join(texts) + app.export_screenshot()
        assert_safe(everything)
        question = str(panels["tensorflow"].query_one(".sibling-question").render())
        assert question == "What is \\x1b]0;pwned\\x07 [bold]y[/bold] on\\u202e the [/x] next line?"
        assert "could not run: boom \\x1b[2J" in str(panels["mxnet"].query_one(".sibling-out").render())
        assert "it could not be run" in str(panels["mxnet"].query_one(".sibling-head").render())


async def test_a_value_just_outside_the_tolerance_differs() -> None:
    mine, tf = card(Backend.TORCH, prompt="p"), card(Backend.TENSORFLOW, prompt="p")
    variant = draw_variant(mine, 1)
    app = Harness()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(SiblingsView)
        await view.reset(mine, variant, RunResult(ok=True, truth=[1.0, 2.0]), [tf], {})
        # Off by 1e-3: outside the tolerance, so it differs however close it looks.
        view.show_sibling(tf, draw_variant(tf, 1), True, RunResult(ok=True, truth=[1.0, 2.001]))
        await pilot.pause()
        panel = app.query_one("#sibling-tensorflow", SiblingPanel)
        assert panel.comparison is not None and panel.comparison.mark == Mark.DIFFERS
        assert "✗ differs from your card" in str(panel.query_one(".sibling-head").render())


async def test_the_comparison_speaks_the_readers_language() -> None:
    from types import SimpleNamespace

    class Chinese(Harness):
        settings = SimpleNamespace(lang="zh")

    mine, tf = card(Backend.TORCH, prompt="p"), card(Backend.TENSORFLOW, prompt="p")
    app = Chinese()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(SiblingsView)
        await view.reset(mine, draw_variant(mine, 1), RunResult(ok=True, truth=[1.0]), [tf], {})
        view.show_sibling(tf, draw_variant(tf, 1), True, RunResult(ok=True, truth=[1.0]))
        await pilot.pause()
        assert "你的 torch 卡片在其他后端上：tensorflow ✓ 相同" in str(
            app.query_one("#siblings-title").render()
        )
        head = str(app.query_one("#sibling-tensorflow", SiblingPanel).query_one(".sibling-head").render())
        assert "✓ 与你的卡片相同" in head and "你的取值" in head
