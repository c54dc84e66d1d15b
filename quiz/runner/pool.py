"""Batch grading: several warm workers per backend, for `quiz deck check` and exports.

`RunnerPool.run()` has the same signature as `Runner.run()` and is thread-safe:
callers submit from a thread pool and each call takes a free worker of the
card's backend. Workers start only when a card of their backend first needs
one (or `prestart` says so), each with one intra-op thread: the pool's
parallelism is its workers, not threads fighting inside each.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from pathlib import Path

from quiz.core.cards import Card
from quiz.core.grading import RunResult
from quiz.core.variables import Variant
from quiz.runner.client import DEFAULT_IDLE_S, Runner
from quiz.runner.limits import Limits

__all__ = ["RunnerPool", "default_pool_size"]

WORKER_MEMORY_MB = 700  # what one warm worker holds, about (TensorFlow's is the largest)


def _available_mb() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_pool_size() -> int:
    """One worker per core (at least one), no more than the free memory holds."""
    size = max(1, os.cpu_count() or 1)
    free = _available_mb()
    if free is not None:
        size = min(size, max(1, free // WORKER_MEMORY_MB))
    return size


class RunnerPool:
    def __init__(
        self,
        size: int | None = None,
        *,
        device: str = "auto",
        python: str = sys.executable,
        log_dir: Path | None = None,
        isolation: str = "auto",
        limits: Limits | None = None,
        idle_s: float = DEFAULT_IDLE_S,
        threads: int | None = None,
        allow_unisolated: bool | None = None,
    ) -> None:
        self.size = size or default_pool_size()
        self.allow_unisolated = allow_unisolated
        self.device = device
        self.python = python
        self.log_dir = log_dir
        self.isolation = isolation
        self.limits = limits
        self.idle_s = idle_s
        self.threads = threads if threads is not None else (1 if self.size > 1 else None)
        self._free: dict[str, queue.Queue[Runner]] = {}
        self._all: list[Runner] = []
        self._lock = threading.Lock()

    def _queue(self, backend: str) -> queue.Queue[Runner]:
        with self._lock:
            q = self._free.get(backend)
            if q is None:
                q = self._free[backend] = queue.Queue()
                for _ in range(self.size):
                    r = Runner(
                        device=self.device,
                        python=self.python,
                        log_dir=self.log_dir,
                        isolation=self.isolation,
                        limits=self.limits,
                        idle_s=self.idle_s,
                        threads=self.threads,
                        allow_unisolated=self.allow_unisolated,
                    )
                    self._all.append(r)
                    q.put(r)
            return q

    def prestart(self, backends: list[str] | tuple[str, ...]) -> None:
        for backend in backends:
            q = self._queue(backend)
            for r in list(q.queue):
                r.prestart([backend])

    def run(
        self, card: Card, variant: Variant, given: str | None = None, device: str | None = None
    ) -> RunResult:
        q = self._queue(card.backend.value)
        runner = q.get()
        try:
            return runner.run(card, variant, given=given, device=device)
        finally:
            q.put(runner)

    def close(self) -> None:
        with self._lock:
            runners = list(self._all)
            self._all.clear()
            self._free.clear()
        for r in runners:
            r.close()

    def __enter__(self) -> RunnerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
