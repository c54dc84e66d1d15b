"""Many learners answering at once never lose or duplicate a review (real SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from quiz.core.scheduling import Memory, make_scheduler, review
from quiz.store import repo
from quiz.store.classroom import commit_review
from quiz.store.db import open_store
from quiz.store.models import Review
from tests.factories import review_input

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def item(uid: str = "d/a", review_uuid: str | None = None, rating: int = 3) -> repo.ReviewInput:
    return review_input(uid, when=NOW, rating=rating, deck_id="d", uuid=review_uuid)


def good(before: Memory) -> Memory:
    return review(before, 3, NOW, make_scheduler())


def test_a_resent_review_is_stored_once(db_url: str) -> None:
    store = open_store(db_url)
    try:
        u = str(uuid.uuid4())
        first = commit_review(store, "ada", item(review_uuid=u), good)
        again = commit_review(store, "ada", item(review_uuid=u), good)
        assert first[2] is True and again[2] is False
        assert again[0] == first[0] and again[1].reps == first[1].reps == 1
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(Review)) == 1
            assert repo.memory_of(s, "ada", "d/a").reps == 1
    finally:
        store.dispose()


def test_threads_answering_one_card_keep_every_review_and_memory(db_url: str) -> None:
    """Eight devices of one learner rate the same card at once: 40 reviews, and the memory counts 40."""
    store = open_store(db_url)
    errors: list[BaseException] = []
    gate = threading.Barrier(8)

    def device() -> None:
        gate.wait()
        try:
            for _ in range(5):
                commit_review(store, "ada", item(), good)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=device) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(Review)) == 40
            assert repo.memory_of(s, "ada", "d/a").reps == 40
            reps_after = sorted(r["reps"] for r in s.scalars(select(Review.state_after)))
        assert reps_after == list(range(1, 41))  # each review built on the one before it
    finally:
        store.dispose()


def test_a_connection_killed_mid_commit_is_retried_without_a_duplicate(pg_url: str) -> None:
    """The server drops the learner's connection inside the transaction; the review still lands once."""
    store = open_store(pg_url)
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    calls = 0

    def schedule_and_cut(before: Memory) -> Memory:
        nonlocal calls
        calls += 1
        if calls == 1:
            with admin.connect() as conn:
                killed = conn.execute(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar()
            assert killed and killed >= 1
        return good(before)

    try:
        _id, after, inserted = commit_review(store, "ada", item(), schedule_and_cut, sleep=lambda _s: None)
        assert calls == 2 and inserted and after.reps == 1
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(Review)) == 1
    finally:
        admin.dispose()
        store.dispose()


def test_the_load_script_finds_every_review_exactly_once(pg_server: str) -> None:
    """A small class (16 learners, 2 processes, 2 s) through scripts/load_test.py and its count check."""
    base = pg_server
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "load_test.py"),
            "--url",
            base,
            "--learners",
            "16",
            "--seconds",
            "2",
            "--processes",
            "2",
            "--cards",
            "12",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        env={**os.environ},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout)
    assert result["ok"] and result["errors"] == []
    assert result["acknowledged"] > 16 and result["stored"] == result["acknowledged"]
    assert (result["lost"], result["duplicated"], result["unknown"], result["memory_mismatch"]) == (
        0,
        0,
        0,
        0,
    )


def test_the_load_script_refuses_addresses_off_this_machine() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "load_test.py"),
            "--url",
            "postgresql+psycopg://quiz@192.0.2.10:5432/postgres",
            "--seconds",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode != 0 and "not a loopback address" in out.stderr


@pytest.mark.parametrize("days", [0, 3])
def test_reviews_on_both_engines_keep_their_times(db_url: str, days: int) -> None:
    store = open_store(db_url)
    when = NOW + timedelta(days=days)
    try:
        r = item()
        commit_review(store, "bob", repo.ReviewInput(**{**_fields(r), "reviewed_at": when}), good)
        with store.session() as s:
            row = s.scalars(select(Review)).one()
        assert row.reviewed_at == when and row.reviewed_at.tzinfo is not None
    finally:
        store.dispose()


def _fields(r: repo.ReviewInput) -> dict[str, object]:
    return {name: getattr(r, name) for name in r.__slots__}  # type: ignore[attr-defined]


def test_the_usual_postgresql_commit_is_the_one_statement_way(pg_url: str) -> None:
    """A card with a memory row is saved by the read-then-write statement, not the locked fallback."""
    from quiz.store.classroom import _commit_unlocked

    store = open_store(pg_url)
    try:
        with store.session() as s:
            repo.sync_cards(s, "ada", [("d/a", "d")])
        saved = _commit_unlocked(store, "ada", item(review_uuid=str(uuid.uuid4())), good)
        assert saved is not None and saved[2] is True and saved[1].reps == 1
        with store.session() as s:
            memory = repo.memory_of(s, "ada", "d/a")
            row = s.scalars(select(Review)).one()
        assert memory == saved[1]
        assert row.state_before == Memory().to_dict() and row.state_after == saved[1].to_dict()
        assert row.due_after == saved[1].due
    finally:
        store.dispose()


def test_a_memory_changed_between_read_and_write_is_never_overwritten(pg_url: str) -> None:
    """Another device saves the same card while this one schedules: this one reads again and builds on it."""
    other = open_store(pg_url)
    store = open_store(pg_url)
    seen: list[int] = []

    def schedule(before: Memory) -> Memory:
        seen.append(before.reps)
        if len(seen) == 1:  # the other device's answer lands in between
            commit_review(other, "ada", item(rating=1), lambda b: review(b, 1, NOW, make_scheduler()))
        return good(before)

    try:
        with store.session() as s:
            repo.sync_cards(s, "ada", [("d/a", "d")])
        _id, after, inserted = commit_review(store, "ada", item(), schedule)
        assert inserted and seen == [0, 1] and after.reps == 2
        with store.session() as s:
            rows = list(s.scalars(select(Review).order_by(Review.id)))
            assert repo.memory_of(s, "ada", "d/a") == after
        assert [r.rating for r in rows] == [1, 3]
        assert rows[1].state_before == rows[0].state_after  # built on the other device's answer
    finally:
        store.dispose()
        other.dispose()


@pytest.mark.parametrize(
    "text",
    [
        "%(uuid)s'; DROP TABLE review; --",
        "%s %% $1 :profile \\x27 '' \" ` ; --",
        "é中文 🙂 \u202e\u200b",
    ],
)
def test_hostile_text_in_a_review_is_stored_as_given(db_url: str, text: str) -> None:
    """Card ids, answers and values come from strangers' decks and typed answers: parameters, never SQL."""
    store = open_store(db_url)
    uid = f"d/{text}"
    try:
        with store.session() as s:
            repo.sync_cards(s, "ada", [(uid, "d")])
        given = review_input(
            uid, when=NOW, deck_id="d", answer_given=text, expected=text, error=text, variables={text: [text, 1.5]}
        )
        commit_review(store, "ada", given, good)
        with store.session() as s:
            row = s.scalars(select(Review)).one()
            assert repo.memory_of(s, "ada", uid).reps == 1
            assert s.scalar(select(func.count()).select_from(Review)) == 1
        assert (row.card_uid, row.answer_given, row.expected, row.error) == (uid, text, text, text)
        assert row.variables == {text: [text, 1.5]}
    finally:
        store.dispose()
