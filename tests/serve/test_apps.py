"""Running apps end when they should: access removed, signed out, idle, or the learner's other tab;
and a browser's hostile messages change nothing but its own app's size. SQLite (the mechanics are
the server's; tests/serve/test_flow.py runs a learner's app on PostgreSQL too).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.serve.conftest import PROMPT, Served, Tab


@pytest.fixture
def serve_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'class.db'}"


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def _settled(served: Served) -> None:
    """The server has let go of every app (the browser sees the close a moment before).

    Polled with a generous bound: a loaded machine is slow to stop an app, not wrong.
    """
    for _ in range(1200):
        if not served.server.live and served.server.seats.in_use == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still held: {served.server.live}, {served.server.seats.in_use} seats")


async def _app(served: Served, session: aiohttp.ClientSession) -> tuple[Tab, int]:
    tab = await served.tab(session)
    await tab.wait_for(lambda t: PROMPT.search(t) is not None)
    pid = served.server.live["ada"].app.pid  # type: ignore[union-attr]
    assert pid is not None
    return tab, pid


# Each app a test starts is a process that loads quiz and starts a torch worker: where one test's
# app has served its purpose, the next way an app ends is tried on it rather than on a new one.


async def test_a_second_tab_takes_over_from_the_first_and_removing_the_learner_closes_it(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    from quiz.cli import main

    async with await served.client("ada") as ada:
        first, pid = await _app(served, ada)
        second = await served.tab(ada)
        assert "opened quiz in another tab" in await first.wait_closed()
        assert _gone(pid)
        await second.wait_for(lambda t: PROMPT.search(t) is not None)
        assert served.server.seats.in_use == 1  # one app per learner, however many tabs
        pid = served.server.live["ada"].app.pid  # type: ignore[union-attr]
        assert pid is not None

        # Her access removed: the command in this process, off the server's event loop, changes the
        # database the server re-reads, as from another process (tests/serve/test_cli.py runs
        # `quiz class` as one).
        argv = ["class", "remove-learner", "ada", "--db", served.store.url, "--json"]
        code = await asyncio.wait_for(asyncio.to_thread(main, argv), 120)
        out, err = capsys.readouterr()
        assert code == 0, err
        # Her used sign-in token and her session are gone.
        assert json.loads(out) == {"profile": "ada", "tokens": 1, "sessions": 1}
        screen = await second.wait_closed()
        assert "Your session has ended" in screen and "Sign in again" in screen
        assert _gone(pid)
        await _settled(served)
        async with ada.get(f"{served.url}/", allow_redirects=False) as r:
            assert r.status == 303


@pytest.fixture
def short_idle(serve_config: dict[str, Any]) -> None:
    serve_config["idle_s"] = 15.0  # longer than the app takes to load its first card


@pytest.mark.slow
async def test_an_idle_app_is_closed_to_free_its_seat(short_idle: None, served: Served) -> None:
    async with await served.client("ada") as ada:
        tab, pid = await _app(served, ada)
        screen = await tab.wait_closed(timeout=30)
        assert "Closed after 15 seconds without a key pressed, to free the seat" in screen
        assert _gone(pid)
        await _settled(served)


async def test_hostile_messages_are_ignored_and_an_oversized_one_closes_only_that_tab(served: Served) -> None:
    async with await served.client("ada") as ada, await served.client("bob") as bob:
        tab, pid = await _app(served, ada)
        learner = served.server.live["ada"]
        for junk in (
            "not json",
            "{}",
            "[]",
            "[1, 2]",
            '["stdin", 5]',
            '["stdin"]',
            '["resize", "wide"]',
            '["resize", {"width": 1e300, "height": -5}]',
            '["resize", {"width": 1e999, "height": NaN}]',
            '["resize", {"width": [80], "height": {"rows": 24}}]',
            '["open_url", {"url": "https://evil.example"}]',
            '["ping", "' + "x" * 1000 + '"]',
        ):
            await tab.ws.send_str(junk)
        await tab.ws.send_bytes(b"\x00\xff binary")
        await tab.ws.send_json(["resize", {"width": 10**9, "height": 10**9}])
        # The server reads the tab's messages in order: wait (pumping the screen) until it has read
        # the last resize, never a fixed pause. Clamped: the app never allocates more.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while (learner.width, learner.height) != (400, 200) and loop.time() < deadline and not tab.closed:
            await tab.pump(0.2)
        assert (learner.width, learner.height) == (400, 200)
        await tab.ws.send_json(["resize", {"width": 100, "height": 32}])
        await tab.wait_for(lambda t: PROMPT.search(t) is not None)  # the app goes on
        assert served.server.live.get("ada") is learner and not _gone(pid)

        await tab.ws.send_str(json.dumps(["stdin", "x" * 100_000]))  # over the 64 KiB a message may have
        await tab.wait_closed()
        for _ in range(600):  # the browser saw the close at once; the app is stopped after it
            if served.server.live.get("ada") is None:
                break
            await asyncio.sleep(0.05)
        assert _gone(pid)
        other = await served.tab(bob)  # the server goes on for everyone else
        await other.wait_for(lambda t: PROMPT.search(t) is not None)
        await other.ws.close()


async def test_a_killed_server_takes_its_apps_and_workers_with_it(
    tmp_path: Path, small_library: Path
) -> None:
    from quiz.runner.procs import descendants
    from quiz.serve import logins
    from quiz.store.db import open_store

    db = f"sqlite:///{tmp_path / 'class.db'}"
    server = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "quiz", "serve", "--db", db, "--port", "0", "--json"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert server.stdout is not None
        url = json.loads(await asyncio.wait_for(server.stdout.readline(), 120))["url"]
        store = open_store(db)
        token = logins.add_learner(store, "ada").token
        store.dispose()
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
            async with browser.post(
                f"{url}/signin", data={"token": token}, headers={"Origin": url}, allow_redirects=False
            ) as r:
                assert r.status == 303
            tab = Tab(await browser.ws_connect(f"{url}/ws?width=100&height=32", headers={"Origin": url}))
            await tab.wait_for(lambda t: PROMPT.search(t) is not None)
            tree = descendants(server.pid)  # the app, and the workers it started
            assert tree
            server.kill()  # kill -9: no clean shutdown in the server
            await server.wait()
            for _ in range(300):
                if all(_gone(pid) for pid in tree):
                    break
                await asyncio.sleep(0.1)
            assert [pid for pid in tree if not _gone(pid)] == []
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()


async def test_an_app_that_dies_says_so_and_frees_its_seat_and_signing_out_closes_the_next(
    served: Served,
) -> None:
    import signal

    async with await served.client("ada") as ada:
        tab, pid = await _app(served, ada)
        os.kill(pid, signal.SIGKILL)
        screen = await tab.wait_closed()
        assert "quiz stopped after an error" in screen and "Reload the page" in screen
        await _settled(served)
        tab, pid = await _app(served, ada)  # and a reload starts a new one

        # Signing out closes it.
        async with ada.post(
            f"{served.url}/signout", headers={"Origin": served.origin}, allow_redirects=False
        ) as r:
            assert r.status == 303
        assert "You signed out." in await tab.wait_closed()
        assert _gone(pid)
