"""`quiz backup` / `quiz restore` on SQLite and PostgreSQL: what was saved comes back, the current state is kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from quiz.cli import main
from quiz.core.scheduling import make_scheduler, review
from quiz.store import repo
from quiz.store.classroom import commit_review
from quiz.store.db import open_store
from quiz.store.models import Review

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def add_reviews(url: str, n: int, profile: str = "ada") -> None:
    store = open_store(url)
    try:
        for i in range(n):
            item = repo.ReviewInput(
                card_uid=f"d/c{i}",
                deck_id="d",
                seed=i,
                variables={"i": i},
                answer_given="1",
                expected="1",
                correct=True,
                error=None,
                rating=3,
                backend="torch",
                device="cpu",
                framework_version="2.13.0",
                response_ms=100,
                run_ms=0.1,
                shown_at=NOW,
                reviewed_at=NOW,
            )
            commit_review(store, profile, item, lambda m: review(m, 3, NOW, make_scheduler()))
    finally:
        store.dispose()


def count(url: str) -> int:
    store = open_store(url, backup=False)
    try:
        with store.session() as s:
            return int(s.scalar(select(func.count()).select_from(Review)) or 0)
    finally:
        store.dispose()


def test_backup_then_restore_brings_the_reviews_back(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    add_reviews(db_url, 3)
    assert main(["backup", "--db", db_url, "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["reviews"] == 3 and made["profiles"] == ["ada"]
    add_reviews(db_url, 2, profile="bob")
    assert count(db_url) == 5

    assert main(["restore", "--db", db_url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["backups"]
    assert Path(made["backup"]).name in [b["name"] for b in listed]
    assert main(["restore", Path(made["backup"]).name, "--db", db_url, "--yes", "--json"]) == 0
    restored = json.loads(capsys.readouterr().out)
    assert count(db_url) == 3
    # The state before the restore was kept, and can be restored in turn.
    assert main(["restore", restored["before_restore"], "--db", db_url, "--yes"]) == 0
    assert count(db_url) == 5
    # And the database keeps working: ids continue after the restored rows.
    add_reviews(db_url, 1, profile="cy")
    assert count(db_url) == 6


def test_restore_refuses_a_damaged_or_foreign_file(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    add_reviews(db_url, 1)
    bogus = tmp_path / "not-a-backup.db"
    bogus.write_bytes(b"nope" * 1000)
    assert main(["restore", str(bogus), "--db", db_url, "--yes"]) == 1
    assert "not a readable SQLite database" in capsys.readouterr().err
    assert count(db_url) == 1


def test_restore_asks_and_does_nothing_without_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    add_reviews(url, 2)
    assert main(["backup", str(tmp_path / "copy.db"), "--db", url]) == 0
    add_reviews(url, 1, profile="bob")
    assert main(["restore", str(tmp_path / "copy.db"), "--db", url]) == 1
    assert "nothing restored" in capsys.readouterr().out
    assert count(url) == 3


def test_an_old_backup_is_upgraded_when_opened(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.store.test_migrations import make_0001_database

    old = f"sqlite:///{tmp_path / 'old.db'}"
    _states, reviews = make_0001_database(old)
    url = f"sqlite:///{tmp_path / 'q.db'}"
    add_reviews(url, 1)
    assert main(["restore", str(tmp_path / "old.db"), "--db", url, "--yes"]) == 0
    assert count(url) == len(reviews)


def damage(db: Path) -> None:
    """Overwrite three pages in the middle of the file: SQLite's backup API still copies it."""
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = int(conn.execute("PRAGMA page_size").fetchone()[0])
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    conn.close()
    assert pages > 20
    with open(db, "r+b") as f:
        f.seek(page * 9)
        f.write(b"\xff" * page * 3)


def test_a_damaged_database_gives_one_line_and_no_backup_listed_as_good(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "q.db"
    url = f"sqlite:///{db}"
    add_reviews(url, 200)
    assert main(["backup", "--db", url]) == 0
    good = capsys.readouterr().out.split(" to ")[-1].strip()
    damage(db)

    assert main(["backup", "--db", url]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith(f"quiz: the database {db} is damaged") and "no backup was made" in line
    assert "Traceback" not in captured.err
    assert main(["backup", "--db", url, "--json"]) == 1
    assert "is damaged" in json.loads(capsys.readouterr().out)["error"]

    # Nothing new in the backups folder, not even a temporary file; the good backup is still there.
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [Path(good).name]
    assert main(["restore", "--db", url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["backups"]
    assert [(b["name"], b["intact"]) for b in listed] == [(Path(good).name, True)]

    # A damaged file that got a backup's name some other way is listed as damaged, never as good.
    planted = tmp_path / "backups" / "q-20260101-000000-manual.db"
    planted.write_bytes(db.read_bytes())
    assert main(["restore", "--db", url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["backups"]
    assert {b["name"]: b["intact"] for b in listed} == {planted.name: False, Path(good).name: True}
    assert main(["restore", "--db", url]) == 0
    assert "DAMAGED, cannot be restored" in capsys.readouterr().out
    assert main(["restore", planted.name, "--db", url, "--yes"]) == 1
    assert "malformed" in capsys.readouterr().err
