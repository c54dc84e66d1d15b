"""Logins in the database: tokens sign in once, sessions expire and end, and no secret is stored.

Runs on SQLite and PostgreSQL. Attack tests: a token redeemed by many
browsers at once signs in exactly one; names that would be paths or odd
file names are refused.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from quiz.serve import logins
from quiz.store.db import Store, open_store
from quiz.store.models import Profile, SignInToken, WebSession
from tests.classroom.pg import db_url  # noqa: F401  (fixture)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Store:  # noqa: F811
    s = open_store(db_url)
    yield s  # type: ignore[misc]
    s.dispose()


def test_add_learner_makes_the_profile_and_keeps_only_the_digest(store: Store) -> None:
    issued = logins.add_learner(store, "ada", display_name="Ada L.", now=T0)
    assert issued.new_profile and issued.expires_at == T0 + timedelta(days=7)
    assert len(issued.token) >= 40  # 256 random bits
    with store.session() as s:
        profile = s.scalars(sa.select(Profile)).one()
        row = s.scalars(sa.select(SignInToken)).one()
    assert (profile.name, profile.display_name) == ("ada", "Ada L.")
    assert row.token_sha256 == logins.digest(issued.token) and issued.token not in row.token_sha256
    again = logins.add_learner(store, "ada", now=T0)
    assert not again.new_profile and again.token != issued.token


def test_a_token_signs_in_once_and_only_before_it_expires(store: Store) -> None:
    token = logins.add_learner(store, "ada", now=T0).token
    # One character off (not "x" for a token that starts with "x": 1 in 64, the test failed so).
    assert logins.redeem(store, ("y" if token[0] == "x" else "x") + token[1:], now=T0) is None
    assert logins.redeem(store, "", now=T0) is None
    assert logins.redeem(store, "a" * 10_000, now=T0) is None
    signed = logins.redeem(store, f"  {token}\n", now=T0 + timedelta(days=1))  # pasted with spaces
    assert signed is not None and signed.profile == "ada"
    assert signed.expires_at == T0 + timedelta(days=1, hours=12)
    assert logins.redeem(store, token, now=T0 + timedelta(days=1)) is None  # used
    late = logins.add_learner(store, "bob", now=T0).token
    assert logins.redeem(store, late, now=T0 + timedelta(days=7)) is None  # expired


def test_sessions_expire_end_and_go_with_their_learner(store: Store) -> None:
    ada = logins.redeem(store, logins.add_learner(store, "ada", now=T0).token, now=T0)
    bob = logins.redeem(store, logins.add_learner(store, "bob", now=T0).token, now=T0)
    assert ada is not None and bob is not None
    assert logins.session_profile(store, ada.session, now=T0 + timedelta(hours=11)) == "ada"
    assert logins.session_profile(store, ada.session, now=T0 + timedelta(hours=12)) is None  # expired
    assert logins.session_profile(store, "forged", now=T0) is None
    assert logins.session_profile(store, logins.digest(ada.session), now=T0) is None  # the digest is no key
    assert logins.end_session(store, bob.session) and not logins.end_session(store, bob.session)
    assert logins.session_profile(store, bob.session, now=T0) is None
    removed = logins.remove_learner(store, "ada")
    assert (removed.tokens, removed.sessions) == (1, 1)
    assert logins.session_profile(store, ada.session, now=T0) is None
    with store.session() as s:
        dump = " ".join(str(r) for t in (WebSession, SignInToken) for r in s.execute(sa.select(t.__table__)))
    assert ada.session not in dump and bob.session not in dump


def test_prune_drops_what_can_never_sign_in_again(store: Store) -> None:
    used = logins.add_learner(store, "ada", now=T0).token
    logins.redeem(store, used, now=T0)
    logins.add_learner(store, "bob", now=T0 - timedelta(days=8))  # expired link
    fresh = logins.add_learner(store, "carol", now=T0).token
    assert logins.prune(store, now=T0 + timedelta(hours=13)) == 3  # ada's used token and session, bob's link
    assert logins.redeem(store, fresh, now=T0 + timedelta(hours=13)) is not None


def test_many_browsers_redeeming_one_token_at_once_sign_in_one(store: Store) -> None:
    token = logins.add_learner(store, "ada").token
    gate = threading.Barrier(8)
    results: list[object] = []

    def go() -> None:
        gate.wait()
        results.append(logins.redeem(store, token))

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1
    with store.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(WebSession)) == 1


@pytest.mark.parametrize(
    "name", ["", "../etc", "a b", "-rf", "ada/../bob", "a" * 65, "ada\n", "ädä", "x;drop", ".hidden"]
)
def test_names_that_are_not_plain_are_refused(name: str) -> None:
    with pytest.raises(logins.LoginError, match="letters, digits"):
        logins.check_name(name)  # add_learner checks first, before the database


def test_the_settings_file_of_a_learner_name_is_their_own(tmp_path: Path) -> None:
    from quiz.config import learner_settings_file

    names = ["ada", "Ada", "ada-1", "ada_1", "a" * 64]
    files = {learner_settings_file(logins.check_name(n)) for n in names}
    assert len(files) == len(names)  # no two accepted names share a settings file
