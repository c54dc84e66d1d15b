"""Upgrading real databases: a schema-0001 database full of data reaches head with nothing lost.

Runs on SQLite and on PostgreSQL (tests/classroom/pg.py). On SQLite the
upgrade leaves a backup of the 0001 file beside it, which must hold the old
data too.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from quiz.store import backup
from quiz.store.db import HEAD_REVISION, StoreError, make_engine, open_store, sqlite_file, upgrade
from quiz.store.models import CardState, Profile, Review, SignInToken, TrustedDeck, WebSession
from quiz.store.types import UTCDateTime
from tests.classroom.pg import db_url  # noqa: F401  (fixture)

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

# The tables as revision 0001 made them (only the columns it had).
CARD_STATE_0001 = sa.table(
    "card_state",
    *(
        sa.column(n)
        for n in (
            "id",
            "profile",
            "card_uid",
            "deck_id",
            "state",
            "step",
            "stability",
            "difficulty",
            "reps",
            "lapses",
            "position",
            "suspended",
        )
    ),
    sa.column("due", UTCDateTime()),
    sa.column("last_review", UTCDateTime()),
    sa.column("introduced_at", UTCDateTime()),
)
REVIEW_0001 = sa.table(
    "review",
    *(
        sa.column(n)
        for n in (
            "id",
            "uuid",
            "profile",
            "card_uid",
            "seed",
            "answer_given",
            "expected",
            "correct",
            "error",
            "rating",
            "backend",
            "device",
            "framework_version",
            "response_ms",
            "run_ms",
        )
    ),
    sa.column("variables", sa.JSON()),
    sa.column("state_after", sa.JSON()),
    sa.column("shown_at", UTCDateTime()),
    sa.column("reviewed_at", UTCDateTime()),
    sa.column("due_after", UTCDateTime()),
)


def rows_0001() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Three learners' card states and reviews, with every kind of value 0001 could hold."""
    states, reviews = [], []
    rid = 0
    for p, profile in enumerate(("default", "ada", "grace")):
        for c in range(6):
            uid = f"deck{c % 2}/card-{c}.torch"
            state = c % 4
            states.append(
                {
                    "id": p * 100 + c + 1,
                    "profile": profile,
                    "card_uid": uid,
                    "deck_id": f"deck{c % 2}",
                    "state": state,
                    "step": None if state in (0, 2) else 1,
                    "stability": None if state == 0 else 1.5 + c,
                    "difficulty": None if state == 0 else 4.25 + p,
                    "due": None if state == 0 else T0 + timedelta(days=c, minutes=p),
                    "last_review": None if state == 0 else T0 - timedelta(hours=c),
                    "reps": c,
                    "lapses": c // 3,
                    "position": c + 1,
                    "introduced_at": None if state == 0 else T0 - timedelta(days=1),
                    "suspended": c == 5,
                }
            )
            for k in range(c % 3):
                rid += 1
                reviews.append(
                    {
                        "id": rid,
                        "uuid": f"00000000-0000-4000-8000-{rid:012d}",
                        "profile": profile,
                        "card_uid": uid,
                        "seed": 1000 * p + c * 10 + k,
                        "variables": {"a": c, "s": [2, 3], "dt": "float32", "f": 0.5},
                        "answer_given": f"({c}, 3)",
                        "expected": f"({c}, 3)" if k else None,
                        "correct": [True, False, None][k % 3],
                        "error": None if k % 3 != 2 else "timeout after 5 s",
                        "rating": 1 + (rid % 4),
                        "backend": "torch",
                        "device": "cpu",
                        "framework_version": "2.13.0",
                        "response_ms": 1200 + rid,
                        "run_ms": None if k == 2 else 0.25 * rid,
                        "shown_at": T0 + timedelta(minutes=rid),
                        "reviewed_at": T0 + timedelta(minutes=rid, seconds=7),
                        "state_after": {"state": 2, "reps": k + 1, "due": "2026-03-02T09:30:00+00:00"},
                        "due_after": T0 + timedelta(days=1 + k),
                    }
                )
    return states, reviews


def make_0001_database(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    engine = make_engine(url)
    upgrade(engine, "0001")
    states, reviews = rows_0001()
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0001"
        conn.execute(sa.insert(CARD_STATE_0001), states)
        conn.execute(sa.insert(REVIEW_0001), reviews)
    engine.dispose()
    return states, reviews


def test_upgrading_a_0001_database_with_data_loses_nothing(db_url: str) -> None:  # noqa: F811
    states, reviews = make_0001_database(db_url)
    store = open_store(db_url)
    try:
        assert store.revision == HEAD_REVISION
        with store.session() as s:
            got_states = {r.id: r for r in s.scalars(select(CardState))}
            got_reviews = {r.id: r for r in s.scalars(select(Review))}
        assert len(got_states) == len(states) and len(got_reviews) == len(reviews)
        for want in states:
            row = got_states[want["id"]]
            for key, value in want.items():
                assert getattr(row, key) == value, (want["id"], key)
            assert row.buried_until is None  # the column 0002 added
        for want in reviews:
            row = got_reviews[want["id"]]
            for key, value in want.items():
                assert getattr(row, key) == value, (want["id"], key)
            assert row.state_before is None
        # The new tables exist and work on the upgraded database.
        with store.session() as s:
            s.add(Profile(name="ada", display_name="Ada L.", created_at=T0))
            s.add(TrustedDeck(profile="ada", deck_id="x", path="/p/x.toml", sha256="0" * 64, trusted_at=T0))
            s.add(SignInToken(profile="ada", token_sha256="1" * 64, created_at=T0, expires_at=T0))  # 0004
            s.add(WebSession(profile="ada", session_sha256="2" * 64, created_at=T0, expires_at=T0, last_seen_at=T0))
            s.commit()
            assert s.scalar(select(sa.func.count()).select_from(Profile)) == 1
    finally:
        store.dispose()

    path = sqlite_file(db_url)
    if path is not None:
        # The upgrade kept the 0001 file as it was, beside the database.
        (kept,) = [b for b in backup.list_backups(path) if b.reason.startswith("before-0001")]
        assert kept.reason == f"before-0001-to-{HEAD_REVISION}"
        conn = sqlite3.connect(kept.path)
        try:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
            assert conn.execute("SELECT count(*) FROM review").fetchone()[0] == len(reviews)
            assert conn.execute("SELECT count(*) FROM card_state").fetchone()[0] == len(states)
        finally:
            conn.close()


def test_a_database_newer_than_the_app_is_refused_and_left_alone(db_url: str) -> None:  # noqa: F811
    open_store(db_url).dispose()
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(StoreError, match=r"revision 0099, newer than this quiz .*upgrade quiz"):
        open_store(db_url)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0099"
    engine.dispose()


def test_a_daily_backup_is_made_once_a_day_and_old_ones_pruned(tmp_path: Path) -> None:
    path = tmp_path / "quiz.db"
    url = f"sqlite:///{path}"
    open_store(url).dispose()  # a brand-new database: nothing worth a backup yet
    assert backup.list_backups(path) == []
    open_store(url).dispose()
    open_store(url).dispose()
    daily = [b for b in backup.list_backups(path) if b.reason == "daily"]
    assert len(daily) == 1
    base = datetime.now().astimezone() + timedelta(days=1)  # after the backup made today
    for day in range(10):
        backup.daily_backup(path, now=base + timedelta(days=day))
    daily = [b for b in backup.list_backups(path) if b.reason == "daily"]
    assert len(daily) == backup.KEEP_DAILY
    assert daily[-1].made_at.date() == (base + timedelta(days=9)).date()


def test_a_damaged_database_is_a_clear_message_that_points_at_the_backups(tmp_path: Path) -> None:
    path = tmp_path / "quiz.db"
    url = f"sqlite:///{path}"
    open_store(url).dispose()
    path.write_bytes(b"\x00garbage" * 4096)
    with pytest.raises(StoreError) as info:
        open_store(url)
    message = str(info.value)
    assert "damaged" in message and "quiz restore" in message
    assert "Traceback" not in message
