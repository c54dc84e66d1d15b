"""`due_query_ms_50k` and `answer_commit_ms_50k` on a 50,000-card SQLite collection.

due_query: fetch the next card to study (due first, then new) as the app does.
answer_commit: what rating an answer costs, without the runner, through the same
exactly-once path the app uses: take the write lock, read the card's memory, FSRS
review, insert the review row, update the card, commit.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.util import median

N_CARDS = 50_000


def build_collection(url: str, now: datetime, rng: random.Random) -> list[str]:
    from sqlalchemy import update

    from quiz.store import repo
    from quiz.store.db import open_store
    from quiz.store.models import CardState

    store = open_store(url)
    uids = [f"deck{i % 50}/card-{i}.torch" for i in range(N_CARDS)]
    with store.session() as s:
        repo.sync_cards(s, "default", [(u, u.split("/")[0]) for u in uids])
        # 70% already studied, due anywhere from 30 days ago to 300 days ahead.
        rows = []
        for uid in uids:
            if rng.random() < 0.7:
                due = now + timedelta(days=rng.uniform(-30, 300))
                rows.append(
                    {
                        "uid": uid,
                        "state": 2,
                        "stability": rng.uniform(1, 200),
                        "difficulty": rng.uniform(1, 10),
                        "due": due,
                        "last_review": due - timedelta(days=5),
                    }
                )
        from sqlalchemy import bindparam

        s.connection().execute(
            update(CardState)
            # The profile too, so each row is found through the (profile, card_uid) index, not a scan.
            .where(CardState.profile == "default", CardState.card_uid == bindparam("uid"))
            .values(
                state=bindparam("state"),
                stability=bindparam("stability"),
                difficulty=bindparam("difficulty"),
                due=bindparam("due"),
                last_review=bindparam("last_review"),
            ),
            rows,
        )
        s.commit()
    store.dispose()
    return uids


def run(args: Any) -> dict[str, Any]:
    from quiz.core.scheduling import make_scheduler, review
    from quiz.store import repo
    from quiz.store.classroom import commit_review
    from quiz.store.db import open_store

    rng = random.Random(7)
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    tmp = Path(tempfile.mkdtemp(prefix="quiz-bench-store-"))
    try:
        url = f"sqlite:///{tmp / 'bench.db'}"
        uids = build_collection(url, now, rng)
        store = open_store(url)
        day_start = now - timedelta(hours=8)
        n = 30 if args.quick else 300

        def due_query() -> None:
            with store.session() as s:
                repo.next_card_uid(s, "default", now=now, new_limit=20, day_start=day_start)

        for _ in range(5):
            due_query()
        q = []
        for _ in range(n):
            t = time.perf_counter()
            due_query()
            q.append((time.perf_counter() - t) * 1000)

        scheduler = make_scheduler()
        commits = []
        for i in range(n + 5):
            uid = rng.choice(uids)
            rating = rng.choice((1, 2, 3, 4))
            t = time.perf_counter()
            # What rating an answer costs in the app (quiz.session.study.Study.rate): the
            # exactly-once commit path, FSRS update included.
            commit_review(
                store,
                "default",
                repo.ReviewInput(
                    card_uid=uid,
                    deck_id=uid.split("/")[0],
                    seed=i,
                    variables={"a": 2, "s": [2, 3]},
                    answer_given="(2, 3)",
                    expected="(2, 3)",
                    correct=True,
                    error=None,
                    rating=rating,
                    backend="torch",
                    device="cpu",
                    framework_version="2.13.0",
                    response_ms=4200,
                    run_ms=0.4,
                    shown_at=now,
                    reviewed_at=now,
                ),
                lambda before, rating=rating: review(before, rating, now, scheduler),  # type: ignore[misc]
            )
            if i >= 5:
                commits.append((time.perf_counter() - t) * 1000)
        store.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "due_query_ms_50k": median(q),
        "answer_commit_ms_50k": median(commits),
    }
