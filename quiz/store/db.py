"""Open the database: engine, SQLite pragmas, Alembic upgrade to head, one sessionmaker.

Both engines run the same migrations. SQLite files are backed up once a day
and before every migration (quiz.store.backup); on PostgreSQL a migration is
one transaction under an advisory lock, so a class of learners starting the
app at once upgrades the schema exactly once. What cannot be used (a damaged
file, a schema newer than this app, a server that does not answer) is a
StoreError with a message for the learner, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "DiskFull",
    "Store",
    "open_store",
    "HEAD_REVISION",
    "StoreError",
    "is_disk_full",
    "sqlite_url",
    "sqlite_file",
    "normalize_url",
]

# The newest migration; checked against the scripts by a test, so start-up can
# skip importing Alembic when the database is already current.
HEAD_REVISION = "0004"
MIGRATIONS = Path(__file__).parent / "migrations"
# Held while migrating a PostgreSQL database: one learner's app upgrades, the others wait.
MIGRATION_LOCK = 0x717569_7A  # "quiz"


class StoreError(RuntimeError):
    """The database cannot be used (corrupt, newer than this app, unreachable)."""


class DiskFull(StoreError):
    """A write found no space left: nothing of it was saved (the transaction rolled back)."""


SQLITE_FULL = 13
PG_DISK_FULL = "53100"


def is_disk_full(exc: BaseException) -> bool:
    """Did this write fail for want of space? (SQLite's SQLITE_FULL, PostgreSQL's disk_full, ENOSPC.)"""
    import errno

    if isinstance(exc, OSError):
        return exc.errno == errno.ENOSPC
    orig = getattr(exc, "orig", None)
    if orig is None:
        return False
    if getattr(orig, "sqlite_errorcode", None) == SQLITE_FULL:
        return True
    if (getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)) == PG_DISK_FULL:
        return True
    text = str(orig).lower()
    return "database or disk is full" in text or "no space left on device" in text


@dataclass
class Store:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    revision: str | None

    def session(self) -> Session:
        return self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path)}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer; NORMAL sync: a commit survives the
    # app being killed (kill -9), at most the last commits may be lost on power loss.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def normalize_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3 (the driver quiz ships with)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_file(url: str) -> Path | None:
    """The database file of a file-based SQLite URL; None for memory databases and servers."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    path = url[len("sqlite:///") :].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql"):
        engine = create_engine(
            url,
            pool_size=2,
            max_overflow=4,
            pool_recycle=1800,
            connect_args={"connect_timeout": 10, "application_name": "quiz"},
        )
        _ping_when_idle(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


# A pooled connection unused for longer than this is pinged before use, so a server restart
# costs one reconnect, not an error. One used moments ago is not: a ping per checkout was a
# third of the round trips of saving a review under a class's load, and a connection that
# dies within this window is caught by the error itself (commit_review retries it).
PING_AFTER_IDLE_S = 2.0


def _ping_when_idle(engine: Engine) -> None:
    import time

    from sqlalchemy.exc import DisconnectionError

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["quiz_idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("quiz_idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return  # just connected, or used moments ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"the pooled connection is gone: {exc}") from exc
        if not alive:
            raise DisconnectionError("the pooled connection is gone")

    event.listen(engine.pool, "checkin", checkin)
    event.listen(engine.pool, "checkout", checkout)


def current_revision(engine: Engine) -> str | None:
    """The schema revision, None for an empty database. Connection errors propagate."""
    with engine.connect() as conn:
        try:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        except (OperationalError, ProgrammingError):
            return None  # no alembic_version table yet: an empty database
    return row[0] if row else None


def alembic_config(engine: Engine | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Released at commit; whoever waited finds the schema current and does nothing.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def open_store(url: str, *, migrate: bool = True, backup: bool = True) -> Store:
    """Connect and bring the schema to head. Raises StoreError with a clear message.

    SQLite files with data are backed up before a migration and once a day
    (`backup=False` skips the daily one). When the schema is already at head
    this imports neither Alembic nor the backup code's work beyond a listdir.
    """
    url = normalize_url(url)
    try:
        engine = make_engine(url)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use the database URL {_redact(url)}: {exc}") from None
    path = sqlite_file(url)
    existed = path is not None and path.exists() and path.stat().st_size > 0
    try:
        revision = current_revision(engine)
        if revision != HEAD_REVISION and migrate:
            if revision is not None and not _known_revision(revision):
                raise StoreError(
                    f"the database {_redact(url)} is at schema revision {revision}, newer than this quiz "
                    f"(which knows up to {HEAD_REVISION}); upgrade quiz, or use another --db"
                )
            if revision is not None and path is not None:
                _backup_before_migration(path, revision)
            upgrade(engine)
            revision = current_revision(engine)
        if backup and existed and path is not None:
            _daily_backup(path)
    except StoreError:
        engine.dispose()
        raise
    except DBAPIError as exc:
        engine.dispose()
        raise StoreError(describe_db_error(url, exc)) from None
    return Store(
        url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False), revision=revision
    )


def describe_db_error(url: str, exc: DBAPIError) -> str:
    """One or two lines a learner can act on, from a driver error."""
    detail = " ".join(str(exc.orig).split()) if exc.orig is not None else str(exc)
    where = _redact(url)
    low = detail.lower()
    if url.startswith("sqlite"):
        if "not a database" in low or "malformed" in low or "corrupt" in low:
            return (
                f"cannot use the database {where}: the file is damaged or not a database ({detail}). "
                "quiz keeps backups beside it: `quiz restore` lists them and puts one back"
            )
        return f"cannot open the database {where}: {detail}"
    if "does not exist" in low and "database" in low:
        return f"cannot use {where}: {detail}; ask the server's admin to create it (createdb)"
    if "password authentication failed" in low or "no pg_hba.conf entry" in low:
        return f"the database server {where} refused the login: {detail}"
    if (
        "connection refused" in low
        or "could not connect" in low
        or "timeout" in low
        or "connection failed" in low
    ):
        return (
            f"cannot reach the database server {where}: {detail}. Is the server running and the "
            "address right (--db / QUIZ_DB)?"
        )
    return f"cannot use the database {where}: {detail}"


def _backup_before_migration(path: Path, revision: str) -> None:
    from quiz.store.backup import BackupError, migration_backup

    try:
        migration_backup(path, revision, HEAD_REVISION)
    except BackupError as exc:
        raise StoreError(f"{exc}; the schema was not upgraded, nothing was changed") from None


def _daily_backup(path: Path) -> None:
    from quiz.store.backup import BackupError, daily_backup

    try:
        daily_backup(path)
    except BackupError as exc:
        # A damaged file shows here first (the backup reads every page); anything else only
        # costs a backup, never the session.
        if "malformed" in str(exc) or "not a database" in str(exc):
            raise StoreError(
                f"cannot use the database {path}: it is damaged ({exc}). "
                "`quiz restore` lists the backups and puts one back"
            ) from None
        import logging

        logging.getLogger("quiz.store").warning("daily backup failed: %s", exc)


def _known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    try:
        return script.get_revision(revision) is not None
    except Exception:
        return False


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url
