"""The store on a real PostgreSQL server: same migrations, same queue, clear errors, safe concurrent start-up."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from quiz.core.scheduling import make_scheduler, review
from quiz.store import repo
from quiz.store.db import HEAD_REVISION, StoreError, alembic_config, normalize_url, open_store
from quiz.store.models import Base, Review
from tests.factories import review_input

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _answer(store, profile: str, uid: str, rating: int, when: datetime) -> None:  # type: ignore[no-untyped-def]
    with store.session() as s:
        before = repo.memory_of(s, profile, uid)
        after = review(before, rating, when, make_scheduler())
        repo.record_review(
            s,
            profile,
            review_input(
                uid,
                when=when,
                rating=rating,
                seed=7,
                variables={"a": 2, "s": [2, 3]},
                response_ms=1500,
                run_ms=0.4,
            ),
            before,
            after,
        )


def test_migrations_reach_head_and_match_the_models(pg_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = open_store(pg_url)
    try:
        assert store.revision == HEAD_REVISION
        assert store.engine.dialect.name == "postgresql"
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        store.dispose()


def test_queue_reviews_and_profiles_work_as_on_sqlite(pg_url: str) -> None:
    store = open_store(pg_url)
    try:
        with store.session() as s:
            assert repo.sync_cards(s, "ada", [("d/a", "d"), ("d/b", "d")]) == 2
            assert repo.sync_cards(s, "bob", [("d/a", "d")]) == 1
        _answer(store, "ada", "d/a", 3, NOW)
        with store.session() as s:
            assert repo.memory_of(s, "ada", "d/a").reps == 1
            assert repo.memory_of(s, "bob", "d/a").reps == 0
            day = NOW - timedelta(hours=1)
            assert repo.next_card_uid(s, "ada", now=NOW, new_limit=10, day_start=day) == "d/b"
            row = s.scalars(select(Review)).one()
        assert row.reviewed_at == NOW and row.reviewed_at.tzinfo is not None
        assert row.variables == {"a": 2, "s": [2, 3]}
    finally:
        store.dispose()


def test_downgrade_to_base_and_back(pg_url: str) -> None:
    from alembic import command

    from quiz.store.db import upgrade

    store = open_store(pg_url)
    cfg = alembic_config(store.engine)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    with store.engine.connect() as conn:
        assert "review" not in sa.inspect(conn).get_table_names()
    upgrade(store.engine)
    store.dispose()
    assert open_store(pg_url).revision == HEAD_REVISION


def test_a_class_starting_at_once_migrates_exactly_once(pg_url: str) -> None:
    """Twelve apps open a fresh database together: the advisory lock lets one migrate."""
    results: list[str | None] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(12)

    def start() -> None:
        gate.wait()
        try:
            s = open_store(pg_url)
            results.append(s.revision)
            s.dispose()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == [HEAD_REVISION] * 12
    store = open_store(pg_url)
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
    store.dispose()


def test_an_unreachable_server_is_a_clear_message() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StoreError) as info:
        open_store(f"postgresql+psycopg://quiz@127.0.0.1:{port}/quiz")
    message = str(info.value)
    assert message.startswith("cannot reach the database server")
    assert f"127.0.0.1:{port}" in message and "--db" in message


def test_a_missing_database_says_what_to_do(pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(pg_url).set(database="no_such_quiz_db").render_as_string(hide_password=False)
    with pytest.raises(StoreError, match=r"does not exist.*createdb"):
        open_store(url)


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def _drop_other_connections(url: str) -> int:
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar()
                or 0
            )
    finally:
        admin.dispose()


def test_a_pooled_connection_idle_past_the_ping_window_is_replaced_if_the_server_dropped_it(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quiz.store import db

    store = open_store(pg_url)
    try:
        with store.session() as s:
            assert s.execute(sa.text("SELECT 1")).scalar() == 1
        assert _drop_other_connections(pg_url) >= 1  # the server restarts, say, while the learner reads
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
        with store.session() as s:  # pinged, found dead, reconnected: no error for the learner
            assert s.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        store.dispose()


def test_within_the_ping_window_a_dropped_connection_is_retried_by_commit_review(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quiz.store import db
    from quiz.store.classroom import commit_review

    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)
    store = open_store(pg_url)
    slept: list[float] = []

    def good(before):  # type: ignore[no-untyped-def]
        return review(before, 3, NOW, make_scheduler())

    try:
        with store.session() as s:
            repo.sync_cards(s, "ada", [("d/a", "d")])
        commit_review(store, "ada", review_input("d/a", when=NOW), good)
        assert _drop_other_connections(pg_url) >= 1
        _id, after, inserted = commit_review(store, "ada", review_input("d/a", when=NOW), good, sleep=slept.append)
        assert inserted and after.reps == 2 and len(slept) == 1  # one failed try on the dead connection
        with store.session() as s:
            assert s.scalar(select(sa.func.count()).select_from(Review)) == 2
    finally:
        store.dispose()
