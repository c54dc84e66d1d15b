"""The server's doors: every route refuses a stranger, a token signs in once, cross-site requests fail.

Attack tests: no cookie, a forged cookie, a used or unknown token, a POST or a
websocket from another site, a session that expired or was signed out, and
hostile websocket messages. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import aiohttp
import pytest
import sqlalchemy as sa

from quiz.serve import logins
from quiz.serve.server import COOKIE
from tests.serve.conftest import Served, cookie_of

ROUTES = [
    "/",
    "/app.js",
    "/static/js/textual.js",
    "/static/css/xterm.css",
    "/static/",
    "/ws",
    "/nothing-here",
]


async def _refused(served: Served, session: aiohttp.ClientSession) -> None:
    for path in ROUTES:
        async with session.get(f"{served.url}{path}", allow_redirects=False) as r:
            if path == "/":
                assert (r.status, r.headers["Location"]) == (303, "/signin")
            else:
                assert r.status == 401, path
            assert r.headers["X-Frame-Options"] == "DENY"
            assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    async with session.post(f"{served.url}/signout", headers={"Origin": served.origin}) as r:
        assert r.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await session.ws_connect(f"{served.url}/ws", headers={"Origin": served.origin})
    assert info.value.status == 401
    assert served.server.live == {} and served.server.seats.in_use == 0  # no app was started


async def test_every_route_refuses_a_stranger(served: Served) -> None:
    async with aiohttp.ClientSession() as anonymous:
        await _refused(served, anonymous)
        async with anonymous.get(f"{served.url}/signin") as r:  # the one open page
            assert r.status == 200 and 'name="token"' in await r.text()
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    forged = aiohttp.ClientSession(cookies={COOKIE: "x" * 43})
    async with forged:
        await _refused(served, forged)


async def test_a_token_signs_in_once_into_a_strict_httponly_cookie(served: Served) -> None:
    token = served.sign_in_token("ada")
    async with aiohttp.ClientSession() as browser:
        async with browser.post(
            f"{served.url}/signin",
            data={"token": token},
            headers={"Origin": served.origin},
            allow_redirects=False,
        ) as r:
            assert (r.status, r.headers["Location"]) == (303, "/")
            cookie = r.cookies[COOKIE]
            assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
            assert not cookie["secure"]  # plain HTTP here; behind TLS see the next test
            session = cookie.value
        async with browser.get(f"{served.url}/", cookies={COOKIE: session}) as r:
            assert r.status == 200
            page = await r.text()
            assert "signed in as <b>ada</b>" in page and token not in page
    async with (  # the same token again: refused
        aiohttp.ClientSession() as thief,
        thief.post(
            f"{served.url}/signin",
            data={"token": token},
            headers={"Origin": served.origin},
            allow_redirects=False,
        ) as r,
    ):
        assert r.status == 403 and COOKIE not in r.cookies
        assert "already used" in await r.text()
    # Neither secret is stored as such: only their sha256.
    with served.store.engine.connect() as conn:
        dump = " ".join(
            str(row)
            for table in ("sign_in_token", "web_session")
            for row in conn.execute(sa.text(f"SELECT * FROM {table}"))
        )
    assert token not in dump and session not in dump
    assert logins.digest(token) in dump and logins.digest(session) in dump


async def test_the_cookie_is_secure_behind_tls(served: Served) -> None:
    token = served.sign_in_token("ada")
    async with (
        aiohttp.ClientSession() as browser,
        browser.post(
            f"{served.url}/signin",
            data={"token": token},
            headers={"Origin": served.origin, "X-Forwarded-Proto": "https"},
            allow_redirects=False,
        ) as r,
    ):
        assert r.status == 303 and r.cookies[COOKIE]["secure"]


async def test_other_sites_cannot_sign_in_or_open_the_app(served: Served) -> None:
    token = served.sign_in_token("ada")
    async with aiohttp.ClientSession() as browser:
        for origin in ("http://evil.example", "null", None):
            headers = {"Origin": origin} if origin else {}
            async with browser.post(
                f"{served.url}/signin", data={"token": token}, headers=headers, allow_redirects=False
            ) as r:
                assert r.status == 403, origin
    # The token was not spent by the refused attempts.
    async with await served.client() as browser:
        async with browser.post(
            f"{served.url}/signin",
            data={"token": token},
            headers={"Origin": served.origin},
            allow_redirects=False,
        ) as r:
            assert r.status == 303
        for origin in ("http://evil.example", "http://127.0.0.1:1", None):
            headers = {"Origin": origin} if origin else {}
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await browser.ws_connect(f"{served.url}/ws", headers=headers)
            assert info.value.status == 403, origin
            async with browser.post(f"{served.url}/signout", headers=headers) as r:
                assert r.status == 403  # a page elsewhere cannot sign the learner out either
        async with browser.get(f"{served.url}/", allow_redirects=False) as r:
            assert r.status == 200
    assert served.server.seats.in_use == 0


async def test_signing_out_ends_the_session(served: Served) -> None:
    async with await served.client("ada") as browser:
        session = cookie_of(browser)
        async with browser.post(
            f"{served.url}/signout", headers={"Origin": served.origin}, allow_redirects=False
        ) as r:
            assert (r.status, r.headers["Location"]) == (303, "/signin")
    assert logins.session_profile(served.store, session) is None
    async with aiohttp.ClientSession(cookies={COOKIE: session}) as replay:  # the old cookie, kept by a thief
        await _refused(served, replay)


async def test_a_session_expires(served: Served) -> None:
    """On the server's clock: the browser keeps the cookie, the server refuses it once its time is up."""
    async with await served.client("ada") as browser:
        served.clock.advance(served.server.config.session_s - 60)
        async with browser.get(f"{served.url}/", allow_redirects=False) as r:
            assert r.status == 200  # a minute left
        served.clock.advance(61)
        await _refused(served, browser)


async def test_removing_a_learner_refuses_their_cookie(served: Served) -> None:
    async with await served.client("ada") as ada, await served.client("bob") as bob:
        logins.remove_learner(served.store, "ada")
        await _refused(served, ada)
        async with bob.get(f"{served.url}/", allow_redirects=False) as r:
            assert r.status == 200  # only ada lost her access
