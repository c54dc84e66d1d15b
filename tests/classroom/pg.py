"""A real PostgreSQL server for tests: a fresh database per test, on a server the tests start themselves.

`pg_server` (session) is the server's URL: QUIZ_TEST_PG_URL when set (any
server you run), else a throwaway server started once per test session with
scripts/pg_server.py (fsync off, 127.0.0.1, run as the `postgres` user when
the tests run as root, since PostgreSQL refuses root) and stopped at the end,
or by a watcher process if the test run is killed. Only where PostgreSQL's
programs (initdb, pg_ctl) are not installed are the PostgreSQL tests skipped,
all with the one reason; in CI (CI=true) that fails them instead. A server that
is installed but cannot start fails them with its log, never a skip.

The fixtures are registered for the whole suite by tests/conftest.py.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.ci import in_ci, unavailable_plan

PG_ENV = "QUIZ_TEST_PG_URL"
PG_SERVER_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pg_server.py"
PROGRAMS = ("initdb", "pg_ctl", "postgres")


def pg_server_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("quiz_tests_pg_server", PG_SERVER_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def missing_programs(server: ModuleType) -> list[str]:
    """PostgreSQL's server programs that are not on this machine (where scripts/pg_server.py looks)."""
    missing = []
    for name in PROGRAMS:
        try:
            server.pg_bin(name)
        except SystemExit:
            missing.append(name)
    return missing


def not_installed_reason(missing: list[str]) -> str:
    return (
        f"PostgreSQL is not installed ({', '.join(missing)} not found in /usr/lib/postgresql/*/bin or on PATH): "
        "the PostgreSQL tests need its server programs (Debian/Ubuntu: apt-get install postgresql), "
        f"or a server of yours in {PG_ENV}"
    )


def server_plan(env_url: str | None, missing: list[str], ci: bool) -> tuple[str, str]:
    """What the session does for PostgreSQL: ("use", url), ("start", ""), ("skip", why) or ("fail", why)."""
    if env_url:
        return "use", env_url
    if not missing:
        return "start", ""
    return unavailable_plan(not_installed_reason(missing), ci)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URL of a PostgreSQL server for this test session (see the module docstring)."""
    server = pg_server_module()
    env_url = os.environ.get(PG_ENV)
    plan, detail = server_plan(env_url, [] if env_url else missing_programs(server), in_ci())
    if plan == "use":
        yield detail
        return
    if plan == "fail":
        pytest.fail(detail, pytrace=False)
    if plan == "skip":
        pytest.skip(detail)
    # Not under pytest's tmp dir: that is private to us, and the server may run as another user.
    directory = Path(tempfile.mkdtemp(prefix="quiz-test-pg-"))
    try:
        url, _port = server.start(directory, port=None, fast=True, max_connections=300)
    except (subprocess.CalledProcessError, OSError) as exc:
        log = directory / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no server log)"
        shutil.rmtree(directory, ignore_errors=True)
        pytest.fail(f"PostgreSQL is installed but the test server did not start: {exc}\n{tail}", pytrace=False)
    # Stops the server should this run be killed before the teardown below.
    watcher = subprocess.Popen(
        [sys.executable, str(PG_SERVER_SCRIPT), "watch", str(directory), str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    try:
        yield url
    finally:
        watcher.terminate()
        watcher.wait(timeout=30)
        server.stop(directory)
        shutil.rmtree(directory, ignore_errors=True)


def create_database(base: str) -> str:
    """A new, empty database on the server; returns its URL."""
    name = f"quiz_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except DBAPIError as exc:
        pytest.fail(f"the PostgreSQL server for the tests does not answer: {exc.orig}", pytrace=False)
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
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    url = create_database(pg_server)
    yield url
    drop_database(pg_server, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on both engines: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'quiz.db'}"
        return
    base: str = request.getfixturevalue("pg_server")
    url = create_database(base)
    yield url
    drop_database(base, url)
