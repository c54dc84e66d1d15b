"""The SQLite store: migrations to head, the due-first queue, reviews committed one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from quiz.core.scheduling import CardState, Memory, make_scheduler, review
from quiz.store import repo
from quiz.store.db import HEAD_REVISION, StoreError, alembic_config, open_store
from quiz.store.models import Review
from tests.factories import review_input

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = open_store(f"sqlite:///{tmp_path / 'q.db'}")
    yield s
    s.dispose()


def test_head_constant_matches_the_migration_scripts() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


def test_open_migrates_an_empty_database_to_head(store) -> None:  # type: ignore[no-untyped-def]
    assert store.revision == HEAD_REVISION
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_database_newer_than_the_app_is_refused_clearly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    open_store(url).dispose()
    s = open_store(url)
    with s.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    s.dispose()
    with pytest.raises(StoreError, match="newer than this quiz"):
        open_store(url)


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot"):
        open_store(f"sqlite:///{path}")


def _answer(store, uid: str, rating: int, when: datetime) -> Memory:  # type: ignore[no-untyped-def]
    with store.session() as s:
        before = repo.memory_of(s, "default", uid)
        after = review(before, rating, when, make_scheduler())
        repo.record_review(
            s,
            "default",
            review_input(
                uid, when=when, rating=rating, seed=7, variables={"a": 2}, response_ms=1500, run_ms=0.4
            ),
            before,
            after,
        )
    return after


def test_queue_new_cards_in_library_order_then_due_first(store) -> None:  # type: ignore[no-untyped-def]
    with store.session() as s:
        assert repo.sync_cards(s, "default", [("d/a", "d"), ("d/b", "d"), ("d/c", "d")]) == 3
        assert repo.sync_cards(s, "default", [("d/a", "d"), ("d/b", "d")]) == 0
        assert (
            repo.next_card_uid(s, "default", now=NOW, new_limit=10, day_start=NOW - timedelta(hours=1))
            == "d/a"
        )
    after = _answer(store, "d/a", 3, NOW)
    assert after.state == CardState.LEARNING
    with store.session() as s:
        # d/a is learning, due in 10 min (inside learn-ahead) but new cards come first.
        assert (
            repo.next_card_uid(s, "default", now=NOW, new_limit=10, day_start=NOW - timedelta(hours=1))
            == "d/b"
        )
        # Once it is due, it comes before new cards.
        later = NOW + timedelta(minutes=11)
        assert (
            repo.next_card_uid(s, "default", now=later, new_limit=10, day_start=NOW - timedelta(hours=1))
            == "d/a"
        )
        # The daily new limit counts the card introduced today.
        assert (
            repo.next_card_uid(s, "default", now=NOW, new_limit=1, day_start=NOW - timedelta(hours=1))
            == "d/a"
        )


def test_review_row_holds_everything(store) -> None:  # type: ignore[no-untyped-def]
    with store.session() as s:
        repo.sync_cards(s, "default", [("d/a", "d")])
    after = _answer(store, "d/a", 1, NOW)
    with store.session() as s:
        row = s.scalars(select(Review)).one()
    assert (row.card_uid, row.seed, row.variables, row.rating, row.backend) == (
        "d/a",
        7,
        {"a": 2},
        1,
        "torch",
    )
    assert row.reviewed_at == NOW and row.reviewed_at.tzinfo is not None
    assert row.state_after["state"] == int(after.state)
    assert row.due_after == after.due


def test_profiles_are_separate(store) -> None:  # type: ignore[no-untyped-def]
    with store.session() as s:
        repo.sync_cards(s, "default", [("d/a", "d")])
        repo.sync_cards(s, "ada", [("d/a", "d")])
    _answer(store, "d/a", 3, NOW)
    with store.session() as s:
        assert repo.memory_of(s, "default", "d/a").reps == 1
        assert repo.memory_of(s, "ada", "d/a").reps == 0


def test_models_match_the_migrations(store) -> None:  # type: ignore[no-untyped-def]
    """Nothing for autogenerate to add: the ORM models and the migration scripts describe one schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from quiz.store.models import Base

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_downgrade_and_upgrade_round_trip(tmp_path: Path) -> None:
    from quiz.store.db import upgrade

    url = f"sqlite:///{tmp_path / 'q.db'}"
    s = open_store(url)
    from alembic import command

    cfg = alembic_config(s.engine)
    with s.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    upgrade(s.engine)
    s.dispose()
    assert open_store(url).revision == HEAD_REVISION
