"""The study screen in Chinese (Pilot): card text, hints, verdict, rating labels, key bar and summary
follow the `lang` setting, a card without Chinese falls back to English, and the 80-column layout
still holds every double-width character."""

from __future__ import annotations

import io
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console

from quiz.tui.app import QuizApp
from tests.tui.conftest import settings_for, wait_for

pytestmark = pytest.mark.torch

# The explanation is long enough to wrap at 80 columns: every character of it must still be on screen.
DECK = '''
[deck]
id = "zh-tui"
title = "Expand"
title_zh = "维度扩展"

[[card]]
id = "expand.torch"
section = "expand"
backend = "torch"
kind = "shape"
prompt = "x has shape (${a}, 1). What is `y.shape`?"
prompt_zh = "`x` 的形状是 (${a}, 1)。`y.shape` 是什么？"
code = """
x = torch.zeros(${a}, 1)
y = x.expand(${a}, ${b})
"""
answer = "y.shape"
explain = "`expand` makes the size-1 axis ${b} long without copying."
explain_zh = """
`expand` 不分配新的内存，只把大小为 1 的维度扩展到 ${b}：所以改动原来维度为 1 的位置上的
数据，扩展出来的整行数据都会跟着改变（原文：expand没有分配内存）。要真正复制数据，请用 `repeat`。
"""
vars.a = { int = [2, 5] }
vars.b = { int = [2, 6] }

[[card]]
id = "plain.torch"
section = "expand"
backend = "torch"
kind = "raises"
prompt = "Does the last line raise?"
code = """
x = torch.zeros(2, 3).t()
x.view(-1)
"""
explain = "view needs a contiguous tensor."
'''


@pytest.fixture
def zh_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "zh-tui.toml").write_text(textwrap.dedent(DECK).lstrip(), encoding="utf-8")
    monkeypatch.setenv("QUIZ_BUILTIN_DECKS", str(decks))
    return decks


def text_of(app: QuizApp, selector: str) -> str:
    return str(app.screen.query_one(selector).render())  # type: ignore[attr-defined]


def screen_lines(app: QuizApp) -> list[str]:
    """What the terminal shows, line by line (as `export_screenshot` renders it, as text)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, record=True)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text().splitlines()


def squeezed(text: str) -> str:
    return re.sub(r"[\s`│▎▊▌]+", "", text)


async def test_the_study_screen_in_chinese(zh_library: Path, tmp_path: Path, runner: Any) -> None:
    app = QuizApp(settings_for(tmp_path, backends=("torch",), lang="zh"), runner=runner)
    async with app.run_test(size=(80, 30)) as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question" and screen.card is not None)
        assert screen.card is not None and screen.variant is not None
        assert screen.card.id == "expand.torch"
        a, b = screen.variant.values["a"], screen.variant.values["b"]
        assert f"x 的形状是 ({a}, 1)。y.shape 是什么？" in text_of(app, "#card-prompt")
        assert "预测形状" in text_of(app, "#card-meta")
        assert "Enter 提交 · Esc 主页 · F1 帮助" in text_of(app, "#status")
        bar = str(screen.query_one("KeyBar").render())
        assert "主页" in bar and "撤销" in bar and "帮助" in bar
        assert "形状" in text_of(app, "#answer-label")

        # A malformed answer is asked again, with the hint in Chinese.
        await pilot.press(*"(2, 3", "enter")
        await pilot.pause()
        assert screen.phase == "question"
        assert "括号不配对：请输入形状" in text_of(app, "#status")

        screen.query_one("#answer").value = ""  # type: ignore[attr-defined]
        await pilot.press(*f"{a}x{b}", "enter")
        await wait_for(pilot, lambda: screen.phase == "verdict")
        assert screen.answered is not None and screen.answered.verdict.correct is True
        assert "✓ 正确" in text_of(app, "#verdict-line")
        detail = text_of(app, "#verdict-detail")
        assert f"你的答案  {a}x{b}" in detail and f"实际结果  ({a}, {b})" in detail
        rate = text_of(app, "#verdict-rate")
        assert "1 重来" in rate and "2 困难" in rate and "3 良好" in rate and "4 简单" in rate
        assert "Enter = 良好" in rate
        assert f"扩展到 {b}" in text_of(app, "#verdict-explain")
        assert "Enter 采用建议的评分" in text_of(app, "#status")

        # The 80-column layout holds the double-width text: nothing cut at the edge, nothing lost.
        lines = screen_lines(app)
        assert all(cell_len(line) <= 80 for line in lines)
        shown = squeezed("".join(lines))
        explanation = screen.answered.variant.explain_zh
        assert explanation is not None and squeezed(explanation) in shown
        rate_rows = [ln for ln in lines if "评分：" in ln]
        assert len(rate_rows) == 1 and all(
            w in rate_rows[0] for w in ("困难", "良好", "简单", "Enter = 良好")
        )
        bar_rows = [ln for ln in lines if "主页" in ln and "帮助" in ln]
        assert len(bar_rows) == 1

        await pilot.press("enter")  # accept Good
        await wait_for(pilot, lambda: screen.phase == "question" and screen.card.id == "plain.torch")  # type: ignore[union-attr]
        # No Chinese text on this card: English, with the app's own words still in Chinese.
        assert "Does the last line raise?" in text_of(app, "#card-prompt")
        assert "最后一行会报错吗？" in text_of(app, "#card-meta")
        await pilot.press(*"no error", "enter")
        await wait_for(pilot, lambda: screen.phase == "verdict")
        assert "✗ 错误" in text_of(app, "#verdict-line")
        assert "view needs a contiguous tensor." in text_of(app, "#verdict-explain")
        assert "Enter = 重来" in text_of(app, "#verdict-rate")
        await pilot.press("1")
        await wait_for(pilot, lambda: screen.reviewed == 2)


async def test_english_stays_the_default(zh_library: Path, tmp_path: Path, runner: Any) -> None:
    app = QuizApp(settings_for(tmp_path, backends=("torch",)), runner=runner)
    async with app.run_test(size=(80, 30)) as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: screen.phase == "question" and screen.variant is not None)
        assert "x has shape" in text_of(app, "#card-prompt")
        assert "Enter answers · Esc Home · F1 help" in text_of(app, "#status")
        assert "Home" in str(screen.query_one("KeyBar").render())


async def test_the_language_is_chosen_in_settings_and_kept(
    zh_library: Path, tmp_path: Path, runner: Any
) -> None:
    from sqlalchemy import select

    from quiz.config import load_settings
    from quiz.store.db import open_store
    from quiz.store.models import Setting
    from quiz.tui.screens.settings import SettingsScreen

    settings = settings_for(tmp_path, backends=("torch",))
    app = QuizApp(settings, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.study_screen
        await wait_for(pilot, lambda: app.study is not None and screen.phase == "question")
        assert "x has shape" in text_of(app, "#card-prompt")
        app.open_settings()
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await pilot.pause()
        form = app.screen
        assert not form.query_one("#set-lang").disabled
        form.query_one("#set-lang").value = "zh"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, SettingsScreen))
        assert app.settings.lang == "zh" and app.study is not None and app.study.settings.lang == "zh"
        await pilot.press(*"9x9", "enter")  # the next screens speak Chinese
        await wait_for(pilot, lambda: screen.phase == "verdict")
        assert "✗ 错误" in text_of(app, "#verdict-line") and "1 重来" in text_of(app, "#verdict-rate")
    assert load_settings(db_url=settings.db_url).lang == "zh"  # the profile's file
    store = open_store(settings.db_url)
    with store.session() as s:
        assert {r.key: r.value for r in s.scalars(select(Setting))}["lang"] == "zh"  # and the database
    store.dispose()

    # `--lang en` for one run: the form shows it is set on the command line and does not save it.
    pinned = load_settings(db_url=settings.db_url, device="cpu", lang="en")
    app = QuizApp(pinned, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.study is not None and app.study_screen.phase == "question")
        assert "x has shape" in text_of(app, "#card-prompt")
        app.open_settings()
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        await pilot.pause()
        assert app.screen.query_one("#set-lang").disabled
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, SettingsScreen))
    assert load_settings(db_url=settings.db_url).lang == "zh"
