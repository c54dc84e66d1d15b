"""`quiz serve`: the class server — learners study in a browser, each signed in as their own profile."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from quiz.cli import add_common
from quiz.commands.common import err

if TYPE_CHECKING:
    from quiz.config import Settings

DESCRIPTION = """\
Serve the quiz app to browsers: learners study the course decks on this
machine's frameworks, on the class's database, without installing anything.
Each signed-in browser gets its own app process bound to that learner's
profile; card code runs contained in that process's own workers.

Learners sign in with a one-time link from `quiz class add-learner NAME`;
`quiz class remove-learner NAME` takes the access away (a running app closes
within seconds); `quiz class report` shows everyone's progress.

The server listens on 127.0.0.1 unless --host says otherwise, and speaks
plain HTTP: to reach it from other machines, put a reverse proxy with TLS
in front (Caddy or nginx; see the README) and pass --public-url.

At most --seats apps run at once (default: what three quarters of the
memory holds when every worker is busy); more learners wait in order, and
their page says so. An app with no key pressed for --idle-minutes is closed
to free its seat."""

EPILOG = """\
examples:
  quiz serve --db postgresql+psycopg://teacher@db.school/quiz
  quiz serve --db postgresql+psycopg://teacher@db.school/quiz --public-url https://quiz.school --seats 12
  quiz serve --db sqlite:////srv/quiz/class.db --port 8080          # one machine, a small class

--json prints one line when the server is listening: {url, host, port, seats,
seat_memory_mb, worker_memory_mb, idle_minutes, session_hours, db}."""


def register(sub: Any, groups: dict[str, Any]) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the app to browsers, one signed-in learner per session (a class)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0: any free port)")
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="the address learners use, e.g. https://quiz.school behind a TLS proxy (cookies get Secure)",
    )
    p.add_argument("--seats", type=_positive, help="apps running at once; more learners queue")
    p.add_argument(
        "--idle-minutes", type=_positive_float, default=20.0, help="close an app idle this long (default: 20)"
    )
    p.add_argument(
        "--session-hours", type=_positive_float, default=12.0, help="a sign-in lasts this long (default: 12)"
    )
    p.add_argument(
        "--worker-memory-mb",
        type=_positive,
        default=768,
        help="memory card code may use per framework worker (default: 768)",
    )
    p.add_argument(
        "--device",
        choices=("cpu", "gpu", "auto"),
        default="cpu",
        help="where card code runs (default: cpu; GPU workers have no memory limit)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON line once listening")
    add_common(p)
    p.set_defaults(handler=cmd_serve)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("more than 0")
    return value


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio
    import logging

    from quiz.runner.backends import backend_info
    from quiz.serve.seats import default_seats, seat_memory_mb
    from quiz.serve.server import ServeConfig
    from quiz.store.db import StoreError, open_store

    if args.public_url and not args.public_url.startswith(("http://", "https://")):
        err(f"--public-url must start with http:// or https://, not {args.public_url!r}")
        return 2
    try:
        store = open_store(settings.db_url)
    except StoreError as exc:
        err(str(exc))
        return 2
    workers = sum(1 for b in settings.backends if backend_info(b).installed) or 1
    per_seat = seat_memory_mb(workers, args.worker_memory_mb)
    config = ServeConfig(
        db_url=settings.db_url,
        seats=args.seats or default_seats(workers, args.worker_memory_mb),
        host=args.host,
        port=args.port,
        public_url=args.public_url.rstrip("/") if args.public_url else None,
        idle_s=args.idle_minutes * 60,
        session_s=args.session_hours * 3600,
        device=args.device,
        worker_memory_mb=args.worker_memory_mb,
    )
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    def ready(url: str, port: int) -> None:
        db = redacted(settings.db_url)
        if args.json:
            print_json_line(
                {
                    "url": url,
                    "host": config.host,
                    "port": port,
                    "seats": config.seats,
                    "seat_memory_mb": per_seat,
                    "worker_memory_mb": config.worker_memory_mb,
                    "idle_minutes": args.idle_minutes,
                    "session_hours": args.session_hours,
                    "db": db,
                }
            )
            return
        print(f"quiz serve: {url}  (database {db})")
        print(
            f"{config.seats} seat{'s' if config.seats != 1 else ''}: apps running at once, each up to about {per_seat} MB (the app and "
            f"{workers} framework worker(s), card code {config.worker_memory_mb} MB each); --seats changes it."
        )
        if config.host not in ("127.0.0.1", "localhost", "::1") and not (config.public_url or "").startswith(
            "https://"
        ):
            print(
                "warning: listening beyond this machine over plain HTTP; put a TLS proxy in front "
                "(README: the class server) and pass --public-url https://...",
                file=sys.stderr,
            )
        print(f"Add a learner: quiz class add-learner NAME --url {url} --db {db}")
        print("Ctrl+C stops the server.", flush=True)

    try:
        asyncio.run(_serve(config, store, ready))
    except OSError as exc:
        err(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}")
        return 2
    finally:
        store.dispose()
    return 0


def redacted(url: str) -> str:
    """The database URL without its password, for the screen and the logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(the database)"


def print_json_line(obj: dict[str, Any]) -> None:
    import json

    print(json.dumps(obj), flush=True)


async def _serve(config: Any, store: Any, ready: Any) -> None:
    import asyncio
    import signal

    from aiohttp import web

    from quiz.serve.server import ClassServer

    server = ClassServer(config, store)
    # The access log never holds a secret: tokens travel in POST bodies and #fragments, sessions
    # in cookies, and neither headers nor bodies are logged.
    runner = web.AppRunner(server.application(), access_log_format='%a "%r" %s %b %Tfs')
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    port = int(runner.addresses[0][1]) if runner.addresses else config.port
    host = f"[{config.host}]" if ":" in config.host else config.host
    ready(config.public_url or f"http://{host}:{port}", port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
