"""`quiz backup` and `quiz restore`: copy the database now, list the backups, put one back."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quiz.cli import add_common
from quiz.commands.common import err, print_json

if TYPE_CHECKING:
    from quiz.config import Settings

BACKUP_DESCRIPTION = """\
Copy the database now. quiz also backs a SQLite database up by itself, once
a day (the last 7 days are kept) and before every schema upgrade; the copies
live in backups/ beside the database file. For a PostgreSQL database
(--db postgresql+psycopg://...) the rows are copied into the same kind of
file under your data dir's backups/, which `quiz restore` reads too."""

RESTORE_DESCRIPTION = """\
Without BACKUP: list the backups of the database, newest last. With BACKUP
(a file, or a name from the list): check that it is an intact quiz
database, back the current database up (reason `before-restore`), then put
the backup's content in its place. A backup from an older quiz is upgraded
the next time the database is opened."""


def register(sub: Any, groups: dict[str, Any]) -> None:
    p = sub.add_parser(
        "backup",
        help="copy the database now (SQLite: also daily and before upgrades, by itself)",
        description=BACKUP_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "out", nargs="?", metavar="OUT", help="where to write the copy (default: the backups folder)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_common(p)
    p.set_defaults(handler=cmd_backup)

    p = sub.add_parser(
        "restore",
        help="list the backups, or put one back (the current database is backed up first)",
        description=RESTORE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("backup", nargs="?", metavar="BACKUP", help="a backup file or its name from the list")
    p.add_argument("--yes", action="store_true", help="do not ask before replacing the database")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_common(p)
    p.set_defaults(handler=cmd_restore)


def _is_server(url: str) -> bool:
    return url.startswith(("postgresql", "postgres"))


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.store import backup as B
    from quiz.store import server_backup as SB
    from quiz.store.db import StoreError, normalize_url, sqlite_file

    url = normalize_url(settings.db_url)
    dest = Path(args.out).expanduser() if args.out else None
    try:
        if _is_server(url):
            path = SB.backup_server(url, dest=dest)
        else:
            db = sqlite_file(url)
            if db is None or not db.exists():
                err(f"no database file to back up at {url}")
                return 2
            path = B.make_backup(db, "manual", dest=dest)
        info = B.inspect(path)
    except (B.BackupError, StoreError) as exc:
        if args.json:
            print_json({"error": str(exc)})
        else:
            err(str(exc))
        return 1
    if args.json:
        print_json(
            {
                "backup": str(path),
                "revision": info.revision,
                "reviews": info.reviews,
                "profiles": info.profiles,
            }
        )
    else:
        print(f"backed up {info.reviews} review(s) of {len(info.profiles)} profile(s) to {path}")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.store import backup as B
    from quiz.store import server_backup as SB
    from quiz.store.db import StoreError, normalize_url, sqlite_file

    url = normalize_url(settings.db_url)
    server = _is_server(url)
    db = B.pg_pseudo_path(url) if server else sqlite_file(url)
    if db is None:
        err(f"cannot restore into {url}")
        return 2
    backups = B.list_backups(db)
    if not args.backup:
        # Every backup is checked before it is listed: a damaged one is never offered as good.
        problems = {b.path: B.check_backup(b.path) for b in backups}
        if args.json:
            print_json(
                {
                    "database": str(db) if not server else url,
                    "backups": [
                        {**b.to_dict(), "intact": problems[b.path] is None, "problem": problems[b.path]}
                        for b in backups
                    ],
                }
            )
        elif not backups:
            print(f"no backups yet in {B.backups_dir(db)}")
        else:
            for b in backups:
                state = (
                    "" if problems[b.path] is None else f"  DAMAGED, cannot be restored ({problems[b.path]})"
                )
                print(
                    f"{b.made_at:%Y-%m-%d %H:%M:%S}  {b.reason:<24} {b.size / 1e6:7.2f} MB  {b.path.name}{state}"
                )
            print(f"({B.backups_dir(db)}; `quiz restore NAME` puts one back)")
        return 0
    chosen = Path(args.backup).expanduser()
    if not chosen.exists():
        named = [b.path for b in backups if b.path.name == args.backup]
        if not named:
            err(f"no backup {args.backup!r}; `quiz restore` lists them")
            return 2
        chosen = named[0]
    try:
        info = B.inspect(chosen)
    except B.BackupError as exc:
        err(str(exc))
        return 1
    if not args.yes:
        from quiz.commands.share import ask

        question = (
            f"Replace the database {('' if server else db)}{url if server else ''} with {chosen.name} "
            f"({info.reviews} reviews, schema {info.revision})?"
        )
        if not ask(question):
            print("nothing restored (pass --yes to restore without a terminal)")
            return 1
    try:
        before = SB.restore_server(url, chosen) if server else B.restore(db, chosen)
    except (B.BackupError, StoreError) as exc:
        err(str(exc))
        return 1
    if args.json:
        print_json(
            {
                "restored": str(chosen),
                "before_restore": str(before) if before else None,
                "reviews": info.reviews,
                "revision": info.revision,
            }
        )
    else:
        print(
            f"restored {chosen.name} ({info.reviews} reviews)"
            + (f"; the previous content is in {before}" if before else "")
        )
    return 0
