"""The next card, on both engines: due first, then new within today's limit, then learning ahead;
buried, suspended, other decks and unusable cards left out (one query since the class load work)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from quiz.store import repo
from quiz.store.db import Store, open_store
from quiz.store.models import CardState

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DAY_START = NOW - timedelta(hours=8)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url)
    with s.session() as session:
        repo.sync_cards(
            session,
            "ada",
            [("d1/a", "d1"), ("d1/b", "d1"), ("d1/c", "d1"), ("d1/l", "d1"), ("d2/x", "d2"), ("d2/y", "d2")],
        )
        repo.sync_cards(session, "bob", [("d1/a", "d1")])  # another learner's cards never show
        for uid, values in {
            "d1/a": {"state": 2, "due": NOW - timedelta(hours=2)},
            "d1/b": {"state": 2, "due": NOW - timedelta(hours=3), "buried_until": NOW + timedelta(hours=1)},
            "d1/l": {"state": 1, "due": NOW + timedelta(minutes=10), "introduced_at": NOW - timedelta(hours=1)},
            "d2/x": {"state": 2, "due": NOW - timedelta(hours=4), "suspended": True},
        }.items():
            set_state(session, "ada", uid, **values)
        set_state(session, "bob", "d1/a", state=2, due=NOW - timedelta(days=9))
    yield s
    s.dispose()


def set_state(session: Any, profile: str, uid: str, **values: Any) -> None:
    session.execute(
        update(CardState).where(CardState.profile == profile, CardState.card_uid == uid).values(**values)
    )
    session.commit()


def next_uid(store: Store, **kw: Any) -> str | None:
    with store.session() as s:
        return repo.next_card_uid(s, "ada", now=kw.pop("now", NOW), day_start=DAY_START, **kw)


def test_due_first_leaving_out_buried_suspended_and_other_learners(store: Store) -> None:
    assert next_uid(store, new_limit=10) == "d1/a"
    # Past its bury time a card is back, and it was due earlier.
    with store.session() as s:
        set_state(s, "ada", "d1/b", buried_until=NOW - timedelta(minutes=1))
    assert next_uid(store, new_limit=10) == "d1/b"


def test_new_cards_in_library_order_within_todays_limit_then_learning_ahead(store: Store) -> None:
    due = {"d1/a"}
    assert next_uid(store, new_limit=10, usable=lambda u: u not in due) == "d1/c"
    assert next_uid(store, new_limit=10, usable=lambda u: u not in due | {"d1/c"}) == "d2/y"
    # d1/l was introduced today: a limit of one new card a day is used up, so learning ahead comes next.
    assert next_uid(store, new_limit=1, usable=lambda u: u not in due) == "d1/l"
    # Beyond the learn-ahead window there is nothing to study now.
    assert next_uid(store, new_limit=1, usable=lambda u: u not in due, learn_ahead=timedelta(minutes=5)) is None
    # Once the learning card is due it comes before new cards.
    later = NOW + timedelta(minutes=11)
    assert next_uid(store, new_limit=10, usable=lambda u: u not in due, now=later) == "d1/l"


def test_chosen_decks_only(store: Store) -> None:
    assert next_uid(store, new_limit=10, deck_ids=["d2"]) == "d2/y"  # d2/x is suspended
    assert next_uid(store, new_limit=0, deck_ids=["d2"]) is None
    assert next_uid(store, new_limit=10, deck_ids=[]) is None
    assert next_uid(store, new_limit=10, deck_ids=["d1", "d2"]) == "d1/a"


def test_more_due_cards_than_one_batch_still_finds_a_usable_one(store: Store) -> None:
    with store.session() as s:
        cards = [(f"d3/{i:03d}", "d3") for i in range(60)]
        repo.sync_cards(s, "ada", cards)
        for i, (uid, _deck) in enumerate(cards):
            set_state(s, "ada", uid, state=2, due=NOW - timedelta(days=1, minutes=i))
    # The 60 d3 cards are the oldest due: the earliest first.
    assert next_uid(store, new_limit=10) == "d3/059"
    # The first batch (50) is all unusable: the queue reads on past it, so the usable due card
    # behind it comes before any new card.
    assert next_uid(store, new_limit=10, batch=50, usable=lambda u: not u.startswith("d3/")) == "d1/a"
