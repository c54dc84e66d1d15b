"""Seats: never more than N held, a first-come queue told its place, and no seat lost to a closed tab."""

from __future__ import annotations

import asyncio
import random

import pytest

from quiz.serve.seats import Seats, default_seats, seat_memory_mb


async def test_thirty_learners_on_four_seats_queue_in_order_and_all_get_one() -> None:
    seats = Seats(4)
    held = 0
    most = 0
    order: list[int] = []
    places: dict[int, list[int]] = {}
    rng = random.Random(7)

    async def learner(n: int) -> None:
        nonlocal held, most

        async def told(position: int) -> None:
            places.setdefault(n, []).append(position)

        async with seats.take(told):
            held += 1
            most = max(most, held)
            order.append(n)
            await asyncio.sleep(rng.uniform(0, 0.01))
            held -= 1

    tasks = []
    for n in range(30):
        tasks.append(asyncio.create_task(learner(n)))
        await asyncio.sleep(0)  # they arrive one after another
    await asyncio.gather(*tasks)
    assert most == 4
    # First come, first seated: seats are handed over in arrival order (two handed over in the same
    # moment may start in either order, so nobody overtakes by more than the seats there are).
    assert sorted(order) == list(range(30))
    assert all(abs(order.index(n) - n) < 4 for n in range(30))
    assert seats.in_use == 0 and seats.waiting == 0
    # Those queued were told their place (unless a seat came first), no further back than their
    # arrival, and it only went down; those seated at once were told nothing.
    assert set(places) <= set(range(4, 30)) and len(places) > 20
    for n, told in places.items():
        assert 1 <= told[0] <= n - 3 and told == sorted(told, reverse=True)


async def test_leaving_the_queue_gives_the_place_up() -> None:
    seats = Seats(1)
    first_in = asyncio.Event()
    release = asyncio.Event()
    told: dict[str, list[int]] = {"b": [], "c": []}

    async def hold() -> None:
        async with seats.take():
            first_in.set()
            await release.wait()

    async def wait(name: str) -> str:
        async def place(p: int) -> None:
            told[name].append(p)

        async with seats.take(place):
            return name

    a = asyncio.create_task(hold())
    await first_in.wait()
    b = asyncio.create_task(wait("b"))
    await asyncio.sleep(0.01)
    c = asyncio.create_task(wait("c"))
    await asyncio.sleep(0.01)
    assert seats.waiting == 2 and told == {"b": [1], "c": [2]}
    b.cancel()  # b closed the tab while waiting
    with pytest.raises(asyncio.CancelledError):
        await b
    await asyncio.sleep(0.01)
    assert seats.waiting == 1 and told["c"] == [2, 1]  # c moved up
    release.set()
    assert await c == "c"
    await a
    assert seats.in_use == 0 and seats.waiting == 0


async def test_a_seat_handed_over_during_cancellation_is_passed_on() -> None:
    seats = Seats(1)
    async with seats.take():
        b = asyncio.create_task(seats.take().__aenter__())
        c_got = asyncio.Event()

        async def c() -> None:
            async with seats.take():
                c_got.set()

        tc = asyncio.create_task(c())
        await asyncio.sleep(0.01)
    # The seat went to b at release; b is cancelled before it runs again: c must get it.
    b.cancel()
    with pytest.raises(asyncio.CancelledError):
        await b
    await asyncio.wait_for(c_got.wait(), 1)
    await tc
    assert seats.in_use == 0


def test_default_seats_follow_the_memory() -> None:
    assert seat_memory_mb(3, 768) == 150 + 3 * (400 + 768)
    assert default_seats(3, 768, total_mb=24 * 1024) == (24 * 1024 * 3 // 4) // seat_memory_mb(3, 768)
    assert default_seats(3, 768, total_mb=1024) == 1  # always one
    assert default_seats(1, 256, total_mb=64 * 1024) > default_seats(3, 768, total_mb=64 * 1024)
    with pytest.raises(ValueError):
        Seats(0)
