#!/usr/bin/env python3
"""A class answering at once: N simulated learners on one PostgreSQL server, then a count check.

    .venv/bin/python scripts/load_test.py                       # 200 learners, 20 s, a server of its own
    .venv/bin/python scripts/load_test.py --url postgresql+psycopg://quiz@127.0.0.1:5432/postgres --seconds 60
    .venv/bin/python scripts/load_test.py --learners 24 --seconds 3 --json
    .venv/bin/python scripts/load_test.py --pgbench --json     # and PostgreSQL's own pgbench, same server

Each learner is what one learner's app does: its own connection (its own
Store), asking the queue for the next card and saving each answer with
`quiz.store.classroom.commit_review` (the app's path: UUID per review, row
lock on the card's memory, retries). Learners run as threads spread over a
few processes, all against the server on loopback, for a fixed time.
Now and then a learner sends the same review twice (as if the reply to its
commit was lost) and two devices of one learner answer the same card at
once. Afterwards every review a learner was told is saved must be in the
database exactly once, every card's memory must count exactly its reviews,
and nothing else may be there.

With --url the server is used as it is (a fresh database is made on it and
dropped afterwards unless --keep); without it a durable throwaway server is
started on 127.0.0.1 (scripts/pg_server.py) and stopped at the end. Only
loopback addresses are accepted.

With --pgbench the same server then runs PostgreSQL's own benchmark
(`pgbench`, the default tpcb-like transaction: three rows updated, one
inserted) with as many clients, `-j 2`, for as long, in a database of its
own: the yardstick for what this server does on this machine, so the quiz
figure can be read as a fraction of it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

CARDS = 40
SAME_CARD_PAIRS = 2  # per learner: two devices answer one card at the same moment


def _card_uids(cards: int) -> list[tuple[str, str]]:
    return [(f"class{i % 4}/card-{i}.torch", f"class{i % 4}") for i in range(cards)]


def _review_input(uid: str, deck: str, seed: int, rating: int, now: datetime, review_uuid: str) -> Any:
    from quiz.store import repo

    return repo.ReviewInput(
        card_uid=uid,
        deck_id=deck,
        seed=seed,
        variables={"a": seed % 7, "s": [2, 3]},
        answer_given="(2, 3)",
        expected="(2, 3)",
        correct=rating > 1,
        error=None,
        rating=rating,
        backend="torch",
        device="cpu",
        framework_version="2.13.0",
        response_ms=3000 + seed % 5000,
        run_ms=0.4,
        shown_at=now,
        reviewed_at=now,
        uuid=review_uuid,
    )


def learner(
    url: str,
    profile: str,
    clock: _Clock,
    seed: int,
    cards: int,
    out: dict[str, Any],
    ready: threading.Barrier,
) -> None:
    """One learner's app for the whole run; fills `out` with what it was told was saved."""
    from quiz.core.scheduling import make_scheduler, review
    from quiz.store import repo
    from quiz.store.classroom import commit_review
    from quiz.store.db import open_store

    rng = random.Random(seed)
    scheduler = make_scheduler()
    acknowledged: list[str] = []
    failed: list[str] = []
    latencies: list[float] = []
    resent = 0
    store = open_store(url, backup=False)
    deck_cards = _card_uids(cards)
    decks = dict(deck_cards)
    with store.session() as s:
        repo.sync_cards(s, profile, deck_cards)
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    ready.wait()  # connected and synced: the clock starts when the whole class is
    clock.go.wait()
    deadline = clock.deadline

    def answer(uid: str, review_uuid: str) -> bool:
        rating = rng.choice((1, 3, 3, 3, 4))
        item = _review_input(uid, decks[uid], rng.randrange(2**31), rating, now, review_uuid)
        started = time.perf_counter()
        try:
            _id, _after, inserted = commit_review(
                store, profile, item, lambda before: review(before, rating, now, scheduler)
            )
        except Exception as exc:  # the app would show the error and keep the answer to resend
            failed.append(review_uuid)
            out.setdefault("errors", []).append(f"{type(exc).__name__}: {exc}"[:300])
            return False
        latencies.append((time.perf_counter() - started) * 1000)
        return inserted

    pairs_left = SAME_CARD_PAIRS
    while time.time() < deadline:
        try:
            with store.session() as s:
                uid = repo.next_card_uid(
                    s, profile, now=now, new_limit=cards, day_start=now - timedelta(hours=5)
                )
        except Exception as exc:  # the app shows the error; the learner tries again
            out.setdefault("errors", []).append(f"next card: {type(exc).__name__}: {exc}"[:300])
            time.sleep(0.1)
            continue
        uid = uid or rng.choice(deck_cards)[0]
        review_uuid = str(uuid.uuid4())
        if pairs_left and rng.random() < 0.05:
            # Two devices of this learner answer the same card at once: two reviews, both kept,
            # and the card's memory must count both.
            pairs_left -= 1
            other = str(uuid.uuid4())
            t = threading.Thread(target=answer, args=(uid, other))
            t.start()
            answer(uid, review_uuid)
            t.join()
            for u in (review_uuid, other):
                if u not in failed:
                    acknowledged.append(u)
        elif answer(uid, review_uuid):
            acknowledged.append(review_uuid)
            if rng.random() < 0.03:  # the reply was "lost": the app sends the same review again
                resent += 1
                if answer(uid, review_uuid):
                    out.setdefault("errors", []).append(f"resent review {review_uuid} was inserted twice")
        now += timedelta(minutes=rng.randint(1, 30))  # each learner's own clock moves through days
    out.update(
        acknowledged=acknowledged, failed=failed, latencies=latencies, resent=resent, finished=time.time()
    )
    store.dispose()


class _Clock:
    """When the learners of one process start and stop (set once all of them are ready)."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.deadline = 0.0


def run_process(
    url: str, profiles: list[str], seconds: float, seed: int, cards: int, ready: Any, go: Any, results: Any
) -> None:
    """A process of learner threads (module level: spawned processes import it)."""
    clock = _Clock()
    outs: list[dict[str, Any]] = [{} for _ in profiles]
    barrier = threading.Barrier(len(profiles) + 1)
    threads = [
        threading.Thread(
            target=learner, args=(url, p, clock, seed * 1000 + i, cards, outs[i], barrier), daemon=True
        )
        for i, p in enumerate(profiles)
    ]
    for t in threads:
        t.start()
    barrier.wait(timeout=300)
    ready.put(os.getpid())
    go.wait()
    started = time.time()
    cpu_before = time.process_time()
    clock.deadline = started + seconds
    clock.go.set()
    for t in threads:
        t.join(timeout=seconds + 120)
    merged: dict[str, Any] = {
        "acknowledged": [],
        "failed": [],
        "latencies": [],
        "resent": 0,
        "errors": [],
        "started": started,
        "finished": started,
        "cpu_s": time.process_time() - cpu_before,  # this process's learners, all threads
    }
    for profile, out in zip(profiles, outs):
        if "acknowledged" not in out:
            merged["errors"].append(f"learner {profile} did not finish: {out.get('errors', ['?'])[:1]}")
            continue
        for key in ("acknowledged", "failed", "latencies"):
            merged[key] += out[key]
        merged["resent"] += out["resent"]
        merged["errors"] += out.get("errors", [])
        merged["finished"] = max(merged["finished"], out["finished"])
    results.put(merged)


def count_check(url: str, acknowledged: list[str], failed: list[str]) -> dict[str, int]:
    """Every acknowledged review exactly once, nothing unknown, every memory counting its reviews."""
    from sqlalchemy import func, select

    from quiz.store.db import open_store
    from quiz.store.models import CardState, Review

    store = open_store(url, backup=False)
    with store.session() as s:
        stored = [r for (r,) in s.execute(select(Review.uuid))]
        per_card = dict(
            ((p, c), n)
            for p, c, n in s.execute(
                select(Review.profile, Review.card_uid, func.count()).group_by(
                    Review.profile, Review.card_uid
                )
            )
        )
        reps = {
            (p, c): n for p, c, n in s.execute(select(CardState.profile, CardState.card_uid, CardState.reps))
        }
    store.dispose()
    counts: dict[str, int] = {}
    for u in stored:
        counts[u] = counts.get(u, 0) + 1
    ack = set(acknowledged)
    lost = sum(1 for u in ack if u not in counts)
    duplicated = sum(n - 1 for n in counts.values() if n > 1)
    unknown = sum(1 for u in counts if u not in ack and u not in set(failed))
    memory_mismatch = sum(1 for key, n in per_card.items() if reps.get(key) != n)
    return {
        "stored": len(stored),
        "lost": lost,
        "duplicated": duplicated,
        "unknown": unknown,
        "memory_mismatch": memory_mismatch,
    }


def _cpu_ticks(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes have used so far; gone ones count 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _server_pids(server_dir: Path | None) -> list[int]:
    """The server's processes (postmaster and its children), when this script started it."""
    if server_dir is None:
        return []
    try:
        postmaster = int((server_dir / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    pids = [postmaster]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    pids.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return pids


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine so far, from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return float(sum(values) - idle), float(sum(values))


def create_database(base: str) -> str:
    """A fresh database on the server at `base`; returns its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"quiz_load_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def drop_database(base: str, url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def run_pgbench(url: str, *, clients: int, seconds: float, threads: int = 2, scale: int = 1) -> dict[str, Any]:
    """PostgreSQL's own tpcb-like benchmark on the server at `url`, in a database made for it and dropped.

    `pgbench -i -s scale` then `pgbench -c clients -j threads -T seconds`;
    returns tps (without the initial connection time) and average latency.
    """
    import re
    import subprocess

    import pg_server
    from sqlalchemy.engine import make_url

    db = create_database(url)
    u = make_url(db)
    conn = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "pgbench"}
    pgbench = pg_server.pg_bin("pgbench")
    try:
        subprocess.run(
            [pgbench, "-i", "-q", "-s", str(scale), *conn, u.database or "postgres"],
            check=True,
            capture_output=True,
            env=env,
            timeout=600,
        )
        out = subprocess.run(
            [
                pgbench,
                *conn,
                "-c",
                str(clients),
                "-j",
                str(threads),
                "-T",
                str(max(1, round(seconds))),
                u.database or "postgres",
            ],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            timeout=seconds + 600,
        ).stdout
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"load_test: pgbench failed: {(exc.stderr or b'')!s:.500}") from None
    finally:
        drop_database(url, db)
    tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", out, re.M)
    latency = re.search(r"^latency average = ([0-9.]+) ms", out, re.M)
    done = re.search(r"^number of transactions actually processed: (\d+)", out, re.M)
    failed = re.search(r"^number of failed transactions: (\d+)", out, re.M)
    if tps is None:
        raise SystemExit(f"load_test: cannot read pgbench's output:\n{out[-1000:]}")
    return {
        "tps": round(float(tps.group(1)), 1),
        "latency_ms_avg": round(float(latency.group(1)), 2) if latency else None,
        "transactions": int(done.group(1)) if done else None,
        "failed": int(failed.group(1)) if failed else 0,
        "clients": clients,
        "threads": threads,
        "scale": scale,
        "seconds": max(1, round(seconds)),
    }


def _loopback_only(url: str) -> None:
    from sqlalchemy.engine import make_url

    host = make_url(url).host or "localhost"
    if not (host in ("localhost", "::1") or host.startswith("127.") or host.startswith("/")):
        raise SystemExit(
            f"load_test: {host} is not a loopback address; the load test only targets this machine"
        )


def run_load(
    url: str | None = None,
    *,
    learners: int = 200,
    seconds: float = 20.0,
    processes: int | None = None,
    cards: int = CARDS,
    keep: bool = False,
    progress: bool = False,
    pgbench: bool = False,
) -> dict[str, Any]:
    """Run the load and the count check; returns the figures (see main for their names).

    `pgbench`: then run PostgreSQL's pgbench on the same server with as many
    clients for as long (its figures under "pgbench").
    """
    server_dir = None
    if url is None:
        url = os.environ.get("QUIZ_BENCH_PG_URL")
    if url is None:
        import pg_server

        server_dir = Path(tempfile.mkdtemp(prefix="quiz-load-pg-"))
        url, _port = pg_server.start(server_dir, port=None, fast=False, max_connections=2 * learners + 50)
    _loopback_only(url)
    from quiz.store.db import open_store

    db = create_database(url)
    try:
        open_store(db, backup=False).dispose()  # migrate once, before the class arrives
        processes = processes or max(1, min(4, os.cpu_count() or 1))
        profiles = [f"learner{i:03d}" for i in range(learners)]
        groups = [profiles[i::processes] for i in range(processes)]
        ctx = multiprocessing.get_context("spawn")
        if progress:
            print(f"[load] {learners} learners in {processes} processes for {seconds:g} s…", file=sys.stderr)
        ready, go, out = ctx.Queue(), ctx.Event(), ctx.Queue()
        groups = [g for g in groups if g]
        procs = [
            ctx.Process(target=run_process, args=(db, g, seconds, i, cards, ready, go, out), daemon=True)
            for i, g in enumerate(groups)
        ]
        for p in procs:
            p.start()
        for _ in procs:  # everyone connected and synced: the clock starts for the whole class at once
            ready.get(timeout=600)
        server = _server_pids(server_dir)
        server_cpu, machine = _cpu_ticks(server), _machine_busy()
        go.set()
        time.sleep(seconds)  # sample the server while the class is still connected
        server = _server_pids(server_dir) or server
        server_cpu = _cpu_ticks(server) - server_cpu
        machine = tuple(b - a for a, b in zip(machine, _machine_busy()))
        results = [out.get(timeout=seconds + 300) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        elapsed = max(r["finished"] for r in results) - min(r["started"] for r in results)
        acknowledged = [u for r in results for u in r["acknowledged"]]
        failed = [u for r in results for u in r["failed"]]
        latencies = [x for r in results for x in r["latencies"]]
        errors = [e for r in results for e in r["errors"]]
        check = count_check(db, acknowledged, failed)
        bench = None
        if pgbench:
            if progress:
                print(f"[load] pgbench: {learners} clients, -j 2, {seconds:g} s…", file=sys.stderr)
            bench = run_pgbench(url, clients=learners, seconds=seconds)
    finally:
        if not keep:
            drop_database(url, db)
        if server_dir is not None:
            import shutil

            import pg_server

            pg_server.stop(server_dir)
            shutil.rmtree(server_dir, ignore_errors=True)
    latencies.sort()
    result: dict[str, Any] = {
        "learners": learners,
        "seconds": round(elapsed, 1),
        "acknowledged": len(acknowledged),
        "failed": len(failed),
        "resent": sum(r["resent"] for r in results),
        "reviews_per_s": round(len(acknowledged) / max(elapsed, 1e-9), 1),
        "commit_ms_p50": round(statistics.median(latencies), 2) if latencies else None,
        "commit_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 2) if latencies else None,
        **check,
        # Where the time goes: CPU per acknowledged review of the learners' processes and of
        # the server (when this script started it; None otherwise), and how busy the whole
        # machine was meanwhile (1.0: every core, whoever used it).
        "client_cpu_ms_per_review": round(
            1000 * sum(r["cpu_s"] for r in results) / max(len(acknowledged), 1), 2
        ),
        "server_cpu_ms_per_review": round(1000 * server_cpu / max(len(acknowledged), 1), 2) if server else None,
        "machine_busy": round(machine[0] / machine[1], 2) if machine[1] else None,
        "errors": errors[:10],
        "database": db if keep else None,
    }
    if bench is not None:
        result["pgbench"] = bench
        result["of_pgbench"] = round(result["reviews_per_s"] / bench["tps"], 3) if bench["tps"] else None
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url", help="a PostgreSQL server on loopback (default: QUIZ_BENCH_PG_URL, else start one)"
    )
    parser.add_argument("--learners", type=int, default=200, help="simulated learners (default 200)")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long they answer (default 20)")
    parser.add_argument("--processes", type=int, help="processes the learners' threads are spread over")
    parser.add_argument("--cards", type=int, default=CARDS, help=f"cards per learner (default {CARDS})")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--pgbench", action="store_true", help="then run pgbench (tpcb-like) on the same server, as many clients"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run_load(
        args.url,
        learners=args.learners,
        seconds=args.seconds,
        processes=args.processes,
        cards=args.cards,
        keep=args.keep,
        progress=not args.json,
        pgbench=args.pgbench,
    )
    ok = (
        result["lost"] == 0
        and result["duplicated"] == 0
        and result["unknown"] == 0
        and result["memory_mismatch"] == 0
    )
    if args.json:
        print(json.dumps({**result, "ok": ok}, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:16s} {value}")
        print("count check:", "every acknowledged review is stored exactly once" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
