"""Helpers for runner tests: cards from a few lines of code, runners per isolation mode."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from quiz.core.cards import Card
from quiz.core.decks import load_deck
from quiz.core.variables import Variant, draw_variant
from quiz.runner.backends import backend_info
from quiz.runner.client import Runner
from quiz.runner.config import WorkerConfig
from quiz.runner.isolation import sandbox_for
from quiz.runner.limits import Limits
from tests.ci import unavailable

MakeCard = Callable[..., tuple[Card, Variant]]


def _toml_str(text: str) -> str:
    assert "'''" not in text
    return "'''\n" + text + "\n'''"


@pytest.fixture
def make_card(write_deck: Callable[..., Path]) -> MakeCard:
    """`make_card(code, answer, kind="value", backend="torch", **fields)` → (card, variant for seed 1)."""
    counter = iter(range(10_000))

    def make(
        code: str, answer: str | None = "None", *, kind: str = "value", backend: str = "torch", **fields: Any
    ) -> tuple[Card, Variant]:
        n = next(counter)
        lines = [
            "[deck]",
            f'id = "t{n}"',
            'title = "test"',
            "[[card]]",
            f'id = "c{n}"',
            'section = "s"',
            f'backend = "{backend}"',
            f'kind = "{kind}"',
            'prompt = "?"',
            f"code = {_toml_str(textwrap.dedent(code).strip())}",
            'explain = "."',
        ]
        if answer is not None and kind != "raises":
            lines.append(f"answer = {_toml_str(answer)}")
        for key, value in fields.items():
            lines.append(f"{key} = {value}")
        path = write_deck("\n".join(lines) + "\n", name=f"deck{n}.toml")
        deck, problems = load_deck(path)
        assert deck is not None and not problems, problems
        card = deck.cards[0]
        return card, draw_variant(card, 1)

    return make


def expected_device(runner: Runner, backend: str) -> str:
    """Where the session runner (QUIZ_TEST_DEVICE) runs `backend`'s cards; skips if that is impossible here."""
    devices = (runner.info(backend) or {}).get("devices", [])
    if runner.device == "gpu" and "gpu" not in devices:
        pytest.skip(f"{backend} sees no GPU here")
    return "gpu" if runner.device in ("gpu", "auto") and "gpu" in devices else "cpu"


def bwrap_usable() -> bool:
    return sandbox_for("bwrap").mode == "bwrap"


def require_bwrap() -> None:
    """The bubblewrap half of a test: skipped with the reason where bubblewrap cannot run, failed in CI."""
    sandbox = sandbox_for("bwrap")
    if sandbox.mode != "bwrap":
        unavailable(f"bubblewrap cannot run here, so the sandbox is untested: {sandbox.reason}")


# The framework cheapest to start (MXNet: ~2.5 s of CPU to a warm worker; torch ~6.4, TensorFlow ~8),
# for tests whose point is starting, stopping or replacing workers and whose backend is incidental.
# Where MXNet is not installed they run on torch, so they never skip for want of it.
CHEAP_BACKEND = "mxnet" if backend_info("mxnet").installed else "torch"
# A card for it whose truth is 3.0, and a card summing arange(n), for each backend it may be.
CHEAP_ONES = {"mxnet": ("x = nd.ones((3,))", "x.sum().asscalar()"), "torch": ("x = torch.ones(3)", "x.sum()")}
CHEAP_ARANGE = {
    "mxnet": ("x = nd.arange({n})", "x.sum().asscalar()"),
    "torch": ("x = torch.arange({n})", "x.sum()"),
}


HOSTILE_LIMITS = Limits(memory_mb=512, file_size_mb=16, processes=64)
MODES = ["bwrap", "rlimits"]


@pytest.fixture(scope="module", params=MODES)
def hostile_runner(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runner]:
    """A runner per isolation mode with small limits, shared by a module's hostile tests."""
    if request.param == "bwrap":
        require_bwrap()
    log_dir = tmp_path_factory.mktemp("worker-logs")
    r = Runner(WorkerConfig(isolation=request.param, limits=HOSTILE_LIMITS, log_dir=log_dir), device="cpu")
    yield r
    r.close()
