"""Batch grading: several warm workers per backend, for `quiz deck check` and exports.

`RunnerPool.run()` has the same signature as `Runner.run()` and is thread-safe:
callers submit from a thread pool and each call takes a free worker of the
card's backend.
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
from quiz.runner.client import Runner

__all__ = ["RunnerPool", "default_pool_size"]


def default_pool_size() -> int:
    """One worker per core (at least one)."""
    return max(1, os.cpu_count() or 1)


class RunnerPool:
    def __init__(
        self,
        size: int | None = None,
        *,
        device: str = "auto",
        python: str = sys.executable,
        log_dir: Path | None = None,
    ) -> None:
        self.size = size or default_pool_size()
        self.device = device
        self.python = python
        self.log_dir = log_dir
        self._free: dict[str, queue.Queue[Runner]] = {}
        self._all: list[Runner] = []
        self._lock = threading.Lock()

    def _queue(self, backend: str) -> queue.Queue[Runner]:
        with self._lock:
            q = self._free.get(backend)
            if q is None:
                q = self._free[backend] = queue.Queue()
                for _ in range(self.size):
                    r = Runner(device=self.device, python=self.python, log_dir=self.log_dir)
                    self._all.append(r)
                    q.put(r)
            return q

    def prestart(self, backends: list[str] | tuple[str, ...]) -> None:
        for backend in backends:
            q = self._queue(backend)
            for r in list(q.queue):
                r.prestart([backend])

    def run(self, card: Card, variant: Variant, given: str | None = None, device: str | None = None) -> RunResult:
        q = self._queue(card.backend.value)
        runner = q.get()
        try:
            return runner.run(card, variant, given=given, device=device)
        finally:
            q.put(runner)

    def close(self) -> None:
        for r in self._all:
            r.close()
        self._all.clear()
        self._free.clear()

    def __enter__(self) -> RunnerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
