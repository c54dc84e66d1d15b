"""Backups of the SQLite database: daily, before each migration, on demand; and restoring one.

A backup is a consistent copy made with SQLite's online backup API (safe while
the app writes), written to a temporary name and renamed, in a `backups/`
folder beside the database:

    quiz.db
    backups/quiz-20261127-081502-daily.db
    backups/quiz-20261127-081502-before-0001-to-0002.db
    backups/quiz-20261130-190044-manual.db

Daily backups keep the last KEEP_DAILY days, migration backups the last
KEEP_MIGRATION; manual and before-restore backups are never removed. A copy
is checked (`PRAGMA quick_check`) before it gets a backup's name: a damaged
database gives no backup at all, never one that `quiz restore` would list as
good. Standard
library at import: the app's start-up path imports this, and SQLAlchemy is
not needed to copy a file. PostgreSQL databases are backed up by copying
their rows into the same kind of SQLite file (`backup_server`), and restored
from one (`restore_server`).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "Backup",
    "BackupError",
    "backups_dir",
    "check_backup",
    "daily_backup",
    "inspect",
    "list_backups",
    "make_backup",
    "restore",
]

KEEP_DAILY = 7
KEEP_MIGRATION = 5
NAME_RE = re.compile(r"^(?P<stem>.+)-(?P<stamp>\d{8}-\d{6})-(?P<reason>[a-z0-9-]+)\.db$")


class BackupError(RuntimeError):
    """A backup could not be made, read or restored; the message says why in the learner's words."""


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    made_at: datetime  # local time, from the name
    reason: str  # daily | manual | before-restore | before-0001-to-0002
    size: int

    def to_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "name": self.path.name,
            "made_at": self.made_at.isoformat(timespec="seconds"),
            "reason": self.reason,
            "size": self.size,
        }


def backups_dir(db_path: Path) -> Path:
    return db_path.parent / "backups"


def _now() -> datetime:
    return datetime.now().astimezone()


def _name(db_path: Path, reason: str, now: datetime) -> str:
    return f"{db_path.stem}-{now.strftime('%Y%m%d-%H%M%S')}-{reason}.db"


def make_backup(
    db_path: Path, reason: str = "manual", *, now: datetime | None = None, dest: Path | None = None
) -> Path:
    """Copy the database (consistently, while it may be in use) to `dest` or the backups folder."""
    now = now or _now()
    if dest is None:
        folder = backups_dir(db_path)
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / _name(db_path, reason, now)
        n = 1
        while dest.exists():  # two backups in the same second
            dest = folder / _name(db_path, f"{reason}-{n}", now)
            n += 1
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
        try:
            out = sqlite3.connect(tmp)
            try:
                src.backup(out)
                # A single file: no -wal beside the copy.
                out.execute("PRAGMA journal_mode=DELETE")
            finally:
                out.close()
        finally:
            src.close()
        # The copy read every page of the database: check it before it is named a backup.
        problem = check_backup(tmp)
        if problem is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise BackupError(
                f"the database {db_path} is damaged (malformed: {problem}); no backup was made, the "
                "backups you have are kept: `quiz restore` lists them"
            )
        os.replace(tmp, dest)
    except sqlite3.DatabaseError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise BackupError(f"cannot back up {db_path}: {exc}") from None
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise BackupError(f"cannot write the backup {dest}: {exc.strerror or exc}") from None
    return dest


def list_backups(db_path: Path) -> list[Backup]:
    """The backups of this database, oldest first."""
    folder = backups_dir(db_path)
    out = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    for p in entries:
        m = NAME_RE.match(p.name)
        if not m or m["stem"] != db_path.stem:
            continue
        try:
            made = datetime.strptime(m["stamp"], "%Y%m%d-%H%M%S")
            size = p.stat().st_size
        except (ValueError, OSError):
            continue
        out.append(Backup(p, made, m["reason"], size))
    return sorted(out, key=lambda b: (b.made_at, b.path.name))


def _prune(db_path: Path, reason_prefix: str, keep: int) -> None:
    kept = [b for b in list_backups(db_path) if b.reason.startswith(reason_prefix)]
    for b in kept[:-keep] if keep else kept:
        with contextlib.suppress(OSError):
            b.path.unlink()


def daily_backup(db_path: Path, *, now: datetime | None = None) -> Path | None:
    """Back up once per calendar day (local time); None when today's backup exists already."""
    now = now or _now()
    today = now.strftime("%Y%m%d")
    folder = backups_dir(db_path)
    prefix = f"{db_path.stem}-{today}-"
    try:
        if any(n.startswith(prefix) and n.endswith("-daily.db") for n in os.listdir(folder)):
            return None
    except FileNotFoundError:
        pass
    # make_backup checked the copy before naming it: a damaged one never pushes an older, good one out.
    path = make_backup(db_path, "daily", now=now)
    _prune(db_path, "daily", KEEP_DAILY)
    return path


def check_backup(path: Path) -> str | None:
    """What is wrong with a backup file (SQLite's quick_check), None when it is intact."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(3)")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if rows == ["ok"] else "; ".join(" ".join(r.split()) for r in rows)


def migration_backup(db_path: Path, from_rev: str, to_rev: str, *, now: datetime | None = None) -> Path:
    path = make_backup(db_path, f"before-{from_rev}-to-{to_rev}".lower(), now=now)
    _prune(db_path, "before-0", KEEP_MIGRATION)
    return path


@dataclass(frozen=True, slots=True)
class Inspection:
    """What a backup file holds, read without changing it."""

    revision: str | None
    reviews: int
    profiles: list[str]


def inspect(path: Path) -> Inspection:
    """Open a backup read-only: it must be an intact quiz database. Raises BackupError."""
    if not path.is_file():
        raise BackupError(f"no backup file {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()
            if not ok or ok[0] != "ok":
                raise BackupError(f"{path} is damaged ({ok[0] if ok else 'no answer'}); pick another backup")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "alembic_version" not in tables or "review" not in tables:
                raise BackupError(f"{path} is not a quiz database")
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            reviews = int(conn.execute("SELECT count(*) FROM review").fetchone()[0])
            profiles = sorted(
                {r[0] for r in conn.execute("SELECT DISTINCT profile FROM card_state")}
                | {r[0] for r in conn.execute("SELECT DISTINCT profile FROM review")}
            )
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database ({exc})") from None
    return Inspection(row[0] if row else None, reviews, profiles)


def restore(db_path: Path, backup: Path, *, now: datetime | None = None) -> Path | None:
    """Replace the database's content with the backup's; the current content is backed up first.

    Copies through SQLite's backup API into the open database file, so its
    WAL stays consistent and an app that has it open sees the restored data
    at its next transaction. Returns the before-restore backup (None when
    there was no database).
    """
    inspect(backup)  # refuse a damaged or foreign file before touching anything
    before = None
    if db_path.exists() and db_path.stat().st_size > 0:
        try:
            before = make_backup(db_path, "before-restore", now=now)
        except BackupError as exc:
            raise BackupError(
                f"{exc}; nothing was restored (the current database may be damaged: "
                f"move {db_path} aside and run restore again)"
            ) from None
    db_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(db_path, timeout=30)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            f"restoring {backup} into {db_path} failed ({exc}); the previous content is in {before}"
        ) from None
    return before


# --- PostgreSQL: a logical copy into a SQLite file, and back -----------------------------------
# The same file format as the SQLite backups (a quiz database at some schema revision), so one
# `quiz restore` reads both and an old backup is migrated before it is loaded.


def pg_backup_path(url: str, reason: str, *, now: datetime | None = None) -> Path:
    """Where a backup of a server database goes: the data dir's backups/, named after host and database."""
    pseudo = pg_pseudo_path(url)
    folder = backups_dir(pseudo)
    folder.mkdir(parents=True, exist_ok=True)
    now = now or _now()
    path, n = folder / _name(pseudo, reason, now), 1
    while path.exists():  # two backups in the same second: never overwrite one
        path, n = folder / _name(pseudo, f"{reason}-{n}", now), n + 1
    return path


def pg_pseudo_path(url: str) -> Path:
    """The name list_backups() files a server database's backups under."""
    from sqlalchemy.engine import make_url

    from quiz import paths

    u = make_url(url)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"pg-{u.host or 'local'}-{u.database or 'db'}")
    return paths.data_dir() / f"{stem}.db"


def copy_rows(source: Any, dest: Any) -> int:
    """Copy every table's rows from one engine to another (both at head; dest emptied first)."""
    from sqlalchemy import delete, insert, select, text

    from quiz.store.models import Base

    tables = Base.metadata.sorted_tables
    n = 0
    with source.connect() as src, dest.begin() as dst:
        for table in reversed(tables):
            dst.execute(delete(table))
        for table in tables:
            result = src.execute(select(table)).mappings()
            while batch := result.fetchmany(1000):
                dst.execute(insert(table), [dict(r) for r in batch])
                n += len(batch)
        if dest.dialect.name == "postgresql":
            for table in tables:
                if "id" in table.c:
                    dst.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"COALESCE((SELECT MAX(id) FROM {table.name}), 1), "
                            f"(SELECT MAX(id) FROM {table.name}) IS NOT NULL)"
                        )
                    )
    return n
