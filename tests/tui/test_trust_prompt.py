"""An added deck waits for trust: the app shows all the code it would run, and runs none of it until trusted."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from quiz.config import load_settings
from quiz.library import write_into_library
from quiz.tui.app import QuizApp
from quiz.tui.screens.trust import TrustScreen
from tests.tui.conftest import busy, settled, wait_for

# The apps run on the session's warm runner (`runner=`): what is tested is which decks they load and
# offer, not where the workers come from (tests/tui/test_kill_after_rating.py's app makes its own).
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
async def test_an_added_deck_is_offered_for_trust(
    small_library: Path, tmp_path: Path, choice: str, runner: Any
) -> None:
    write_into_library(textwrap.dedent(ADDED).lstrip().encode(), "shared")
    app = QuizApp(load_settings(db_url=f"sqlite:///{tmp_path / 'q.db'}", device="cpu"), runner=runner)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, TrustScreen))
        shown = app.screen
        assert isinstance(shown, TrustScreen)
        assert shown.request.deck_id == "shared" and not shown.request.changed
        review = shown.request.review
        assert [c.card_id for c in review.cards] == ["sum.torch"]
        listed = {f.name: f.text for f in review.cards[0].fields}
        assert "torch.arange(${n}).sum()" in listed["code"] and listed["variables"] == "n = { int = [2, 9] }"
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
    small_library: Path, tmp_path: Path, runner: Any
) -> None:
    from quiz.library import trust
    from quiz.store.db import open_store

    url = f"sqlite:///{tmp_path / 'q.db'}"
    data = textwrap.dedent(ADDED).lstrip().encode()
    path = write_into_library(data, "shared")
    store = open_store(url)
    trust(store, "default", path, "shared", data, origin="a colleague")
    store.dispose()

    app = QuizApp(load_settings(db_url=url, device="cpu"), runner=runner)
    async with app.run_test(size=(100, 32)) as pilot:
        # The trust check starts once the study has loaded, in a thread; a deck to ask about is on
        # screen by the time that thread is done.
        await wait_for(pilot, lambda: app.trust_checked and not busy(app, "trust"), what="the trust check")
        assert not isinstance(app.screen, TrustScreen)  # trusted: nothing to ask
        assert "shared/sum.torch" in app.study.cards  # type: ignore[union-attr]

    changed = data.replace(b"torch.arange(${n}).sum()", b"torch.arange(${n}).sum() + 1")
    write_into_library(changed, "shared")
    app = QuizApp(load_settings(db_url=url, device="cpu"), runner=runner)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, TrustScreen))
        request = app.screen.request  # type: ignore[attr-defined]
        assert request.changed and request.review.against_trusted
        (code,) = [f for f in request.review.cards[0].fields if f.name == "code"]
        assert code.changed and "+y = int(torch.arange(${n}).sum() + 1)" in code.diff()
        assert "shared/sum.torch" not in app.study.cards  # type: ignore[union-attr]


async def test_start_up_opens_the_database_once_and_never_offers_a_deck_with_control_characters(
    small_library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: Any
) -> None:
    """Before: the library, the study and the trust check opened the store up to four times."""
    import quiz.store.db as db
    from quiz.library import trust

    url = f"sqlite:///{tmp_path / 'q.db'}"
    data = textwrap.dedent(ADDED).lstrip().encode()
    trusted = data.replace(b'id = "shared"', b'id = "old"')
    store = db.open_store(url)
    trust(store, "default", write_into_library(trusted, "old"), "old", trusted, origin=None)
    store.dispose()
    write_into_library(data, "shared")  # waits for trust
    hidden = data.replace(b'id = "shared"', b'id = "hidden"').replace(b'sum())"', b'sum())  # \\u001b[2K"')
    write_into_library(hidden, "hidden")

    opened: list[str] = []
    real_open = db.open_store

    def counting_open(url: str, **kw: object) -> db.Store:
        opened.append(url)
        return real_open(url, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(db, "open_store", counting_open)
    app = QuizApp(load_settings(db_url=url, device="cpu"), runner=runner)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, TrustScreen))
        assert app.screen.request.deck_id == "shared"  # type: ignore[attr-defined]
        assert "old/sum.torch" in app.study.cards  # type: ignore[union-attr]
        await pilot.press("t")
        await wait_for(pilot, lambda: app.study is not None and "shared/sum.torch" in app.study.cards)
        assert not isinstance(app.screen, TrustScreen)  # the deck with an escape sequence is never offered
        assert "hidden/sum.torch" not in app.study.cards  # type: ignore[union-attr]
        assert any("U+001B (ESC)" in str(p) for p in app.study.library.problems)  # type: ignore[union-attr]
    assert opened == [url]
