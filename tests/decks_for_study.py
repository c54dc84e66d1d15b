"""Two small decks and a Study on a fresh SQLite file, for the study-layer tests (queue, browser, stats)."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ALPHA = """
[deck]
id = "alpha"
title = "Alpha"

[[card]]
id = "detach.torch"
section = "autograd"
backend = "torch"
kind = "bool"
prompt = "Is y.requires_grad after detach?"
code = '''
x = torch.ones(2, requires_grad=True)
y = x.detach()
'''
answer = "y.requires_grad"
explain = "detach cuts the graph."
tags = ["interview"]

[[card]]
id = "detach.tensorflow"
section = "autograd"
backend = "tensorflow"
kind = "bool"
prompt = "Is y a tf.Variable after stop_gradient?"
code = '''
x = tf.Variable([1.0, 2.0])
y = tf.stop_gradient(x)
'''
answer = "isinstance(y, tf.Variable)"
explain = "stop_gradient returns a tensor."
tags = ["interview"]

[[card]]
id = "accumulate.torch"
section = "autograd"
backend = "torch"
kind = "value"
prompt = "What is x.grad after two backward calls?"
code = '''
x = torch.tensor(1.0, requires_grad=True)
(x * 3).backward()
(x * 3).backward()
'''
answer = "x.grad.item()"
explain = "Gradients accumulate."

[[card]]
id = "zeros.torch"
section = "autograd"
backend = "torch"
kind = "shape"
prompt = "Shape of the gradient?"
code = '''
x = torch.zeros(2, 3, requires_grad=True)
x.sum().backward()
'''
answer = "x.grad.shape"
explain = "Same shape as x."
"""

BETA = """
[deck]
id = "beta"
title = "Beta"

[[card]]
id = "mm.torch"
section = "matmul"
backend = "torch"
kind = "shape"
prompt = "Shape of a @ b?"
code = '''
a = torch.ones(2, 3)
b = torch.ones(3, 4)
y = a @ b
'''
answer = "y.shape"
explain = "Inner dimensions meet."
tags = ["interview"]

[[card]]
id = "bmm.torch"
section = "matmul"
backend = "torch"
kind = "shape"
prompt = "Shape of torch.bmm?"
code = '''
a = torch.ones(5, 2, 3)
b = torch.ones(5, 3, 4)
y = torch.bmm(a, b)
'''
answer = "y.shape"
explain = "Batch stays."
"""

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def write_decks(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "alpha.toml").write_text(textwrap.dedent(ALPHA).lstrip(), encoding="utf-8")
    (folder / "beta.toml").write_text(textwrap.dedent(BETA).lstrip(), encoding="utf-8")
    return folder


def make_study(tmp_path: Path, clock: Clock | None = None, **settings: Any) -> Any:
    """A real Study (library, SQLite store migrated to head, FSRS) without a runner: nothing here runs code."""
    from quiz.config import Settings
    from quiz.core.decks import load_library
    from quiz.session.study import Study
    from quiz.store.db import open_store

    library = load_library([write_decks(tmp_path / "decks")])
    assert not library.problems, library.problems
    s = replace(Settings(db_url=f"sqlite:///{tmp_path / 'q.db'}", device="cpu"), **settings)
    study = Study(
        settings=s,
        library=library,
        store=open_store(s.db_url, backup=False),
        runner=None,  # type: ignore[arg-type]
        clock=clock or Clock(),
    )
    study.sync()
    return study


def rate(study: Any, card: Any, rating: int, correct: bool | None = True) -> Any:
    """Answer `card` as the app records it (a real verdict, no run: these tests are about the schedule)."""
    from quiz.core.grading import Verdict
    from quiz.session.grading import Answered

    now = study.clock()
    variant = study.prepare(card, seed=1)
    verdict = Verdict(correct, "True", "True", card.backend.value, "cpu", "test", 0.5)
    answered = Answered(card, variant, "True", verdict, now - timedelta(seconds=3), now, 3000)
    return study.rate(answered, rating)
