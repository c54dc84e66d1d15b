"""Migration 0004 (sign-in tokens, browser sessions): up from 0003 with a class in it, down, and up again.

SQLite and PostgreSQL. The round trips over every revision are in tests/store.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from quiz.serve import logins
from quiz.store.db import HEAD_REVISION, alembic_config, make_engine, open_store, upgrade
from quiz.store.types import UTCDateTime
from tests.classroom.pg import db_url  # noqa: F401  (fixture)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _tables(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def _revision(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar())


def test_0004_up_down_and_up_again(db_url: str) -> None:  # noqa: F811
    from alembic import command

    assert HEAD_REVISION == "0004"
    engine = make_engine(db_url)
    upgrade(engine, "0003")
    profile = sa.table(
        "profile", sa.column("name"), sa.column("display_name"), sa.column("created_at", UTCDateTime())
    )
    with engine.begin() as conn:
        conn.execute(sa.insert(profile), [{"name": "ada", "display_name": "Ada", "created_at": T0}])
    assert not {"sign_in_token", "web_session"} & _tables(engine)
    engine.dispose()

    store = open_store(db_url)  # the app's own path: 0003 → head
    assert store.revision == "0004"
    issued = logins.add_learner(store, "ada")
    assert not issued.new_profile  # the profile from before the upgrade
    signed = logins.redeem(store, issued.token)
    assert signed is not None and logins.session_profile(store, signed.session) == "ada"

    cfg = alembic_config(store.engine)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    assert not {"sign_in_token", "web_session"} & _tables(store.engine)
    assert "profile" in _tables(store.engine) and _revision(store.engine) == "0003"
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM profile")).scalars().all() == ["ada"]
    upgrade(store.engine)
    assert _revision(store.engine) == "0004"
    assert logins.session_profile(store, signed.session) is None  # the downgrade dropped the sessions
    assert logins.redeem(store, logins.add_learner(store, "ada").token) is not None
    store.dispose()
