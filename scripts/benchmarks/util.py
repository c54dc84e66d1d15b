"""Small helpers shared by the benchmark groups."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def p50_ms(fn: Callable[[], Any], n: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(samples), 3)


def median(values: list[float], digits: int = 3) -> float:
    return round(statistics.median(values), digits)
