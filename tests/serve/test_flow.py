"""A class on one server: a learner answers a card in their own app; the next, queued for the seat,
gets an app of their own that shows none of the first one's history. SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from quiz.store.models import Review
from tests.serve.conftest import PROMPT, Served

pytestmark = pytest.mark.torch


@pytest.fixture
def one_seat(serve_config: dict[str, Any]) -> None:
    serve_config["seats"] = 1


async def test_a_learner_answers_and_the_next_in_the_queue_sees_only_their_own(
    one_seat: None, served: Served
) -> None:
    async with await served.client("ada") as ada, await served.client("bob") as bob:
        tab = await served.tab(ada)
        screen = await tab.wait_for(lambda t: PROMPT.search(t) is not None)
        assert "Welcome!" in screen and "today 0" in screen  # ada's first time
        a, b = PROMPT.search(screen).groups()  # type: ignore[union-attr]
        await tab.keys(f"({a}, {b})")
        await tab.keys("\r")
        screen = await tab.wait_for(lambda t: "CORRECT" in t)
        assert f"truth     ({a}, {b})" in screen
        assert "✓ CORRECT" in screen
        await tab.keys("3")  # Good
        await tab.wait_for(lambda t: "Does the last line raise" in t and "today 1" in t)

        # The only seat is ada's: bob waits, and is told so.
        queued = await served.tab(bob)
        await queued.wait_for(lambda t: "Waiting for a free seat" in t and "you are next" in t)
        assert served.server.seats.waiting == 1
        await tab.ws.close()  # ada leaves: her seat passes to bob
        screen = await queued.wait_for(lambda t: PROMPT.search(t) is not None, timeout=120)
        assert "Welcome!" in screen and "today 0" in screen  # bob's own, empty history
        assert "Does the last line raise" not in screen  # the card ada is on
        await queued.ws.close()

    with served.store.session() as s:
        reviews = s.scalars(select(Review)).all()
    assert [(r.profile, r.card_uid, r.correct, r.rating) for r in reviews] == [
        ("ada", "tiny/expand-shape.torch", True, 3)
    ]
