"""An added deck waits for trust: the app shows all the code it would run, and runs none of it until trusted."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from quiz.config import load_settings
from quiz.store.trust import write_into_library
from quiz.tui.app import QuizApp
from quiz.tui.screens.trust import TrustScreen
from tests.tui.conftest import busy, settled, wait_for

pytestmark = pytest.mark.torch

ADDED = """
[deck]
id = "shared"
title = "A deck from a colleague"

[[card]]
id = "sum.torch"
section = "reductions"
backend = "torch"
kind = "value"
prompt = "What is `y`?"
code = "y = int(torch.arange(${n}).sum())"
answer = "y"
explain = "0 + 1 + ... + (n - 1)."
vars.n = { int = [2, 9] }
"""


@pytest.mark.parametrize("choice", ["t", "escape"])
async def test_an_added_deck_is_offered_for_trust(small_library: Path, tmp_path: Path, choice: str) -> None:
    write_into_library(textwrap.dedent(ADDED).lstrip().encode(), "shared")
    app = QuizApp(load_settings(db_url=f"sqlite:///{tmp_path / 'q.db'}", device="cpu"))
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, TrustScreen))
        shown = app.screen
        assert isinstance(shown, TrustScreen)
        assert shown.request.deck_id == "shared" and not shown.request.changed
        assert [cid for cid, _ in shown.request.listing] == ["sum.torch"]
        assert "torch.arange(${n}).sum()" in shown.request.listing[0][1]
        assert "shared/sum.torch" not in app.study.cards  # type: ignore[union-attr]  # nothing runs before

        await pilot.press(choice)
        if choice == "t":
            await wait_for(pilot, lambda: app.study is not None and "shared/sum.torch" in app.study.cards)
        else:
            # The app says what became of the deck as it takes the answer; a deck it trusted would be
            # pinned and the library loaded again in threads: wait for those to be done too.
            def told() -> list[str]:
                return [n.message for n in app._notifications if "'shared'" in n.message]

            await wait_for(pilot, told, what="the app to say what became of deck 'shared'")
            assert "stays out until you trust it" in told()[0], told()
            await settled(pilot, app, "trust-pin", "load")
            assert "shared/sum.torch" not in app.study.cards  # type: ignore[union-attr]
        assert not isinstance(app.screen, TrustScreen)


async def test_a_trusted_deck_whose_code_changed_is_asked_about_again(
    small_library: Path, tmp_path: Path
) -> None:
    from quiz.store.db import open_store
    from quiz.store.trust import trust

    url = f"sqlite:///{tmp_path / 'q.db'}"
    data = textwrap.dedent(ADDED).lstrip().encode()
    path = write_into_library(data, "shared")
    store = open_store(url)
    trust(store, "default", path, "shared", data, origin="a colleague")
    store.dispose()

    app = QuizApp(load_settings(db_url=url, device="cpu"))
    async with app.run_test(size=(100, 32)) as pilot:
        # The trust check starts once the study has loaded, in a thread; a deck to ask about is on
        # screen by the time that thread is done.
        await wait_for(pilot, lambda: app.trust_checked and not busy(app, "trust"), what="the trust check")
        assert not isinstance(app.screen, TrustScreen)  # trusted: nothing to ask
        assert "shared/sum.torch" in app.study.cards  # type: ignore[union-attr]

    changed = data.replace(b"torch.arange(${n}).sum()", b"torch.arange(${n}).sum() + 1")
    write_into_library(changed, "shared")
    app = QuizApp(load_settings(db_url=url, device="cpu"))
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, TrustScreen))
        assert app.screen.request.changed  # type: ignore[attr-defined]
        assert "+ 1" in app.screen.request.listing[0][1]  # type: ignore[attr-defined]
        assert "shared/sum.torch" not in app.study.cards  # type: ignore[union-attr]
