"""TUI test helpers: a small deck as the whole library, and waiting for the screen's phase."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

import pytest

SMALL_DECK = """
[deck]
id = "tiny"
title = "Tiny"

[[card]]
id = "expand-shape.torch"
section = "view-permute-expand"
backend = "torch"
kind = "shape"
prompt = "x has shape (${a}, 1). What is `y.shape`?"
code = '''
x = torch.zeros(${a}, 1)
y = x.expand(${a}, ${b})
'''
answer = "y.shape"
explain = "expand turns a size-1 axis into any size without copying."
vars.a = { int = [2, 5] }
vars.b = { int = [2, 6] }

[[card]]
id = "view-after-permute.torch"
section = "view-permute-expand"
backend = "torch"
kind = "raises"
prompt = "Does the last line raise?"
code = '''
x = torch.zeros(2, 3).t()
x.view(-1)
'''
explain = "view needs a contiguous tensor."
"""


@pytest.fixture
def small_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "tiny.toml").write_text(textwrap.dedent(SMALL_DECK).lstrip())
    monkeypatch.setenv("QUIZ_BUILTIN_DECKS", str(decks))
    return decks


async def wait_for(pilot: Any, condition: Any, timeout: float = 60.0) -> None:
    """Let the app run until `condition()` holds (thread workers and warm-up take real time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.05)
