"""quiz.session.prepared.choose: trusted only while the database files and the key are unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from quiz.session.prepared import Prepared, choose, db_stamp

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
KEY = {"url": "x", "profile": "default"}


def prepared(url: str, **kw: object) -> Prepared:
    base: dict[str, object] = dict(
        key=KEY,
        db_stamp=db_stamp(url),
        day_start=(NOW - timedelta(hours=8)).isoformat(),
        new_introduced_today=0,
        due=[((NOW - timedelta(minutes=5)).isoformat(), "d/due")],
        due_complete=True,
        new=["d/new"],
        new_complete=True,
        variants={"d/due": {"seed": 1}, "d/new": {"seed": 2}},
    )
    base.update(kw)
    return Prepared(**base)  # type: ignore[arg-type]


def pick(p: Prepared, url: str, **kw: object) -> object:
    args: dict[str, object] = dict(
        key=KEY, url=url, now=NOW, day_start=NOW - timedelta(hours=8), new_limit=5, usable=lambda u: True
    )
    args.update(kw)
    chosen = choose(p, **args)  # type: ignore[arg-type]
    return chosen[0] if chosen else None


def test_valid_while_nothing_changed(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    db.write_bytes(b"x")
    url = f"sqlite:///{db}"
    p = prepared(url)
    assert pick(p, url) == "d/due"
    assert pick(p, url, usable=lambda u: u != "d/due") == "d/new"


def test_any_write_to_the_database_invalidates(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    db.write_bytes(b"x")
    url = f"sqlite:///{db}"
    p = prepared(url)
    Path(f"{db}-wal").write_bytes(b"a commit")
    assert pick(p, url) is None


def test_other_key_or_server_database_is_not_trusted(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    db.write_bytes(b"x")
    url = f"sqlite:///{db}"
    assert pick(prepared(url), url, key={"url": "x", "profile": "ada"}) is None
    assert pick(prepared(url), "postgresql+psycopg://h/db") is None


def test_new_limit_resets_on_a_new_day(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    db.write_bytes(b"x")
    url = f"sqlite:///{db}"
    p = prepared(url, due=[], new_introduced_today=5)
    assert pick(p, url) is None  # today's limit is used up: nothing prepared to show
    assert pick(p, url, now=NOW + timedelta(days=1), day_start=NOW + timedelta(hours=16)) == "d/new"
