"""`pg_reviews_per_s_200` and `pg_lost_reviews`: 200 learners answering at once on one PostgreSQL server.

Runs scripts/load_test.py: 200 simulated learners (threads over a few
processes, one connection each) save answers through the app's own path
(`quiz.store.classroom.commit_review`) for a fixed time against a server on
127.0.0.1 — the server at QUIZ_BENCH_PG_URL, or a durable throwaway one it
starts (fsync on) — then counts: every review a learner was told is saved
must be stored exactly once. Client and server share this machine's cores,
so the rate is a floor for a real class (each learner on their own machine).
"""

from __future__ import annotations

from typing import Any


def run(args: Any) -> dict[str, Any]:
    from load_test import run_load

    seconds = 5.0 if getattr(args, "quick", False) else 20.0
    r = run_load(learners=200, seconds=seconds)
    return {
        "pg_reviews_per_s_200": r["reviews_per_s"],
        "pg_lost_reviews": r["lost"],
        "pg_duplicated_reviews": r["duplicated"],
        "pg_memory_mismatches_200": r["memory_mismatch"],
        "pg_commit_ms_p50_200": r["commit_ms_p50"],
        "pg_commit_ms_p95_200": r["commit_ms_p95"],
        "pg_failed_reviews_200": r["failed"],
        "pg_reviews_200": r["acknowledged"],
    }
