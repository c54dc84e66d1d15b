"""TUI test helpers: small decks as the whole library, a clock the test moves, waiting for the app."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import UTC, datetime, timedelta
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


def gone_database(*args: object, **kwargs: object) -> None:
    """A study factory (QuizApp's `study_factory`) for a database that cannot be reached."""
    raise RuntimeError("the database server is gone")


async def first_card(pilot: Any, app: Any) -> Any:
    """The study screen once its first card is on screen and the study session has loaded."""
    screen = app.study_screen
    await wait_for(pilot, lambda: screen.phase == "question" and screen.card is not None)
    await wait_for(pilot, lambda: screen.study is not None, what="the study session")
    return screen


async def wait_for(pilot: Any, condition: Any, timeout: float = 60.0, what: str = "") -> None:
    """Let the app run until `condition()` holds (thread workers and warm-up take real time).

    The bound is generous (a loaded machine is slow, never wrong); reaching it fails the test
    with `what` it waited for.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or 'the app'}")
        await pilot.pause(0.05)


def busy(app: Any, *groups: str) -> bool:
    """Whether a worker of one of `groups` (the app's or a screen's `@work(group=...)`) is still to finish.

    Textual removes a worker only once its task is done, after whatever it did through
    `call_from_thread`; so when this turns False, that work has happened.
    """
    return any(w.group in groups and not w.is_finished for w in app.workers)


async def settled(pilot: Any, app: Any, *groups: str) -> None:
    """Wait until the workers of `groups` have finished (what they did on the app's thread is done)."""
    await wait_for(pilot, lambda: not busy(app, *groups), what=f"the app's {'/'.join(groups)} work to finish")


# Every kind of card on torch (constant, so the right answers are known), and one family on
# torch and mxnet with the same variables, for the side-by-side comparison.
KINDS_DECK = '''
[deck]
id = "kinds"
title = "Every kind of card"

[[card]]
id = "shape.torch"
section = "shapes"
backend = "torch"
kind = "shape"
prompt = "What is `y.shape`?"
code = "y = torch.zeros(2, 1, 3).expand(2, 4, 3)"
answer = "y.shape"
explain = "expand turns the size-1 axis into 4."

[[card]]
id = "dtype.torch"
section = "dtypes"
backend = "torch"
kind = "dtype"
prompt = "What is `y.dtype`?"
code = "y = torch.arange(3) / 2"
answer = "y.dtype"
explain = "True division of integers gives the default float dtype."

[[card]]
id = "bool.torch"
section = "memory"
backend = "torch"
kind = "bool"
prompt = "Is `y` contiguous?"
code = """
x = torch.zeros(2, 3)
y = x.t()
"""
answer = "y.is_contiguous()"
explain = "A transpose only swaps strides."

[[card]]
id = "grad.torch"
section = "autograd"
backend = "torch"
kind = "grad_is_none"
prompt = "After this, is `x.grad` None?"
code = """
x = torch.ones(2, requires_grad=True)
y = (x * 2).detach().sum()
"""
answer = "x.grad"
explain = "Nothing was differentiated: backward was never called."

[[card]]
id = "value.torch"
section = "reductions"
backend = "torch"
kind = "value"
prompt = "What is `y`?"
code = "y = torch.tensor([[1., 2.], [3., 4.]]).sum(0)"
answer = "y"
explain = "sum(0) adds the rows."

[[card]]
id = "raises.torch"
section = "memory"
backend = "torch"
kind = "raises"
prompt = "Does the last line raise?"
code = """
x = torch.zeros(2, 3)
x.view(3, 3)
"""
explain = "6 elements cannot be viewed as 9."

[[card]]
id = "choice.torch"
section = "memory"
backend = "torch"
kind = "choice"
prompt = "Does `y` share memory with `x`?"
code = """
x = torch.zeros(2, 3)
y = x.t()
"""
answer = '"shares memory" if y.data_ptr() == x.data_ptr() else "copies"'
choices = ["shares memory", "copies"]
explain = "t() is a view."

[[card]]
id = "code.torch"
section = "shapes"
backend = "torch"
kind = "code"
prompt = "Write an expression that gives `x` as a 2 by 3 matrix."
code = "x = torch.arange(6)"
answer = "x.view(2, 3)"
explain = "view or reshape."

[[card]]
id = "broadcast.torch"
section = "broadcast"
backend = "torch"
kind = "shape"
prompt = "x has shape (${a}, 1). What is `y.shape`?"
code = """
x = torch.zeros(${a}, 1)
y = x.expand(${a}, ${b})
"""
answer = "y.shape"
explain = "expand makes the size-1 axis ${b} long without copying."
vars.a = { int = [2, 5] }
vars.b = { int = [2, 6] }

[[card]]
id = "broadcast.mxnet"
section = "broadcast"
backend = "mxnet"
kind = "shape"
prompt = "x has shape (${a}, 1). What is `y.shape`?"
code = """
x = nd.zeros((${a}, 1))
y = nd.broadcast_to(x, shape=(${a}, ${b}))
"""
answer = "y.shape"
explain = "broadcast_to copies."
vars.a = { int = [2, 5] }
vars.b = { int = [2, 6] }
'''

# A right answer for each constant card (what the learner types).
RIGHT = {
    "kinds/shape.torch": "2x4x3",
    "kinds/dtype.torch": "torch.float32",
    "kinds/bool.torch": "n",
    "kinds/grad.torch": "n",
    "kinds/value.torch": "[4, 6]",
    "kinds/raises.torch": "RuntimeError",
    "kinds/choice.torch": "a",
    "kinds/code.torch": "x.reshape(2, 3)",
}
WRONG = {
    "kinds/shape.torch": "2x1x3",
    "kinds/dtype.torch": "int64",
    "kinds/bool.torch": "y",
    "kinds/grad.torch": "t",
    "kinds/value.torch": "[3, 7]",
    "kinds/raises.torch": "no error",
    "kinds/choice.torch": "b",
    "kinds/code.torch": "x.view(3, 2)",
}
ONE_KEY = ("bool", "grad_is_none", "choice")  # answered by one key, no Enter


@pytest.fixture
def kinds_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "kinds.toml").write_text(textwrap.dedent(KINDS_DECK).lstrip())
    monkeypatch.setenv("QUIZ_BUILTIN_DECKS", str(decks))
    return decks


class Clock:
    """A clock the test moves: time passes only when it says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def settings_for(tmp_path: Path, **values: Any) -> Any:
    from dataclasses import replace

    from quiz.config import load_settings

    s = load_settings(db_url=f"sqlite:///{tmp_path / 'q.db'}", device="cpu")
    return replace(s, **values) if values else s


def study_only(tmp_path: Path, runner: Any, *uids: str) -> None:
    """Suspend every card but `uids` (torch decks), so the study opens on them."""
    from sqlalchemy import update

    from quiz.session.compose import build_study
    from quiz.store.models import CardState

    study = build_study(settings_for(tmp_path, backends=("torch",)), None, runner=runner)
    with study.store.session() as s:
        s.execute(update(CardState).where(CardState.card_uid.not_in(uids)).values(suspended=True))
        s.commit()
    study.store.dispose()


async def answer(pilot: Any, screen: Any, text: str) -> None:
    """Type an answer as the learner would: one key for yes/no and options, else text and Enter."""
    await pilot.press(*text)
    if screen.card.kind.value not in ONE_KEY:
        await pilot.press("enter")
