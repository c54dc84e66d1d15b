#!/usr/bin/env python3
"""Start and stop a throwaway PostgreSQL server on 127.0.0.1 for tests and the load script.

    eval "$(python3 scripts/pg_server.py start /tmp/quiz-pg)"     # exports QUIZ_TEST_PG_URL
    python3 scripts/pg_server.py stop /tmp/quiz-pg

PostgreSQL refuses to run as root, so when this runs as root the server runs
as the `postgres` system user (or a `quizci` user it creates). The server
listens on 127.0.0.1 only, on a free port, with its socket in DIR, and trusts
local connections (it is a test server: nothing else can reach it). `--fast`
turns fsync off (tests); without it the server is as durable as a real one
(the load figures). `--stop-with PID` leaves a small watcher that stops the
server and deletes DIR once process PID has ended (CI: the `.ci/run` shell).

Standard library only: `.ci/run` uses it before the venv exists.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

SUPERUSER = "quiz"


def pg_bin(name: str) -> str:
    """A PostgreSQL program: the newest /usr/lib/postgresql/*/bin first (Debian), then PATH."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name))
    for d in reversed(dirs):
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    found = shutil.which(name)
    if found:
        return found
    raise SystemExit(f"pg_server: {name} not found; install PostgreSQL (Debian: apt-get install postgresql)")


def server_user() -> pwd.struct_passwd | None:
    """Who runs the server: None (ourselves) unless we are root, which PostgreSQL refuses."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "quizci"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "quizci"], check=True
    )
    return pwd.getpwnam("quizci")


def as_user(user: pwd.struct_passwd | None) -> dict[str, object]:
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def url_for(port: int, database: str = "postgres") -> str:
    return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/{database}"


def start(directory: Path, *, port: int | None, fast: bool, max_connections: int) -> tuple[str, int]:
    directory = directory.resolve()
    data = directory / "data"
    user = server_user()
    directory.mkdir(parents=True, exist_ok=True)
    if user is not None:
        os.chown(directory, user.pw_uid, user.pw_gid)
    os.chmod(directory, 0o700)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            [pg_bin("initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync"],
            check=True,
            stdout=subprocess.DEVNULL,
            env=env,
            cwd=directory,
            **as_user(user),  # type: ignore[arg-type]
        )
    port = port or free_port()
    options = [
        "-c listen_addresses=127.0.0.1",
        f"-c port={port}",
        f"-c unix_socket_directories={directory}",
        f"-c max_connections={max_connections}",
    ]
    if fast:
        options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
    subprocess.run(
        [
            pg_bin("pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(directory / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            " ".join(options),
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=directory,
        **as_user(user),  # type: ignore[arg-type]
    )
    (directory / "port").write_text(str(port))
    return url_for(port), port


def stop(directory: Path) -> None:
    data = directory.resolve() / "data"
    if not (data / "postmaster.pid").exists():
        return
    subprocess.run(
        [pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        cwd=directory,
        **as_user(server_user()),  # type: ignore[arg-type]
    )


def watch(directory: Path, pid: int) -> None:
    """Stop the server once `pid` is gone (polls; the watcher holds no terminal or pipe)."""
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        except PermissionError:
            pass
        time.sleep(1.0)
    stop(directory)
    shutil.rmtree(directory, ignore_errors=True)  # a throwaway server: its data goes with it


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("start", help="start a server in DIR and print shell exports")
    p.add_argument("dir", type=Path)
    p.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--fast", action="store_true", help="fsync off: for tests, not for figures")
    p.add_argument("--max-connections", type=int, default=300)
    p.add_argument("--stop-with", type=int, metavar="PID", help="stop the server when PID ends")
    p = sub.add_parser("stop", help="stop the server in DIR")
    p.add_argument("dir", type=Path)
    p = sub.add_parser("watch", help=argparse.SUPPRESS)
    p.add_argument("dir", type=Path)
    p.add_argument("pid", type=int)
    args = parser.parse_args()
    if args.command == "start":
        url, _port = start(args.dir, port=args.port, fast=args.fast, max_connections=args.max_connections)
        if args.stop_with:
            subprocess.Popen(
                [sys.executable, __file__, "watch", str(args.dir.resolve()), str(args.stop_with)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
        print(f"export QUIZ_TEST_PG_URL={url}")
        print(f"export QUIZ_PG_DIR={args.dir.resolve()}")
        return 0
    if args.command == "stop":
        stop(args.dir)
        return 0
    watch(args.dir, args.pid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
