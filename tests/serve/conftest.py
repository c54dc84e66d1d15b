"""`quiz serve` tests: the tiny deck as the library, the server in this process, screens read with pyte.

The server runs in the test's event loop (quiz.serve.server.ClassServer on a
free port) with short re-check and idle times; every learner's app is a real
`python -m quiz.serve.child` process with real workers. The browser test
(test_browser.py) runs the real `quiz serve` command instead.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pyte
import pytest
from aiohttp import web

from quiz.serve import logins
from quiz.serve.server import COOKIE, ClassServer, ServeConfig
from quiz.store.db import Store, open_store
from tests.classroom.pg import db_url, pg_url  # noqa: F401  (fixtures)
from tests.tui.conftest import small_library  # noqa: F401  (fixture)

PROMPT = re.compile(r"expand\((\d+), (\d+)\)")


class Screen:
    """What a terminal shows after the bytes the server sent (xterm.js in a browser does the same)."""

    def __init__(self, cols: int = 100, rows: int = 32) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)

    def feed(self, data: bytes) -> None:
        self.stream.feed(data)

    def resize(self, cols: int, rows: int) -> None:
        self.screen.resize(rows, cols)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)


@dataclass
class Tab:
    """One learner's websocket, as textual.js drives it, and the screen it draws."""

    ws: aiohttp.ClientWebSocketResponse
    screen: Screen = field(default_factory=Screen)
    closed: bool = False

    async def pump(self, timeout: float) -> None:
        """Read what arrives for up to `timeout` seconds."""
        try:
            message = await self.ws.receive(timeout=timeout)
        except TimeoutError:
            return
        if message.type == aiohttp.WSMsgType.BINARY:
            self.screen.feed(message.data)
        elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            self.closed = True

    async def wait_for(self, condition: Callable[[str], bool], timeout: float = 90.0) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition(self.screen.text()):
            if self.closed:
                raise AssertionError(f"the websocket closed; the screen:\n{self.screen.text()}")
            if loop.time() > deadline:
                raise AssertionError(f"timed out; the screen:\n{self.screen.text()}")
            await self.pump(0.5)
        return self.screen.text()

    async def wait_closed(self, timeout: float = 30.0) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.closed:
            if loop.time() > deadline:
                raise AssertionError(f"still open; the screen:\n{self.screen.text()}")
            await self.pump(0.5)
        return self.screen.text()

    async def keys(self, text: str) -> None:
        await self.ws.send_json(["stdin", text])


class Clock:
    """The server's clock: the real time plus however far a test has moved it (expiry without waiting)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class Served:
    url: str
    server: ClassServer
    store: Store
    origin: str
    clock: Clock

    def sign_in_token(self, name: str) -> str:
        return logins.add_learner(self.store, name).token

    async def client(self, name: str | None = None) -> aiohttp.ClientSession:
        """A browser-like client (its own cookie jar), signed in as `name` when given."""
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        if name is not None:
            token = self.sign_in_token(name)
            async with session.post(
                f"{self.url}/signin",
                data={"token": token},
                headers={"Origin": self.origin},
                allow_redirects=False,
            ) as r:
                assert r.status == 303, await r.text()
        return session

    async def tab(self, session: aiohttp.ClientSession, *, cols: int = 100, rows: int = 32) -> Tab:
        ws = await session.ws_connect(
            f"{self.url}/ws?width={cols}&height={rows}", headers={"Origin": self.origin}
        )
        return Tab(ws, Screen(cols, rows))


def cookie_of(session: aiohttp.ClientSession) -> str:
    for morsel in session.cookie_jar:
        if morsel.key == COOKIE:
            return morsel.value
    raise AssertionError("not signed in")


@pytest.fixture
def serve_config() -> dict[str, Any]:
    """Overrides for the in-process server's ServeConfig (a test changes them before `served`)."""
    return {"seats": 2, "recheck_s": 0.5, "worker_idle_s": 60.0}


@pytest.fixture
def serve_db(db_url: str) -> str:  # noqa: F811
    """The database the server uses: SQLite and PostgreSQL (a module may narrow it)."""
    return db_url


@pytest.fixture
async def served(serve_db: str, small_library: Path, serve_config: dict[str, Any]) -> AsyncIterator[Served]:  # noqa: F811
    store = open_store(serve_db)
    clock = Clock()
    server = ClassServer(ServeConfig(db_url=serve_db, port=0, **serve_config), store, clock=clock)
    runner = web.AppRunner(server.application())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Served(f"http://127.0.0.1:{port}", server, store, f"http://127.0.0.1:{port}", clock)
    finally:
        await runner.cleanup()
        store.dispose()
