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
import threading
from typing import Any

from quiz.core.cards import Card
from quiz.core.grading import RunResult
from quiz.core.variables import Variant
from quiz.runner.client import Runner
from quiz.runner.config import WorkerConfig

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
    """`size` runners per backend, each worker with one intra-op thread when there are several
    (unless `config` says otherwise)."""

    def __init__(
        self,
        size: int | None = None,
        *,
        device: str = "auto",
        config: WorkerConfig | None = None,
        **overrides: Any,
    ) -> None:
        self.size = size or default_pool_size()
        self.device = device
        # `overrides`: WorkerConfig fields by name (`log_dir=...`), applied to `config`.
        config = (config or WorkerConfig()).but(**overrides)
        if config.threads is None and self.size > 1:
            config = config.but(threads=1)
        self.config = config
        self._free: dict[str, queue.Queue[Runner]] = {}
        self._all: list[Runner] = []
        self._lock = threading.Lock()

    def _queue(self, backend: str) -> queue.Queue[Runner]:
        with self._lock:
            q = self._free.get(backend)
            if q is None:
                q = self._free[backend] = queue.Queue()
                for _ in range(self.size):
                    r = Runner(self.config, device=self.device)
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
