"""Sign-in limits: a script hammering the form from one address, and one learner's old link replayed in a loop.

Attack tests: wrong tokens in a row, a used token replayed, a forged
X-Forwarded-For from a client that is not the local proxy, a flood of
addresses. The limits' windows run on the server's clock, moved by the test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from quiz.serve import logins
from quiz.serve.limits import AttemptLimiter, client_address
from tests.serve.conftest import Served


@pytest.fixture
def serve_db(tmp_path: Path) -> str:
    """The limits live in the server, not the database: SQLite is enough here."""
    return f"sqlite:///{tmp_path / 'serve.db'}"


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    text: str


async def _sign_in(served: Served, token: str, address: str | None = None) -> Answer:
    headers = {"Origin": served.origin}
    if address:
        headers["X-Forwarded-For"] = address  # as the README's proxy on this machine writes it
    async with (
        aiohttp.ClientSession() as browser,
        browser.post(
            f"{served.url}/signin", data={"token": token}, headers=headers, allow_redirects=False
        ) as r,
    ):
        return Answer(r.status, dict(r.headers), await r.text())


@pytest.fixture
def strict(serve_config: dict[str, Any]) -> None:
    serve_config.update(signin_failures_per_address=3, signin_attempts_per_learner=2, signin_window_s=600.0)


async def test_refused_sign_ins_hold_an_address_back_without_spending_its_token(
    strict: None, served: Served
) -> None:
    for n in range(3):
        assert (await _sign_in(served, f"guess-{n}", "203.0.113.7")).status == 403
    token = served.sign_in_token("ada")
    held = await _sign_in(served, token, "203.0.113.7")  # even a good token waits: nothing is looked up
    assert held.status == 429 and 0 < int(held.headers["Retry-After"]) <= 600
    assert "Content-Security-Policy" in held.headers and "Try again in 10 minutes" in held.text
    assert logins.token_owner(served.store, token) == "ada"
    # Another address (another school) is not held back by this one.
    assert (await _sign_in(served, served.sign_in_token("bob"), "198.51.100.2")).status == 303
    served.clock.advance(601)
    assert (await _sign_in(served, token, "203.0.113.7")).status == 303  # the token was not spent


async def test_one_learners_tokens_are_limited_per_learner(strict: None, served: Served) -> None:
    used = served.sign_in_token("ada")
    assert (await _sign_in(served, used)).status == 303
    assert (await _sign_in(served, used, "198.51.100.9")).status == 403  # a replay: ada's second attempt
    fresh = served.sign_in_token("ada")
    held = await _sign_in(served, fresh, "198.51.100.10")  # from anywhere: the limit is ada's
    assert held.status == 429 and "for this learner" in held.text
    assert (await _sign_in(served, served.sign_in_token("bob"))).status == 303  # bob is not held back
    served.clock.advance(601)
    assert (await _sign_in(served, fresh)).status == 303


def test_forwarded_for_counts_only_from_the_local_proxy() -> None:
    assert client_address("127.0.0.1", "203.0.113.7") == "203.0.113.7"
    assert client_address("::1", "10.0.0.1, 203.0.113.7") == "203.0.113.7"  # the proxy's own entry is last
    assert client_address("198.51.100.1", "127.0.0.1") == "198.51.100.1"  # a client cannot pick its address
    assert client_address("127.0.0.1", "<script>") == "127.0.0.1"
    assert client_address(None, None) == "unknown"


def test_the_window_slides_and_a_flood_of_keys_stays_bounded() -> None:
    now = [0.0]
    limiter = AttemptLimiter(2, 10.0, lambda: now[0], max_keys=50)
    limiter.record("a")
    now[0] = 4.0
    limiter.record("a")
    assert limiter.wait_s("a") == pytest.approx(6.0)
    now[0] = 10.5  # the first attempt has left the window
    assert limiter.wait_s("a") == 0.0
    for n in range(1000):
        limiter.record(f"203.0.{n // 256}.{n % 256}")
    assert len(limiter._attempts) <= 50
    with pytest.raises(ValueError):
        AttemptLimiter(0, 10.0, lambda: 0.0)
