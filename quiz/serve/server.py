"""`quiz serve`: the class server. Signed-in learners get the quiz app in the browser, one process each.

What is checked where:

- Every request but the sign-in page, its script and the sign-in POST goes
  through `guard`, which reads the session cookie and looks its sha256 up in
  the database (live, not expired, not removed); otherwise 401, or a redirect
  to the sign-in page for `/`. That covers the page, textual-serve's static
  files and the websocket alike.
- POSTs and the websocket handshake must come from this site's own pages
  (the Origin header names this host): a page elsewhere cannot drive a
  learner's app. The cookie is HttpOnly and SameSite=Strict, and Secure when
  the server is reached over TLS.
- The learner comes from the session, and the app process is started for that
  profile by the server (quiz.serve.child); the browser only sends keys, a
  size, focus and pings, each checked for type and size.
- A running app is ended when its session ends (signed out, expired, or
  `quiz class remove-learner`), checked every `recheck_s`, when its learner
  has been idle for `idle_s`, and when the same learner opens another tab.
- At most `seats` apps run at once; the others wait in order, told so on
  their page (quiz.serve.seats).
- Sign-ins are limited (quiz.serve.limits): refused ones per address, and
  every attempt with a learner's token per learner, in a sliding window;
  past a limit the form answers 429 with Retry-After and spends no token.
- Every expiry (sessions, sign-in tokens, the limits' windows) reads the
  server's one clock, `ClassServer.clock` (tests move it instead of waiting).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from quiz.serve import logins, pages
from quiz.serve.limits import AttemptLimiter, client_address
from quiz.serve.process import AppProcess
from quiz.serve.seats import Seats
from quiz.store.db import Store

__all__ = ["ServeConfig", "ClassServer", "COOKIE", "static_dir"]

log = logging.getLogger("quiz.serve")

COOKIE = "quiz_session"
PUBLIC = {("GET", "/signin"), ("POST", "/signin"), ("GET", "/signin.js")}
MAX_COLS, MAX_ROWS = 400, 200  # a resize beyond this is clamped: the app allocates cols × rows
MAX_MESSAGE = 64 * 1024  # one websocket message from the browser (a paste is a few KB)
HOST = re.compile(r"[A-Za-z0-9.\-:\[\]]{1,255}")
PROFILE = web.RequestKey("profile", str)  # set by `guard` from the session: whose request this is
PRUNING = web.AppKey("pruning", asyncio.Task[None])


def static_dir() -> Path:
    """textual-serve's browser client: textual.js, xterm.css and the Roboto Mono fonts."""
    import textual_serve

    return Path(textual_serve.__file__).parent / "static"


@dataclass(frozen=True)
class ServeConfig:
    db_url: str
    seats: int
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None  # what learners type (https://quiz.school); else from the request
    idle_s: float = 20 * 60.0  # an app with no key pressed this long is closed, its seat freed
    session_s: float = logins.SESSION_HOURS * 3600
    recheck_s: float = 10.0  # how often a running app's session is looked up again
    device: str = "cpu"
    worker_memory_mb: int = 768  # card code's memory per worker, over the warm framework
    worker_idle_s: float = 300.0
    threads: int = 1  # intra-op threads per worker: thirty learners share the cores
    signin_window_s: float = 600.0  # the sign-in limits count attempts in this sliding window
    signin_failures_per_address: int = 20  # refused sign-ins from one address (a school shares one)
    signin_attempts_per_learner: int = 10  # attempts with one learner's tokens, used or not


class ClassServer:
    """The aiohttp application and what it keeps while running: the seats and the live apps."""

    def __init__(
        self, config: ServeConfig, store: Store, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock or (lambda: datetime.now(UTC))
        self.seats = Seats(config.seats)
        self.live: dict[str, _Learner] = {}  # profile → its connection (one app per learner)
        seconds = self._seconds
        self.address_failures = AttemptLimiter(
            config.signin_failures_per_address, config.signin_window_s, seconds
        )
        self.learner_attempts = AttemptLimiter(
            config.signin_attempts_per_learner, config.signin_window_s, seconds
        )

    def _seconds(self) -> float:
        return self.clock().timestamp()

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self.guard], client_max_size=16 * 1024)
        app.add_routes(
            [
                web.get("/", self.index),
                web.get("/signin", self.sign_in_form),
                web.post("/signin", self.sign_in),
                web.get("/signin.js", self.script(pages.SIGN_IN_JS)),
                web.get("/app.js", self.script(pages.APP_JS)),
                web.post("/signout", self.sign_out),
                web.get("/ws", self.websocket),
                web.get("/favicon.ico", self.no_icon),
                web.static("/static", static_dir(), show_index=False, follow_symlinks=False),
            ]
        )
        app.on_startup.append(self._start_pruning)
        app.on_shutdown.append(self._close_all)
        return app

    # --- the session check, on every route --------------------------------------------------

    async def _profile(self, request: web.Request) -> str | None:
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        return await asyncio.to_thread(logins.session_profile, self.store, cookie, now=self.clock())

    @web.middleware
    async def guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if (request.method, request.path) not in PUBLIC:
            if request.method not in ("GET", "HEAD") and not self._same_origin(request):
                raise web.HTTPForbidden(text="cross-site request refused")
            profile = await self._profile(request)
            if profile is None:
                if request.method == "GET" and request.path == "/":
                    raise web.HTTPSeeOther("/signin", headers=self._headers(request))
                raise web.HTTPUnauthorized(text="sign in first", headers=self._headers(request))
            request[PROFILE] = profile
        elif request.method == "POST" and not self._same_origin(request):
            raise web.HTTPForbidden(text="cross-site request refused")
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as exc:
            exc.headers.update(self._headers(request))
            raise
        if not response.prepared:  # a websocket has sent its headers already
            response.headers.update(self._headers(request))
        return response

    def _headers(self, request: web.Request) -> dict[str, str]:
        host = request.headers.get("Host", "")
        connect = f"'self' ws://{host} wss://{host}" if HOST.fullmatch(host) else "'self'"
        return pages.security_headers(connect)

    def _same_origin(self, request: web.Request) -> bool:
        """The Origin header names this server (as reached, or its public URL). Browsers always send it."""
        origin = request.headers.get("Origin")
        if not origin:
            return False
        where = urlsplit(origin).netloc
        if not where:
            return False
        hosts = {request.headers.get("Host", "")}
        if self.config.public_url:
            hosts.add(urlsplit(self.config.public_url).netloc)
        return where in hosts

    def _secure(self, request: web.Request) -> bool:
        return (
            request.secure
            or request.headers.get("X-Forwarded-Proto", "").lower() == "https"
            or (self.config.public_url or "").startswith("https://")
        )

    # --- pages ---------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        return web.Response(text=pages.app_page(request[PROFILE]), content_type="text/html")

    async def sign_in_form(self, request: web.Request) -> web.Response:
        return web.Response(text=pages.sign_in_page(), content_type="text/html")

    async def no_icon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    def script(self, source: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            return web.Response(text=source, content_type="application/javascript")

        return handler

    async def sign_in(self, request: web.Request) -> web.Response:
        address = client_address(request.remote, request.headers.get("X-Forwarded-For"))
        wait = self.address_failures.wait_s(address)
        if wait:
            log.info("sign-in from %s held back: too many refused", address)
            return self._too_many(wait, "from this address")
        form = await request.post()
        token = form.get("token")
        signed = None
        if isinstance(token, str):
            owner = await asyncio.to_thread(logins.token_owner, self.store, token)
            if owner is not None:
                wait = self.learner_attempts.wait_s(owner)
                if wait:
                    log.info("sign-in as %s from %s held back: too many for this learner", owner, address)
                    self.address_failures.record(address)
                    return self._too_many(wait, "for this learner")
                self.learner_attempts.record(owner)
                signed = await asyncio.to_thread(
                    logins.redeem,
                    self.store,
                    token,
                    lifetime=timedelta(seconds=self.config.session_s),
                    now=self.clock(),
                )
        if signed is None:
            log.info("sign-in refused from %s", address)
            self.address_failures.record(address)
            return web.Response(
                status=403,
                text=pages.sign_in_page(
                    "That sign-in token is unknown, already used or expired. Ask your instructor for a new one."
                ),
                content_type="text/html",
            )
        log.info("%s signed in from %s", signed.profile, address)
        response = web.HTTPSeeOther("/")
        response.set_cookie(
            COOKIE,
            signed.session,
            max_age=int(self.config.session_s),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=self._secure(request),
        )
        raise response

    def _too_many(self, wait_s: float, where: str) -> web.Response:
        """429: nothing was looked up or spent; the token still works once the window has moved on."""
        minutes = max(1, math.ceil(wait_s / 60))
        return web.Response(
            status=429,
            headers={"Retry-After": str(max(1, math.ceil(wait_s)))},
            text=pages.sign_in_page(
                f"Too many sign-in attempts {where}. Try again in {minutes} minute{'s' if minutes > 1 else ''}; "
                "your sign-in link still works."
            ),
            content_type="text/html",
        )

    async def sign_out(self, request: web.Request) -> web.Response:
        cookie = request.cookies.get(COOKIE, "")
        await asyncio.to_thread(logins.end_session, self.store, cookie)
        learner = self.live.get(request[PROFILE])
        if learner is not None:
            learner.end("You signed out.")
        response = web.HTTPSeeOther("/signin")
        response.del_cookie(COOKIE, path="/")
        raise response

    # --- the app, over the websocket ----------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        if not self._same_origin(request):
            raise web.HTTPForbidden(text="cross-site websocket refused")
        ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=MAX_MESSAGE)
        await ws.prepare(request)
        learner = _Learner(self, ws, request[PROFILE], request.cookies.get(COOKIE, ""), request.query)
        before = self.live.get(learner.profile)
        if before is not None:
            before.end("You opened quiz in another tab or window; it continues there.")
        self.live[learner.profile] = learner
        try:
            await learner.run()
        finally:
            if self.live.get(learner.profile) is learner:
                del self.live[learner.profile]
        return ws

    async def _start_pruning(self, app: web.Application) -> None:
        async def prune() -> None:
            while True:
                try:
                    n = await asyncio.to_thread(logins.prune, self.store, now=self.clock())
                    if n:
                        log.info("pruned %d expired or used sign-ins and sessions", n)
                except Exception:
                    log.exception("pruning sessions failed")
                await asyncio.sleep(600)

        app[PRUNING] = asyncio.create_task(prune())

    async def _close_all(self, app: web.Application) -> None:
        app[PRUNING].cancel()
        for learner in list(self.live.values()):
            learner.end("The server is stopping.")
        for learner in list(self.live.values()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(learner.done.wait(), 20)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} minutes" if seconds >= 120 else f"{seconds:.0f} seconds"


def _clamp(value: Any, low: int, high: int, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # None, "wide", NaN, 1e999
        return default
    return max(low, min(high, number))


class _Learner:
    """One browser tab: waits for a seat, runs the learner's app, and ends it for a reason."""

    def __init__(
        self, server: ClassServer, ws: web.WebSocketResponse, profile: str, cookie: str, query: Any
    ) -> None:
        self.server = server
        self.ws = ws
        self.profile = profile
        self.cookie = cookie
        self.width = _clamp(query.get("width"), 10, MAX_COLS, 80)
        self.height = _clamp(query.get("height"), 5, MAX_ROWS, 24)
        self.app: AppProcess | None = None
        self.last_input = time.monotonic()
        self.shown = False  # the app has drawn its first screen
        self.reason: str | None = None
        self.ended = asyncio.Event()
        self.done = asyncio.Event()

    def end(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.ended.set()

    async def say(self, text: str) -> None:
        """A message written into the page's terminal (the app's screen is not up, or is gone)."""
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.send_bytes(
                ("\x1b[?1049l\x1b[2J\x1b[H\x1b[?25l\r\n  " + text.replace("\n", "\r\n  ") + "\r\n").encode()
            )

    async def _output(self, data: bytes) -> None:
        if not self.shown:  # the idle clock starts when the learner sees the app, not in the queue
            self.shown = True
            self.last_input = time.monotonic()
        if not self.ws.closed:
            await self.ws.send_bytes(data)

    async def run(self) -> None:
        reader = asyncio.create_task(self._read())
        watcher = asyncio.create_task(self._watch())
        main = asyncio.create_task(self._with_seat())
        try:
            await asyncio.wait({reader, main}, return_when=asyncio.FIRST_COMPLETED)
            if not main.done():
                self.end("The page was closed.")
                await asyncio.wait({main})
        finally:
            for task in (reader, watcher, main):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if not self.ws.closed:
                if self.reason:
                    await self.say(self.reason + "\n\nReload the page to start again.")
                await self.ws.close()
            self.done.set()

    async def _with_seat(self) -> None:
        seats = self.server.seats

        async def waiting(position: int) -> None:
            ahead = {1: "you are next", 2: "1 learner is ahead of you"}.get(
                position, f"{position - 1} learners are ahead of you"
            )
            which = "the only seat" if seats.capacity == 1 else f"all {seats.capacity} seats"
            await self.say(
                f"Waiting for a free seat: {which} on this server {'is' if seats.capacity == 1 else 'are'} "
                f"in use and {ahead}.\nYour quiz starts by itself as soon as a seat is free; keep this page open."
            )

        taken = asyncio.ensure_future(self._in_seat(seats, waiting))
        stop = asyncio.ensure_future(self.ended.wait())
        try:
            await asyncio.wait({taken, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not taken.done():
                taken.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await taken

    async def _in_seat(self, seats: Seats, waiting: Any) -> None:
        async with seats.take(waiting):
            if self.ended.is_set():
                return
            log.info("%s starts an app (%d of %d seats in use)", self.profile, seats.in_use, seats.capacity)
            cfg = self.server.config
            self.app = AppProcess(
                {
                    "profile": self.profile,
                    "db_url": cfg.db_url,
                    "device": cfg.device,
                    "worker_memory_mb": cfg.worker_memory_mb,
                    "worker_idle_s": cfg.worker_idle_s,
                    "threads": cfg.threads,
                },
                on_output=self._output,
            )
            try:
                await self.app.start(self.width, self.height)
                exited = asyncio.ensure_future(self.app.exited.wait())
                stop = asyncio.ensure_future(self.ended.wait())
                try:
                    await asyncio.wait({exited, stop}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    exited.cancel()
                    stop.cancel()
                if self.reason is None and not self.ended.is_set():  # the app ended by itself
                    code = await asyncio.shield(self.app.stop())
                    self.reason = (
                        "quiz has closed."
                        if code == 0
                        else "quiz stopped after an error; your answers up to the last rating are saved. "
                        "The server's log has the details."
                    )
            finally:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(self.app.stop())
                log.info("%s's app ended: %s", self.profile, self.reason)

    async def _read(self) -> None:
        """The browser's messages until it goes away: keys, size, focus, ping. Anything else is ignored."""
        async for message in self.ws:
            if message.type == WSMsgType.ERROR:  # e.g. a message over MAX_MESSAGE: this tab is done
                return
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
            except ValueError:
                continue
            if not isinstance(envelope, list) or not envelope or not isinstance(envelope[0], str):
                continue
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            app = self.app
            if kind == "stdin" and isinstance(data, str):
                self.last_input = time.monotonic()
                if app is not None:
                    await app.send_keys(data)
            elif kind == "resize" and isinstance(data, dict):
                self.width = _clamp(data.get("width"), 10, MAX_COLS, self.width)
                self.height = _clamp(data.get("height"), 5, MAX_ROWS, self.height)
                if app is not None:
                    await app.resize(self.width, self.height)
            elif kind in ("focus", "blur") and app is not None:
                await app.focus(kind == "focus")
            elif kind == "ping" and isinstance(data, str) and len(data) < 64:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await self.ws.send_json(["pong", data])

    async def _watch(self) -> None:
        """End the app when its session is no longer valid, or its learner has been idle too long."""
        cfg = self.server.config
        while not self.ended.is_set():
            await asyncio.sleep(min(cfg.recheck_s, cfg.idle_s))
            try:
                profile = await asyncio.to_thread(
                    logins.session_profile,
                    self.server.store,
                    self.cookie,
                    now=self.server.clock(),
                    touch=True,
                )
            except Exception:
                log.exception("checking %s's session failed", self.profile)
                continue  # the database is away for a moment: the next check decides
            if profile != self.profile:
                self.end("Your session has ended (signed out, expired, or access removed). Sign in again.")
            elif self.shown and time.monotonic() - self.last_input > cfg.idle_s:
                self.end(f"Closed after {_duration(cfg.idle_s)} without a key pressed, to free the seat.")
