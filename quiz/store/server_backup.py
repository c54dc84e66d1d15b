"""Backups of a PostgreSQL server database: copied into a SQLite backup file, and restored from one.

Apart from quiz.store.backup (file backups, which quiz.store.db calls when it opens a store) so
that neither of those two modules imports the other.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from quiz.store.backup import copy_rows, inspect, pg_backup_path
from quiz.store.db import open_store, sqlite_url


def backup_server(url: str, reason: str = "manual", *, dest: Path | None = None) -> Path:
    """Copy a PostgreSQL database into a SQLite backup file."""
    dest = dest or pg_backup_path(url, reason)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        tmp.unlink()
    source = open_store(url, backup=False)
    try:
        out = open_store(sqlite_url(tmp), backup=False)
        try:
            copy_rows(source.engine, out.engine)
        finally:
            out.dispose()
    finally:
        source.dispose()
    conn = sqlite3.connect(tmp)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()
    os.replace(tmp, dest)
    return dest


def restore_server(url: str, backup: Path) -> Path:
    """Replace a PostgreSQL database's rows with a backup's, in one transaction; returns the before-restore backup."""
    import shutil
    import tempfile

    inspect(backup)
    before = backup_server(url, "before-restore")
    with tempfile.TemporaryDirectory(prefix="quiz-restore-") as tmpdir:
        copy = Path(tmpdir) / "backup.db"
        shutil.copyfile(backup, copy)
        staged = open_store(sqlite_url(copy), backup=False)  # an older backup is migrated here first
        target = open_store(url, backup=False)
        try:
            copy_rows(staged.engine, target.engine)
        finally:
            staged.dispose()
            target.dispose()
    return before
