"""The PostgreSQL hot path (quiz.store.direct): autocommit statements on pooled connections that go back as
they came, errors as SQLAlchemy's, the queue read the same either way, and the hot statements kept prepared."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from quiz.core.scheduling import Memory, make_scheduler, review
from quiz.store import direct, repo
from quiz.store.classroom import commit_review, retryable
from quiz.store.db import Store, open_store
from quiz.store.models import CardState, Review
from tests.factories import review_input

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DAY_START = NOW - timedelta(hours=8)


def test_a_connection_used_directly_goes_back_to_the_pool_with_transactions(pg_url: str) -> None:
    """After an autocommit statement, an ORM session on the same connection still rolls back as a unit."""
    store = open_store(pg_url, backup=False)
    try:
        with direct.cursor(store.engine) as cursor:
            cursor.execute("SELECT pg_backend_pid()", {})
            row = cursor.fetchone()
            assert row is not None
            pid = row[0]
        with store.session() as s:
            assert s.scalar(sa.text("SELECT pg_backend_pid()")) == pid  # the same pooled connection
            s.add(CardState(profile="ada", card_uid="d/a", deck_id="d"))
            s.flush()
            s.rollback()
        with store.session() as s:
            assert s.scalar(select(sa.func.count()).select_from(CardState)) == 0
    finally:
        store.dispose()


def test_a_failing_direct_statement_is_sqlalchemys_error_and_the_connection_stays_usable(pg_url: str) -> None:
    store = open_store(pg_url, backup=False)
    hostile = "'; DROP TABLE review; --"
    try:
        with pytest.raises(DBAPIError) as caught, direct.cursor(store.engine) as cursor:
            cursor.execute("SELECT * FROM card_state WHERE nonexistent = %(x)s", {"x": hostile})
        assert not retryable(caught.value) and "nonexistent" in str(caught.value)
        assert not caught.value.connection_invalidated
        with direct.cursor(store.engine) as cursor:  # the value was a parameter, never SQL
            cursor.execute("SELECT count(*) FROM review", {})
            assert cursor.fetchone() == (0,)
    finally:
        store.dispose()


def test_the_queue_head_reads_the_same_directly_as_in_a_transaction(pg_url: str) -> None:
    """A fresh session reads the queue head directly; one with a transaction open reads it inside."""
    store = open_store(pg_url, backup=False)
    cards = [(f"d/c{i}", "d") for i in range(8)]
    try:
        with store.session() as s:
            repo.sync_cards(s, "ada", cards)
            for i, (uid, _deck) in enumerate(cards[:5]):  # due at different times, one buried
                s.execute(
                    sa.update(CardState)
                    .where(CardState.card_uid == uid)
                    .values(
                        state=2,
                        due=NOW + timedelta(minutes=15 * i - 30),
                        introduced_at=NOW - timedelta(hours=i),
                        buried_until=NOW + timedelta(hours=1) if i == 1 else None,
                    )
                )
            s.commit()
        for now in (NOW - timedelta(hours=1), NOW, NOW + timedelta(minutes=40), NOW + timedelta(days=1)):
            for new_limit in (0, 3, 10):
                kw = {"now": now, "new_limit": new_limit, "day_start": DAY_START}
                with store.session() as s:
                    fresh = repo.next_card_uid(s, "ada", **kw)  # type: ignore[arg-type]
                    assert not s.in_transaction()  # read outside the session: nothing was begun
                with store.session() as s:
                    s.execute(sa.text("SELECT 1"))
                    inside = repo.next_card_uid(s, "ada", **kw)  # type: ignore[arg-type]
                assert fresh == inside, (now, new_limit)
    finally:
        store.dispose()


def test_a_learners_hot_statements_stay_prepared_on_the_connection(pg_url: str) -> None:
    """No ROLLBACK between reviews: psycopg keeps what it prepared, the server plans each statement once."""
    store = open_store(pg_url, backup=False)
    scheduler = make_scheduler()

    def good(before: Memory) -> Memory:
        return review(before, 3, NOW, scheduler)

    try:
        with store.session() as s:
            repo.sync_cards(s, "ada", [("d/a", "d"), ("d/b", "d")])
        for i in range(8):
            with store.session() as s:
                uid = repo.next_card_uid(s, "ada", now=NOW, new_limit=10, day_start=DAY_START) or "d/a"
            commit_review(store, "ada", review_input(uid, when=NOW, deck_id="d", seed=i), good)
        with direct.cursor(store.engine) as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements", {})
            prepared = " ".join(row[0] for row in cursor.fetchall())
        assert "INSERT INTO review" in prepared and "anon_1.part" in prepared
        with store.session() as s:
            assert s.scalar(select(sa.func.count()).select_from(Review)) == 8
    finally:
        store.dispose()


def test_a_card_answered_again_and_again_takes_the_one_statement_way_each_time(pg_url: str) -> None:
    """The memory read back (floats, times) compares equal to what is stored: no needless locked fallback."""
    from quiz.store.classroom import _commit_unlocked

    store = open_store(pg_url, backup=False)
    scheduler = make_scheduler()
    try:
        with store.session() as s:
            repo.sync_cards(s, "ada", [("d/a", "d")])
        for i, rating in enumerate((3, 1, 3, 4, 2, 3)):
            when = NOW + timedelta(days=i, microseconds=123457 * i)
            saved = _commit_unlocked(
                store,
                "ada",
                review_input(
                    "d/a", when=when, rating=rating, deck_id="d", seed=2**31 - 1 - i, uuid=str(uuid.uuid4())
                ),
                lambda before, when=when, rating=rating: review(before, rating, when, scheduler),  # type: ignore[misc]
            )
            assert saved is not None and saved[2] and saved[1].reps == i + 1
            with store.session() as s:
                assert repo.memory_of(s, "ada", "d/a") == saved[1]
    finally:
        store.dispose()


def test_a_card_this_app_wrote_last_is_saved_without_reading_it_again(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quiz.store import classroom

    store = open_store(pg_url, backup=False)
    scheduler = make_scheduler()
    try:
        with store.session() as s:
            repo.sync_cards(s, "ada", [("d/a", "d")])
        _id, first, _ = commit_review(
            store, "ada", review_input("d/a", when=NOW, deck_id="d"), lambda b: review(b, 3, NOW, scheduler)
        )
        monkeypatch.setattr(classroom, "_PG_READ", "SELECT 1 / 0")  # a read now fails loudly
        later = NOW + timedelta(minutes=10)
        _id, second, inserted = commit_review(
            store,
            "ada",
            review_input("d/a", when=later, deck_id="d"),
            lambda b: review(b, 3, later, scheduler),
        )
        assert inserted and second.reps == 2
        with store.session() as s:
            assert repo.memory_of(s, "ada", "d/a") == second
            assert [r.state_before for r in s.scalars(select(Review).order_by(Review.id))][
                1
            ] == first.to_dict()
    finally:
        store.dispose()


def test_a_remembered_memory_another_device_moved_on_is_read_again_never_overwritten(pg_url: str) -> None:
    laptop, phone = open_store(pg_url, backup=False), open_store(pg_url, backup=False)
    scheduler = make_scheduler()

    def rate(store: Store, rating: int, minutes: int) -> Memory:
        when = NOW + timedelta(minutes=minutes)
        _id, after, inserted = commit_review(
            store,
            "ada",
            review_input("d/a", when=when, rating=rating, deck_id="d"),
            lambda b: review(b, rating, when, scheduler),
        )
        assert inserted
        return after

    try:
        with laptop.session() as s:
            repo.sync_cards(s, "ada", [("d/a", "d")])
        rate(laptop, 3, 0)  # the laptop remembers what it wrote
        on_phone = rate(phone, 1, 5)  # then the phone answers the same card
        last = rate(laptop, 3, 10)  # the laptop's memory is stale: the row is read again
        assert last.reps == 3
        with laptop.session() as s:
            rows = list(s.scalars(select(Review).order_by(Review.id)))
            assert repo.memory_of(s, "ada", "d/a") == last
        assert [r.rating for r in rows] == [3, 1, 3]
        assert rows[2].state_before == on_phone.to_dict()  # built on the phone's answer
    finally:
        laptop.dispose()
        phone.dispose()


def test_the_card_the_queue_picked_is_saved_without_reading_it_again(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quiz.store import classroom

    store = open_store(pg_url, backup=False)
    try:
        with store.session() as s:
            repo.sync_cards(s, "ada", [("d/a", "d"), ("d/b", "d")])
        with store.session() as s:
            uid = repo.next_card_uid(s, "ada", now=NOW, new_limit=10, day_start=DAY_START)
        assert uid == "d/a"
        monkeypatch.setattr(classroom, "_PG_READ", "SELECT 1 / 0")  # a read now fails loudly
        _id, after, inserted = commit_review(
            store,
            "ada",
            review_input(uid, when=NOW, deck_id="d"),
            lambda b: review(b, 3, NOW, make_scheduler()),
        )
        assert inserted and after.reps == 1
        with store.session() as s:
            assert repo.memory_of(s, "ada", "d/a") == after
    finally:
        store.dispose()


def test_a_card_answered_elsewhere_after_the_queue_showed_it_builds_on_that_answer(pg_url: str) -> None:
    laptop, phone = open_store(pg_url, backup=False), open_store(pg_url, backup=False)
    scheduler = make_scheduler()
    try:
        with laptop.session() as s:
            repo.sync_cards(s, "ada", [("d/a", "d")])
        with laptop.session() as s:  # the laptop shows the card (and keeps its memory as read)
            assert repo.next_card_uid(s, "ada", now=NOW, new_limit=10, day_start=DAY_START) == "d/a"
        _id, on_phone, _ = commit_review(  # meanwhile the phone answers it
            phone,
            "ada",
            review_input("d/a", when=NOW, rating=1, deck_id="d"),
            lambda b: review(b, 1, NOW, scheduler),
        )
        later = NOW + timedelta(minutes=1)
        _id, last, inserted = commit_review(
            laptop,
            "ada",
            review_input("d/a", when=later, deck_id="d"),
            lambda b: review(b, 3, later, scheduler),
        )
        assert inserted and last.reps == 2
        with laptop.session() as s:
            rows = list(s.scalars(select(Review).order_by(Review.id)))
            assert repo.memory_of(s, "ada", "d/a") == last
        assert rows[1].state_before == on_phone.to_dict()
    finally:
        laptop.dispose()
        phone.dispose()
