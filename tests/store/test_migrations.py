"""Upgrading real databases: a database full of data at any revision goes up to head, down and up again
with nothing lost; a schema-0001 database reaches head with its data as the models read it.

Runs on SQLite and on PostgreSQL (tests/classroom/pg.py). On SQLite the
upgrade leaves a backup of the 0001 file beside it, which must hold the old
data too.

A new migration is covered by adding one entry to FIXTURES: a function that
fills what that revision added (its tables, its new columns) with data, or
None for a revision that adds no place for data (an index). A test fails
while a revision in quiz/store/migrations has no entry.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from quiz.store import backup
from quiz.store.db import (
    HEAD_REVISION,
    StoreError,
    alembic_config,
    make_engine,
    open_store,
    sqlite_file,
    upgrade,
)
from quiz.store.models import CardState, Profile, Review, SignInToken, TrustedDeck, WebSession
from quiz.store.types import UTCDateTime

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


def test_upgrading_a_0001_database_with_data_loses_nothing(db_url: str) -> None:
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


def test_a_database_newer_than_the_app_is_refused_and_left_alone(db_url: str) -> None:
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


# --- round trips: every revision, one step at a time, with data ------------------------------


def data_0001(conn: sa.Connection) -> None:
    """0001's card states and reviews (three learners, every kind of value those columns hold)."""
    states, reviews = rows_0001()
    conn.execute(sa.insert(CARD_STATE_0001), states)
    conn.execute(sa.insert(REVIEW_0001), reviews)


def data_0002(conn: sa.Connection) -> None:
    """0002's profiles, settings, exams with answers, trust pins; bury times and undo states."""
    conn.execute(
        sa.update(sa.table("card_state", sa.column("id"), sa.column("buried_until", UTCDateTime())))
        .where(sa.column("id").in_([2, 103]))
        .values(buried_until=T0 + timedelta(hours=20, microseconds=17))
    )
    conn.execute(
        sa.update(sa.table("review", sa.column("id"), sa.column("state_before", sa.JSON())))
        .where(sa.column("id") <= 4)
        .values(state_before={"state": 1, "reps": 0, "stability": 0.40255, "due": None})
    )
    conn.execute(
        sa.insert(
            sa.table(
                "profile", *(sa.column(n) for n in ("id", "name", "display_name")), sa.column("created_at", UTCDateTime())
            )
        ),
        [
            {"id": 1, "name": "ada", "display_name": "Ada Lovelace", "created_at": T0},
            {"id": 2, "name": "grace", "display_name": None, "created_at": T0 + timedelta(seconds=1)},
            {"id": 3, "name": "李雷", "display_name": "Li Lei 🙂", "created_at": T0 + timedelta(days=2)},
        ],
    )
    conn.execute(
        sa.insert(
            sa.table(
                "setting",
                *(sa.column(n) for n in ("id", "profile", "key")),
                sa.column("value", sa.JSON()),
                sa.column("updated_at", UTCDateTime()),
            )
        ),
        [
            {"id": 1, "profile": "ada", "key": "backends", "value": ["torch", "mxnet"], "updated_at": T0},
            {"id": 2, "profile": "ada", "key": "new_per_day", "value": 25, "updated_at": T0},
            {"id": 3, "profile": "grace", "key": "retention", "value": 0.875, "updated_at": T0},
            {"id": 4, "profile": "grace", "key": "theme", "value": {"name": "dark", "contrast": True}, "updated_at": T0},
            {"id": 5, "profile": "李雷", "key": "device", "value": "cpu", "updated_at": T0},
        ],
    )
    conn.execute(
        sa.insert(
            sa.table(
                "exam",
                *(sa.column(n) for n in ("id", "uuid", "profile", "score", "total")),
                sa.column("started_at", UTCDateTime()),
                sa.column("finished_at", UTCDateTime()),
                sa.column("config", sa.JSON()),
                sa.column("report", sa.JSON()),
            )
        ),
        [
            {
                "id": 1,
                "uuid": "10000000-0000-4000-8000-000000000001",
                "profile": "ada",
                "score": 7,
                "total": 10,
                "started_at": T0,
                "finished_at": T0 + timedelta(minutes=14, microseconds=250),
                "config": {"sections": ["autograd", "matmul"], "questions": 10, "seed": 12345},
                "report": {"by_section": {"autograd": [4, 5]}, "notes": "第一次"},
            },
            {
                "id": 2,
                "uuid": "10000000-0000-4000-8000-000000000002",
                "profile": "grace",
                "score": None,
                "total": None,
                "started_at": T0 + timedelta(days=1),
                "finished_at": None,  # abandoned
                "config": {"sections": [], "questions": 3, "time_limit_s": None},
                "report": None,
            },
        ],
    )
    conn.execute(
        sa.insert(
            sa.table(
                "exam_answer",
                *(
                    sa.column(n)
                    for n in (
                        "id", "exam_id", "position", "card_uid", "seed", "section", "backend", "kind",
                        "answer_given", "expected", "correct", "error", "time_ms",
                    )
                ),
                sa.column("variables", sa.JSON()),
                sa.column("answered_at", UTCDateTime()),
            )
        ),
        [
            {
                "id": 1 + i,
                "exam_id": 1 if i < 3 else 2,
                "position": i,
                "card_uid": f"deck{i % 2}/card-{i}.torch",
                "seed": 2**31 - 1 - i,
                "section": ["autograd", "matmul", "autograd", "dtypes"][i],
                "backend": "torch",
                "kind": ["shape", "value", "raises", "dtype"][i],
                "answer_given": [None, "(2, 3)", "error", "torch.float32"][i],
                "expected": "(2, 3)",
                "correct": [None, True, False, True][i],
                "error": None if i != 2 else "RuntimeError: shape '[2, 3]' is invalid",
                "time_ms": None if i == 0 else 1000 * i,
                "variables": {"n": i, "shape": [2, i + 1]},
                "answered_at": None if i == 0 else T0 + timedelta(minutes=i),
            }
            for i in range(4)
        ],
    )
    conn.execute(
        sa.insert(
            sa.table(
                "trusted_deck",
                *(sa.column(n) for n in ("id", "profile", "deck_id", "path", "sha256", "origin")),
                sa.column("trusted_at", UTCDateTime()),
            )
        ),
        [
            {
                "id": 1,
                "profile": "ada",
                "deck_id": "shared",
                "path": "/home/ada/decks/shared deck (v2).toml",
                "sha256": "ab" * 32,
                "origin": "from Grace, by mail",
                "trusted_at": T0,
            },
            {
                "id": 2,
                "profile": "李雷",
                "deck_id": "课程",
                "path": "/home/李雷/课程.toml",
                "sha256": "0f" * 32,
                "origin": None,
                "trusted_at": T0 + timedelta(days=3),
            },
        ],
    )


def data_0004(conn: sa.Connection) -> None:
    """0004: sign-in tokens (one used, one not) and a browser session, as `quiz serve` keeps them."""
    conn.execute(
        sa.insert(
            sa.table(
                "sign_in_token",
                *(sa.column(n) for n in ("id", "profile", "token_sha256")),
                *(sa.column(n, UTCDateTime()) for n in ("created_at", "expires_at", "used_at")),
            )
        ),
        [
            {
                "id": 1,
                "profile": "ada",
                "token_sha256": "3c" * 32,
                "created_at": T0,
                "expires_at": T0 + timedelta(days=7),
                "used_at": T0 + timedelta(hours=1),
            },
            {
                "id": 2,
                "profile": "李雷",
                "token_sha256": "9e" * 32,
                "created_at": T0 + timedelta(days=1),
                "expires_at": T0 + timedelta(days=8),
                "used_at": None,
            },
        ],
    )
    conn.execute(
        sa.insert(
            sa.table(
                "web_session",
                *(sa.column(n) for n in ("id", "profile", "session_sha256")),
                *(sa.column(n, UTCDateTime()) for n in ("created_at", "expires_at", "last_seen_at")),
            )
        ),
        [
            {
                "id": 1,
                "profile": "ada",
                "session_sha256": "5a" * 32,
                "created_at": T0 + timedelta(hours=1),
                "expires_at": T0 + timedelta(hours=13),
                "last_seen_at": T0 + timedelta(hours=2),
            }
        ],
    )


# One entry per revision: what fills the places it added with data (None: it added none).
FIXTURES: dict[str, Callable[[sa.Connection], None] | None] = {
    "0001": data_0001,
    "0002": data_0002,
    "0003": None,  # an index
    "0004": data_0004,
}


def revisions() -> list[str]:
    """Every revision in the migration scripts, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


Snapshot = dict[str, dict[str, list[Any]]]  # table -> column -> values in primary-key order


def snapshot(engine: sa.Engine) -> Snapshot:
    """Every table but alembic_version, as the database holds it now."""
    found: Snapshot = {}
    with engine.connect() as conn:
        for name in sorted(sa.inspect(conn).get_table_names()):
            if name == "alembic_version":
                continue
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings().all()
            found[name] = {c.name: [_plain(r[c.name]) for r in rows] for c in table.columns}
    return found


def _plain(value: Any) -> Any:
    """One spelling per value: SQLite hands back naive UTC datetimes, PostgreSQL aware ones."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def holds(now: Snapshot, then: Snapshot) -> list[str]:
    """What of `then` is not in `now` as it was: tables, columns or values lost or changed.

    Tables or columns that exist only now (added by a later revision) must be empty or all NULL.
    """
    problems = []
    for table, columns in then.items():
        if table not in now:
            problems.append(f"table {table} is gone")
            continue
        for column, values in columns.items():
            if column not in now[table]:
                problems.append(f"column {table}.{column} is gone")
            elif now[table][column] != values:
                problems.append(f"{table}.{column} changed: {values!r} -> {now[table][column]!r}")
        for column, values in now[table].items():
            if column not in columns and any(v is not None for v in values):
                problems.append(f"the new column {table}.{column} is not empty: {values!r}")
    for table, columns in now.items():
        if table not in then and any(columns.values()):
            problems.append(f"the new table {table} is not empty")
    return problems


def migrate(engine: sa.Engine, command_name: str, revision: str) -> None:
    from alembic import command

    if command_name == "upgrade":
        upgrade(engine, revision)  # the app's own way: one transaction, the advisory lock on PostgreSQL
        return
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_every_revision_has_fixture_data_here() -> None:
    missing = [r for r in revisions() if r not in FIXTURES]
    assert not missing, (
        f"migration(s) {', '.join(missing)} have no entry in FIXTURES (tests/store/test_migrations.py): add a "
        "function that puts data in the tables and columns they add (None if they add none), so the round "
        "trip test carries data through them"
    )
    assert revisions()[-1] == HEAD_REVISION


@pytest.mark.parametrize("start", revisions())
def test_a_database_with_data_at_each_revision_goes_up_down_and_up_again_intact(db_url: str, start: str) -> None:
    """Data put in up to `start`: up one step at a time to head, down one at a time to `start` (from head:
    one step below it), up again. What a revision below `start` has no place for is dropped by the way
    down and comes back empty; everything else is kept exactly."""
    chain = revisions()
    at = chain.index(start)
    engine = make_engine(db_url)
    try:
        schemas: dict[str, dict[str, set[str]]] = {}  # the tables and columns at each revision
        for step in chain[: at + 1]:
            migrate(engine, "upgrade", step)
            fill = FIXTURES.get(step)
            if fill is not None:
                with engine.begin() as conn:
                    fill(conn)
            schemas[step] = {t: set(c) for t, c in snapshot(engine).items()}
        then = snapshot(engine)
        assert then["review"]["uuid"] and then["card_state"]["id"]  # the data is there to be lost
        bottom = at if at < len(chain) - 1 or at == 0 else at - 1
        path = [("upgrade", r) for r in chain[at + 1 :]]
        path += [("downgrade", r) for r in reversed(chain[bottom:-1])]
        path += [("upgrade", r) for r in chain[bottom + 1 :]]
        assert path or len(chain) == 1
        low = at  # the lowest revision passed so far: what it had no place for is gone
        for command_name, revision in path:
            migrate(engine, command_name, revision)
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == revision
            low = min(low, chain.index(revision))
            kept = {
                table: {c: v for c, v in columns.items() if c in schemas[chain[low]][table]}
                for table, columns in then.items()
                if table in schemas[chain[low]]
            }
            problems = holds(snapshot(engine), kept)
            assert not problems, f"after {command_name} to {revision}: " + "; ".join(problems)
            if revision == start and low == at:
                assert snapshot(engine) == then  # back where it began: exactly as it was
    finally:
        engine.dispose()
    # And the app opens it and reads it through the models.
    store = open_store(db_url, backup=False)
    try:
        with store.session() as s:
            assert s.scalar(select(sa.func.count()).select_from(Review)) == len(then["review"]["id"])
            assert s.scalar(select(sa.func.count()).select_from(CardState)) == len(then["card_state"]["id"])
    finally:
        store.dispose()
