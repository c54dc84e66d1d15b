"""`browser_query_ms_50k`: a card-browser search over 50,000 cards with review history (SQLite).

The collection is the store group's (benchmarks.store.build_collection: 70% studied, due from 30
days ago to 300 ahead), plus two reviews for every studied card, some suspended, buried and leech
cards, and a library of 50,000 cards to search. The figure is one search as the browser
screen does it: the library side matched in the prebuilt index, the state side in the states it
read when it opened (quiz.core.browse.BrowserState), then a page of 100 rows with their review
tallies from the database; p50 over a mix of searches (text, deck, tag, state, combinations).
Also: `browser_sql_query_ms_50k`, the same searches as `quiz cards` runs them (states in SQL, no
browser held open); `browser_open_ms_50k`, reading every card's state when the browser opens;
`browser_index_ms_50k`, building the index once per library; `browser_history_ms_50k`, one card's
review history.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.store import N_CARDS, build_collection
from benchmarks.util import median

OPS = ("expand", "permute", "view", "reshape", "matmul", "detach", "backward", "zeros", "stack", "cat")


def library_cards(uids: list[str], rng: random.Random) -> list[Any]:
    from quiz.core.cards import Backend, Card, Kind, Location
    from quiz.core.queue import CURRICULUM

    cards = []
    for i, uid in enumerate(uids):
        deck, card_id = uid.split("/")
        op = OPS[i % len(OPS)]
        cards.append(
            Card(
                deck_id=deck,
                id=card_id,
                section=CURRICULUM[i % len(CURRICULUM)],
                backend=Backend.TORCH,
                kind=Kind.SHAPE,
                prompt=f"`x` has shape `({i % 9 + 1}, 3)`. What is the shape after `{op}` number {i}?",
                code=f"x = torch.zeros({i % 9 + 1}, 3)\ny = x.{op}({rng.randint(1, 5)}, 3)",
                answer="y.shape",
                explain="Because.",
                family=card_id.removesuffix(".torch"),
                tags=("interview",) if i % 10 == 0 else (),
                location=Location(f"/decks/{deck}.toml", 10 * (i // 50) + 1),
            )
        )
    return cards


def add_history(url: str, uids: list[str], now: datetime, rng: random.Random) -> int:
    """Two reviews for every studied card; a few suspended, buried and leech cards."""
    import uuid

    from sqlalchemy import insert, select, update

    from quiz.store.db import open_store
    from quiz.store.models import CardState, Review

    store = open_store(url, backup=False)
    with store.session() as s:
        studied = list(s.scalars(select(CardState.card_uid).where(CardState.state == 2)))
        rows = []
        for uid in studied:
            for k in range(2):
                when = now - timedelta(days=rng.uniform(5, 300))
                rows.append(
                    {
                        "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
                        "profile": "default",
                        "card_uid": uid,
                        "seed": rng.randrange(2**31),
                        "variables": {"a": rng.randint(1, 9), "s": [2, 3]},
                        "answer_given": "(2, 3)",
                        "expected": "(2, 3)",
                        "correct": rng.random() < 0.8,
                        "error": None,
                        "rating": rng.choice((1, 3, 3, 3, 4)),
                        "backend": "torch",
                        "device": "cpu",
                        "framework_version": "2.13.0",
                        "response_ms": rng.randint(1000, 9000),
                        "run_ms": 0.4,
                        "shown_at": when,
                        "reviewed_at": when,
                        "state_after": {"state": 2},
                        "due_after": when + timedelta(days=3),
                        "state_before": {"state": 0 if k == 0 else 2},
                    }
                )
        s.execute(insert(Review), rows)
        for uid in rng.sample(uids, N_CARDS // 50):
            s.execute(
                update(CardState)
                .where(CardState.profile == "default", CardState.card_uid == uid)
                .values(suspended=True)
            )
        for uid in rng.sample(uids, N_CARDS // 100):
            s.execute(
                update(CardState)
                .where(CardState.profile == "default", CardState.card_uid == uid)
                .values(buried_until=now + timedelta(hours=6))
            )
        for uid in rng.sample(studied, N_CARDS // 100):
            s.execute(
                update(CardState)
                .where(CardState.profile == "default", CardState.card_uid == uid)
                .values(lapses=rng.randint(5, 9))
            )
        s.commit()
    store.dispose()
    return len(rows)


def run(args: Any) -> dict[str, Any]:
    from quiz.core.browse import CardIndex, CardQuery
    from quiz.store.browse import browse_page, card_history, open_browser, search_cards
    from quiz.store.db import open_store

    rng = random.Random(11)
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    tmp = Path(tempfile.mkdtemp(prefix="quiz-bench-browser-"))
    try:
        url = f"sqlite:///{tmp / 'bench.db'}"
        uids = build_collection(url, now, rng)
        add_history(url, uids, now, rng)
        cards = library_cards(uids, rng)
        t = time.perf_counter()
        index = CardIndex.build(cards)
        index_ms = (time.perf_counter() - t) * 1000
        queries = [
            CardQuery(),
            CardQuery(text="expand"),
            CardQuery(states=("due",)),
            CardQuery(decks=("deck7",), states=("review",)),
            CardQuery(tags=("interview",), states=("due",)),
            CardQuery(states=("suspended",)),
            CardQuery(text="permute 1234"),
            CardQuery(text="reshape", states=("leech",)),
            CardQuery(sections=("autograd",), backends=("torch",), kinds=("shape",)),
        ]
        store = open_store(url, backup=False)
        rounds = 5 if args.quick else 40
        opens = []
        for _ in range(3):
            t = time.perf_counter()
            with store.session() as s:
                browser = open_browser(s, "default", index, now=now)
            opens.append((time.perf_counter() - t) * 1000)

        def search(q: CardQuery) -> None:  # what the browser screen does per query
            with store.session() as s:
                browse_page(s, "default", browser, browser.search(q), limit=100)

        def sql_search(q: CardQuery) -> None:  # what `quiz cards` does (no browser held open)
            with store.session() as s:
                search_cards(s, "default", index, q, now=now, limit=100)

        samples: list[float] = []
        sql_samples: list[float] = []
        per_query: dict[str, list[float]] = {}
        for q in queries:  # warm up
            search(q)
            sql_search(q)
        for _ in range(rounds):
            for q in queries:
                t = time.perf_counter()
                search(q)
                ms = (time.perf_counter() - t) * 1000
                samples.append(ms)
                key = ",".join(f"{k}={v}" for k, v in q.to_dict().items() if v) or "all"
                per_query.setdefault(key, []).append(ms)
                t = time.perf_counter()
                sql_search(q)
                sql_samples.append((time.perf_counter() - t) * 1000)
        history = []
        for uid in rng.sample(uids, 10 if args.quick else 100):
            t = time.perf_counter()
            with store.session() as s:
                card_history(s, "default", uid)
            history.append((time.perf_counter() - t) * 1000)
        store.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "browser_query_ms_50k": median(samples),
        "browser_query_ms_50k_by_query": {k: median(v) for k, v in per_query.items()},
        "browser_sql_query_ms_50k": median(sql_samples),
        "browser_open_ms_50k": median(opens),
        "browser_index_ms_50k": round(index_ms, 1),
        "browser_history_ms_50k": median(history),
    }
