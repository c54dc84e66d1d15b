"""A real PostgreSQL server for tests: a fresh database per test on the server `.ci/run` starts.

The server's URL comes from QUIZ_TEST_PG_URL (`.ci/run` sets it; locally:
`eval "$(python3 scripts/pg_server.py start /tmp/quiz-pg --fast)"`). Without
it the PostgreSQL tests fail in CI (CI=true) and are skipped elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

PG_ENV = "QUIZ_TEST_PG_URL"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def server_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        message = (
            f"{PG_ENV} is not set, so there is no PostgreSQL server to test against "
            '(start one: eval "$(python3 scripts/pg_server.py start /tmp/quiz-pg --fast)")'
        )
        if in_ci():
            pytest.fail(message + "; .ci/run must start it", pytrace=False)
        pytest.skip(message)
    return url


def create_database(base: str) -> str:
    """A new, empty database on the server; returns its URL."""
    name = f"quiz_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except DBAPIError as exc:
        pytest.fail(f"the PostgreSQL server at {PG_ENV} does not answer: {exc.orig}", pytrace=False)
    finally:
        admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def drop_database(base: str, url: str) -> None:
    name = make_url(url).database
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = server_url()
    url = create_database(base)
    yield url
    drop_database(base, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on both engines: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'quiz.db'}"
        return
    base = server_url()
    url = create_database(base)
    yield url
    drop_database(base, url)
