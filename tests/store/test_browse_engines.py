"""The new queries on both engines (SQLite and PostgreSQL): the review cap's count of review-card
answers (JSON in state_before), the browser's state search and operations, renumbering new cards,
burying siblings."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import update

from quiz.core.browse import STATES, CardIndex, CardQuery, filter_by_state
from quiz.core.cards import Backend, Kind
from quiz.core.scheduling import CardState as MemState
from quiz.core.scheduling import Memory
from quiz.store import browse, repo
from quiz.store.db import open_store
from quiz.store.models import CardState
from tests.classroom.pg import db_url  # noqa: F401  (fixture)
from tests.factories import card, review_input

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_queue_and_browser_queries(db_url: str) -> None:  # noqa: F811
    store = open_store(db_url, backup=False)
    rng = random.Random(9)
    cards = [
        card(Kind.SHAPE, deck_id="d", id=f"c{i}", family=f"f{i // 2}", backend=Backend.TORCH)
        for i in range(40)
    ]
    try:
        with store.session() as s:
            assert repo.sync_library(s, "ada", cards, now=NOW, order="random") == 40
            order = repo.upcoming(s, "ada", now=NOW).new
            assert sorted(order) == sorted(c.uid for c in cards) and order != [c.uid for c in cards]
            repo.sync_library(s, "ada", cards, now=NOW, order="by-topic")
            assert repo.upcoming(s, "ada", now=NOW).new == [c.uid for c in cards]
            review_card = Memory(
                state=MemState.REVIEW, stability=3.0, difficulty=5.0, due=NOW, last_review=NOW
            )
            day = NOW - timedelta(hours=2)
            repo.record_review(s, "ada", review_input("d/c0", when=NOW), review_card, review_card)
            repo.record_review(s, "ada", review_input("d/c1", when=NOW), Memory(), review_card)  # a new card
            repo.record_review(
                s, "ada", review_input("d/c2", when=NOW - timedelta(days=1)), review_card, review_card
            )
            assert repo.reviews_done_since(s, "ada", day) == 1
            assert repo.reviews_done_since(s, "bob", day) == 0
            buried = repo.bury_siblings(s, "ada", ["d/c1", "d/c3", "d/c4"], NOW + timedelta(hours=10))
            assert set(buried) == {"d/c1", "d/c3", "d/c4"}
            for c in cards[5:]:
                state = rng.choice([0, 1, 2, 3])
                s.execute(
                    update(CardState)
                    .where(CardState.profile == "ada", CardState.card_uid == c.uid)
                    .values(
                        state=state,
                        due=None if state == 0 else NOW + timedelta(hours=rng.uniform(-30, 30)),
                        lapses=rng.choice([0, 6]),
                        suspended=rng.random() < 0.3,
                        buried_until=rng.choice([None, NOW + timedelta(hours=2)]),
                    )
                )
            s.commit()
            index = CardIndex.build(cards)
            statuses = browse.statuses_of(s, "ada", [c.uid for c in cards])
            for st in STATES:
                found = browse.search_cards(s, "ada", index, CardQuery(states=(st,)), now=NOW, limit=5)
                expected = [c.uid for c in filter_by_state(cards, statuses, (st,), NOW)]
                assert found.uids == expected and len(found.rows) == min(5, len(expected)), st
            counts = browse.state_counts(s, "ada", now=NOW)
            assert counts == {st: sum(st in statuses[c.uid].labels(NOW) for c in cards) for st in STATES}
            uids = [c.uid for c in cards]
            assert browse.suspend_cards(s, "ada", uids, True) == 40 - counts["suspended"]
            assert browse.suspend_cards(s, "ada", uids, False) == 40
            assert browse.bury_cards(s, "ada", uids, None) == counts["buried"] + 0
            assert browse.reset_cards(s, "ada", ["d/c0", "d/c2"]) == 2
            assert len(browse.card_history(s, "ada", "d/c0")) == 1
            assert browse.statuses_of(s, "ada", ["d/c0"])["d/c0"].state == 0
    finally:
        store.dispose()


def test_siblings_helper_ignores_other_decks() -> None:
    from quiz.core.queue import siblings_to_bury

    a = SimpleNamespace(uid="d/x.torch", deck_id="d", family="x")
    others = [a, SimpleNamespace(uid="e/x.torch", deck_id="e", family="x")]
    assert siblings_to_bury(a, others) == []
