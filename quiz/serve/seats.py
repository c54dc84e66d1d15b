"""Seats: at most N learners' apps (each with its framework workers) run at once; the rest queue, in order.

Each seat is one app process and its card-code workers, so the number of
seats bounds the server's processes and memory. A learner who finds every
seat taken waits in a first-come queue and is told their place whenever it
changes; leaving the queue (closing the tab) gives the place up, and a
freed seat passes straight to the first in line.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Seats", "default_seats", "seat_memory_mb", "APP_MB", "WARM_WORKER_MB"]

# Measured on a seat with all three backends warm (RSS): the app 75 MB, the torch worker 231,
# TensorFlow 503, MXNet 146. Rounded up, for a server that must not run out.
APP_MB = 150  # one learner's app process (Textual, SQLAlchemy, the deck library)
WARM_WORKER_MB = 400  # one warm framework worker, on average over the three


def seat_memory_mb(workers: int, card_mb: int) -> int:
    """The most one seat should hold: its app and `workers` warm workers each running card code."""
    return APP_MB + workers * (WARM_WORKER_MB + card_mb)


def _total_ram_mb() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024))
    except (ValueError, OSError, AttributeError):
        return 8192


def default_seats(workers: int, card_mb: int, *, total_mb: int | None = None) -> int:
    """As many seats as three quarters of the machine's memory holds at their worst (at least one)."""
    total = _total_ram_mb() if total_mb is None else total_mb
    return max(1, int(total * 0.75) // seat_memory_mb(workers, card_mb))


@dataclass(eq=False)
class _Waiter:
    granted: asyncio.Future[None]
    moved: asyncio.Event = field(default_factory=asyncio.Event)
    position: int = 0


class Seats:
    """A first-come queue for `capacity` seats. `take()` is an async context manager."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a server needs at least one seat")
        self.capacity = capacity
        self._free = capacity
        self._queue: deque[_Waiter] = deque()

    @property
    def in_use(self) -> int:
        return self.capacity - self._free

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def take(self, on_wait: Callable[[int], Awaitable[None]] | None = None) -> _Seat:
        """A seat: at once when one is free and nobody waits, else after those ahead in the queue.

        `on_wait(position)` is awaited while queued, each time the place changes (1: next).
        """
        return _Seat(self, on_wait)

    async def _acquire(self, on_wait: Callable[[int], Awaitable[None]] | None) -> None:
        if self._free > 0 and not self._queue:
            self._free -= 1
            return
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop.create_future())
        self._queue.append(waiter)
        self._renumber()
        try:
            while not waiter.granted.done():
                if waiter.moved.is_set():
                    waiter.moved.clear()
                    if on_wait is not None:
                        await on_wait(waiter.position)
                    continue
                moved: asyncio.Future[Any] = asyncio.ensure_future(waiter.moved.wait())
                either: set[asyncio.Future[Any]] = {waiter.granted, moved}
                try:
                    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    moved.cancel()
        except BaseException:
            if waiter.granted.done() and not waiter.granted.cancelled():
                self._release()  # handed a seat while being cancelled: pass it on
            else:
                waiter.granted.cancel()
                if waiter in self._queue:
                    self._queue.remove(waiter)
                    self._renumber()
            raise

    def _renumber(self) -> None:
        for place, waiter in enumerate(self._queue, start=1):
            if waiter.position != place:
                waiter.position = place
                waiter.moved.set()

    def _release(self) -> None:
        while self._queue:
            waiter = self._queue.popleft()
            if not waiter.granted.done():
                waiter.granted.set_result(None)  # the seat passes on: _free stays as it is
                self._renumber()
                return
        self._free += 1


class _Seat:
    def __init__(self, seats: Seats, on_wait: Callable[[int], Awaitable[None]] | None) -> None:
        self.seats = seats
        self.on_wait = on_wait

    async def __aenter__(self) -> None:
        await self.seats._acquire(self.on_wait)

    async def __aexit__(self, *exc: object) -> None:
        self.seats._release()
