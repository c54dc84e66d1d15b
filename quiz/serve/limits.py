"""Sign-in attempts counted in a sliding window per key (an address, a learner): a flood waits, the database rests.

A token is 256 random bits, so guessing one is hopeless; what the limits stop
is a script hammering the sign-in form (every try is a database lookup), and
a learner's old, used link being replayed in a loop. A school often reaches
the server from one address (one NAT, one proxy), so the per-address limit
counts only refused sign-ins: a class signing in at nine o'clock is never
held back by it.

Behind a reverse proxy on this machine (the README's TLS setup) every request
comes from 127.0.0.1; then, and only then, the client's address is the last
one the proxy appended to X-Forwarded-For. From anywhere else the header is
the client's own word and is ignored.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from collections.abc import Callable

__all__ = ["AttemptLimiter", "client_address"]


class AttemptLimiter:
    """At most `limit` attempts per key in any `window_s` seconds of `clock` (seconds, never going back)."""

    def __init__(
        self, limit: int, window_s: float, clock: Callable[[], float], *, max_keys: int = 10_000
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a limit needs at least one attempt in a window longer than zero")
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys  # a flood of addresses must not grow the table without end
        self._attempts: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._attempts.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._attempts[key]
            return None
        return times

    def wait_s(self, key: str) -> float:
        """0 when `key` may try now; else the seconds until its oldest counted attempt leaves the window."""
        now = self.clock()
        times = self._recent(key, now)
        if times is None or len(times) < self.limit:
            return 0.0
        return max(0.0, times[0] + self.window_s - now)

    def record(self, key: str) -> None:
        now = self.clock()
        times = self._recent(key, now)
        if times is None:
            if len(self._attempts) >= self.max_keys:
                self._forget_old(now)
            times = self._attempts[key] = deque()
        times.append(now)
        while len(times) > self.limit:  # only the last `limit` matter
            times.popleft()

    def _forget_old(self, now: float) -> None:
        for key in list(self._attempts):
            self._recent(key, now)
        while len(self._attempts) >= self.max_keys:  # all recent: drop the quietest
            del self._attempts[min(self._attempts, key=lambda k: self._attempts[k][-1])]


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def client_address(peer: str | None, forwarded_for: str | None) -> str:
    """Whose request this is: the peer's address, or behind a proxy on this machine, the client's."""
    peer = peer or "unknown"
    if forwarded_for and _loopback(peer):
        last = forwarded_for.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            return peer  # not an address: the proxy did not write it
    return peer
