"""The class server in a real browser: Debian's Chromium, driven by Playwright, against `quiz serve`.

A stranger is turned away (the page, a static file, the websocket); ada signs
in with her link, answers a card and sees the verdict; the link does not work
a second time; bob signs in and sees his own empty history, not ada's. On
PostgreSQL, the class's database.

xterm.js draws the terminal on a canvas, so the test reads the screen the
way xterm.js builds it: from the bytes the page's websocket received, fed to
a terminal emulator (pyte) of the page's own size.

Chromium: /usr/bin/chromium (`.ci/run` installs Debian's package). Without it
the test is skipped with that reason, except in CI, where it fails.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from quiz.store.db import open_store
from quiz.store.models import Review
from tests.classroom.pg import in_ci
from tests.serve.conftest import PROMPT, Screen

pytestmark = pytest.mark.torch

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_S = 150.0  # an app's start plus a torch worker's, on two busy cores


def chromium() -> str:
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = f"Chromium is not installed ({CHROMIUM}; Debian: apt-get install -y chromium)"
    if in_ci():
        pytest.fail(message + "; .ci/run must install it", pytrace=False)
    pytest.skip(message)


@dataclass
class Server:
    url: str
    db: str
    log: Path

    def cli(self, *args: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "quiz", *args, "--db", self.db, "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result


@pytest.fixture
def server(pg_url: str, small_library: Path, tmp_path: Path) -> Iterator[Server]:
    """`quiz serve` itself, on a free port, until the test ends (then Ctrl+C, as an instructor would)."""
    log = tmp_path / "serve.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "quiz", "serve", "--db", pg_url, "--port", "0", "--seats", "2", "--json"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, f"quiz serve did not start: {log.read_text()}"
        info = json.loads(line)
        assert info["host"] == "127.0.0.1" and info["seats"] == 2
        yield Server(info["url"], pg_url, log)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log.read_text()


class Terminal:
    """The screen of one page's terminal, rebuilt from the frames its websocket received."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.screen: Screen | None = None
        page.on("websocket", self._opened)

    def _opened(self, ws: Any) -> None:
        query = parse_qs(urlsplit(ws.url).query)
        self.screen = Screen(int(query["width"][0]), int(query["height"][0]))
        ws.on("framereceived", self._received)
        ws.on("framesent", self._sent)

    def _received(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes) and self.screen is not None:
            self.screen.feed(payload)

    def _sent(self, payload: str | bytes) -> None:
        if isinstance(payload, str) and payload.startswith('["resize"') and self.screen is not None:
            size = json.loads(payload)[1]
            self.screen.resize(size["width"], size["height"])

    def text(self) -> str:
        return self.screen.text() if self.screen is not None else ""

    def wait_for(self, condition: Callable[[str], bool], timeout: float = WAIT_S) -> str:
        deadline = time.monotonic() + timeout
        while not condition(self.text()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; the page's terminal shows:\n{self.text()}")
            self.page.wait_for_timeout(250)
        return self.text()

    def focus(self) -> None:
        """Keys to the terminal, as after a click, but without a mouse event for the app to act on."""
        self.page.focus("textarea.xterm-helper-textarea")

    def type(self, keys: str) -> None:
        self.page.keyboard.type(keys, delay=40)


@pytest.mark.timeout(900)  # two apps and a torch worker start on two busy cores
@pytest.mark.slow
def test_learners_in_chromium(server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            _stranger(browser, server)
            ada_link = server.cli("class", "add-learner", "ada", "--url", server.url)["link"]
            bob_link = server.cli("class", "add-learner", "bob", "--url", server.url)["link"]

            ada = browser.new_context(viewport={"width": 1100, "height": 760})
            ada_page = ada.new_page()
            ada_screen = Terminal(ada_page)
            ada_page.goto(ada_link)
            ada_page.wait_for_url(f"{server.url}/")  # the token was spent and traded for a cookie
            assert "#t=" not in ada_page.url
            (cookie,) = [c for c in ada.cookies() if c["name"] == "quiz_session"]
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]

            screen = ada_screen.wait_for(lambda t: PROMPT.search(t) is not None)
            assert "Welcome!" in screen and "today 0" in screen
            a, b = PROMPT.search(screen).groups()  # type: ignore[union-attr]
            ada_screen.focus()
            ada_screen.type(f"({a}, {b})")
            ada_page.keyboard.press("Enter")
            screen = ada_screen.wait_for(lambda t: "CORRECT" in t)
            assert "✓ CORRECT" in screen and f"truth     ({a}, {b})" in screen
            ada_page.screenshot(path=str(tmp_path / "ada-verdict.png"))
            ada_screen.type("3")  # Good
            ada_screen.wait_for(lambda t: "today 1" in t and "Does the last line raise" in t)

            # The same link again, in another browser: already used.
            again = browser.new_context()
            page = again.new_page()
            page.goto(ada_link)
            page.wait_for_selector("#problem")
            assert "already used" in page.inner_text("#problem") and urlsplit(page.url).path == "/signin"
            again.close()

            bob = browser.new_context(viewport={"width": 1100, "height": 760})
            bob_page = bob.new_page()
            bob_screen = Terminal(bob_page)
            bob_page.goto(bob_link)
            bob_page.wait_for_url(f"{server.url}/")
            screen = bob_screen.wait_for(lambda t: PROMPT.search(t) is not None)
            assert (
                "Welcome!" in screen
                and "today 0" in screen
                and "signed in as bob" in bob_page.inner_text("#bar")
            )
            assert "Does the last line raise" not in screen  # ada's next card is not his
            bob_screen.focus()
            bob_page.keyboard.press("Escape")  # Home: today's answers
            home = bob_screen.wait_for(lambda t: "answered" in t and "profile bob" in t)
            assert "today 0 answered" in home and "profile ada" not in home
            ada_page.keyboard.press("Escape")
            home = ada_screen.wait_for(lambda t: "answered" in t and "profile ada" in t)
            assert "today 1 answered, 1 right" in home
            ada.close()
            bob.close()
        finally:
            browser.close()

    store = open_store(server.db)
    with store.session() as s:
        reviews = [(r.profile, r.card_uid, r.correct) for r in s.scalars(select(Review))]
    store.dispose()
    assert reviews == [("ada", "tiny/expand-shape.torch", True)]
    # The server's log saw the sign-ins but no secret: tokens travel in a #fragment and a POST body.
    logged = server.log.read_text()
    assert "ada signed in" in logged and "bob signed in" in logged
    for link in (ada_link, bob_link):
        assert link.split("#t=")[1] not in logged
    assert re.search(r"quiz_session=|#t=", logged) is None


def _stranger(browser: Any, server: Server) -> None:
    """No cookie: the page sends the browser to sign in; a static file and the websocket are refused."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.url}/")
    assert urlsplit(page.url).path == "/signin"
    assert page.locator("#token").count() == 1
    assert context.request.get(f"{server.url}/static/js/textual.js").status == 401
    assert context.request.get(f"{server.url}/app.js").status == 401
    outcome = page.evaluate(
        """url => new Promise(done => {
            const ws = new WebSocket(url);
            ws.onopen = () => done("open");
            ws.onclose = () => done("refused");
        })""",
        server.url.replace("http://", "ws://") + "/ws?width=80&height=24",
    )
    assert outcome == "refused"
    context.close()
