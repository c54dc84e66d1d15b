"""`pg_reviews_per_s_200` against `pgbench_tps_200`: 200 learners answering at once on one PostgreSQL server.

Runs scripts/load_test.py: 200 simulated learners (threads over a few
processes, one connection each) save answers through the app's own path
(`quiz.store.classroom.commit_review`) for a fixed time against a server on
127.0.0.1 — the server at QUIZ_BENCH_PG_URL, or a durable throwaway one it
starts (fsync on) — then counts: every review a learner was told is saved
must be stored exactly once. Then, in the same run on the same server,
PostgreSQL's own `pgbench` (tpcb-like, `-c 200 -j 2`, as long): what the
server does here, so `pg_of_pgbench_200` says how much of it quiz gets.
Client and server share this machine's cores, so the rate is a floor for a
real class (each learner on their own machine); `pg_load_1m` is the
machine's load average when the run started (other work on the same cores).
"""

from __future__ import annotations

import os
from typing import Any


def run(args: Any) -> dict[str, Any]:
    from load_test import run_load

    seconds = 5.0 if getattr(args, "quick", False) else 20.0
    load_1m = round(os.getloadavg()[0], 2)
    r = run_load(learners=200, seconds=seconds, pgbench=True)
    return {
        "pg_reviews_per_s_200": r["reviews_per_s"],
        "pgbench_tps_200": r["pgbench"]["tps"],
        "pg_of_pgbench_200": r["of_pgbench"],
        "pgbench_latency_ms_avg_200": r["pgbench"]["latency_ms_avg"],
        "pg_lost_reviews": r["lost"],
        "pg_duplicated_reviews": r["duplicated"],
        "pg_memory_mismatches_200": r["memory_mismatch"],
        "pg_commit_ms_p50_200": r["commit_ms_p50"],
        "pg_commit_ms_p95_200": r["commit_ms_p95"],
        "pg_failed_reviews_200": r["failed"],
        "pg_reviews_200": r["acknowledged"],
        "pg_load_1m": load_1m,
        # Where the time goes: CPU per review of the 200 learners' processes and of the server, and the
        # share of the machine's cores busy (with anything) during the run.
        "pg_client_cpu_ms_per_review_200": r["client_cpu_ms_per_review"],
        "pg_server_cpu_ms_per_review_200": r["server_cpu_ms_per_review"],
        "pg_machine_busy": r["machine_busy"],
    }
