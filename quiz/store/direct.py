"""Statements straight through psycopg on a pooled connection in autocommit: a class's hot path.

Under a class's load the learners' own CPU is the limit (their apps and the
server share the cores in the bench), and SQLAlchemy's Connection, its
isolation-level switch and a transaction's BEGIN and ROLLBACK round trips
cost more than the driver itself for a single statement. A statement run
here is committed on its own (or, read-only, needs no transaction), and the
connection goes back to the pool as it came: autocommit off, no transaction.
No ROLLBACK is sent, so psycopg keeps the statements it prepared on the
connection (it forgets them at every ROLLBACK) and the server parses and
plans the hot statements once per connection, not once per review.

Driver errors come out as SQLAlchemy's DBAPIError, as from any other
statement, with the connection invalidated when it is gone (the caller's
retry gets a fresh one).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

__all__ = ["DirectCursor", "available", "cursor", "remember", "remembered"]

REMEMBERED = 4096  # cards whose memory an app keeps (a learner's day touches far fewer)
_REMEMBERED: weakref.WeakKeyDictionary[Engine, dict[tuple[str, str], Any]] = weakref.WeakKeyDictionary()


def available(engine: Engine) -> bool:
    """Is this a PostgreSQL engine on psycopg 3 (the only driver this path speaks)?"""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"


def remembered(engine: Engine) -> dict[tuple[str, str], Any]:
    """The memory this app last saw per (profile, card) on this engine: read for the queue, or written.

    quiz.store.classroom builds the next review of the card on it without reading the row again; its
    write stores nothing unless the row still holds exactly that memory (else it reads and retries).
    """
    table = _REMEMBERED.get(engine)
    if table is None:
        table = _REMEMBERED[engine] = {}
    return table


def remember(engine: Engine, profile: str, card_uid: str, memory: Any) -> None:
    table = remembered(engine)
    if len(table) >= REMEMBERED:
        try:
            table.pop(next(iter(table)), None)  # the oldest
        except (RuntimeError, StopIteration):  # another thread of the app changed it meanwhile
            pass
    table[(profile, card_uid)] = memory


class DirectCursor:
    """A psycopg cursor that remembers its last statement, for the error a failure raises."""

    __slots__ = ("_cursor", "params", "statement")

    def __init__(self, raw: Any) -> None:
        self._cursor = raw
        self.statement = ""
        self.params: dict[str, Any] = {}

    def execute(self, statement: str, params: dict[str, Any]) -> None:
        self.statement, self.params = statement, params
        self._cursor.execute(statement, params)

    def fetchone(self) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._cursor.fetchone()
        return row

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._cursor.fetchall()
        return rows


def _error(engine: Engine, exc: Exception, statement: str | None, params: Any, gone: bool) -> DBAPIError:
    dialect = engine.dialect
    error = DBAPIError.instance(
        statement, params, exc, dialect.loaded_dbapi.Error, connection_invalidated=gone, dialect=dialect
    )
    assert isinstance(error, DBAPIError)
    return error


@contextmanager
def cursor(engine: Engine) -> Iterator[DirectCursor]:
    """A cursor on a pooled connection in autocommit; the connection goes back when the block ends."""
    driver_error = engine.dialect.loaded_dbapi.Error
    try:
        fairy = engine.raw_connection()
    except driver_error as exc:  # could not connect: SQLAlchemy's error, as engine.connect() raises
        raise _error(engine, exc, None, None, gone=True) from exc
    dbapi = fairy.dbapi_connection
    assert dbapi is not None
    direct = DirectCursor(None)
    invalidated = False
    try:
        try:
            dbapi.autocommit = True
            raw = dbapi.cursor()
            try:
                direct._cursor = raw
                yield direct
            finally:
                raw.close()
        except driver_error as exc:
            invalidated = engine.dialect.is_disconnect(exc, dbapi, None)
            if invalidated:
                fairy.invalidate(exc)
            raise _error(engine, exc, direct.statement, direct.params, invalidated) from exc
        finally:
            if not invalidated:
                try:
                    dbapi.autocommit = False  # the pool's other users (ORM sessions) expect transactions
                except driver_error as exc:
                    invalidated = True
                    fairy.invalidate(exc)
    finally:
        fairy.close()
