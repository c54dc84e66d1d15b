"""Open the database: engine, SQLite pragmas, Alembic upgrade to head, one sessionmaker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DatabaseError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Store", "open_store", "HEAD_REVISION", "StoreError", "sqlite_url"]

# The newest migration; checked against the scripts by a test, so start-up can
# skip importing Alembic when the database is already current.
HEAD_REVISION = "0002"
MIGRATIONS = Path(__file__).parent / "migrations"


class StoreError(RuntimeError):
    """The database cannot be used (corrupt, newer than this app, unreachable)."""


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


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        if url not in ("sqlite://", "sqlite:///:memory:"):
            path = url.split(":///", 1)[-1]
            if path:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
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
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Connect and bring the schema to head. Raises StoreError with a clear message."""
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
        if revision != HEAD_REVISION and migrate:
            if revision is not None and not _known_revision(revision):
                raise StoreError(
                    f"the database is at schema revision {revision}, newer than this quiz "
                    f"(which knows up to {HEAD_REVISION}); upgrade quiz or use another --db"
                )
            upgrade(engine)
            revision = current_revision(engine)
    except DatabaseError as exc:
        engine.dispose()
        raise StoreError(f"cannot use the database {_redact(url)}: {exc.orig}") from None
    except OperationalError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the database {_redact(url)}: {exc.orig}") from None
    return Store(
        url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False), revision=revision
    )


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
