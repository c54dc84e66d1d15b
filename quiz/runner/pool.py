"""Batch grading: several warm workers per backend, for `quiz deck check` and exports.

`RunnerPool.run()` has the same signature as `Runner.run()` and is thread-safe:
callers submit from a thread pool and each call takes a free worker of the
card's backend, the most recently used first. A backend's first worker starts
when a card of it first needs one (or `prestart` says so), another only when
runs have waited for busy ones as long as a start takes (up to `size`), each
with one intra-op thread: the pool's parallelism is its workers, not threads
fighting inside each.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from quiz.core.cards import Card
from quiz.core.grading import RunResult
from quiz.core.variables import Variant
from quiz.runner.client import Runner, WorkerProcess
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
    """Up to `size` runners per backend, each worker with one intra-op thread when there are several
    (unless `config` says otherwise).

    A backend's first runner starts with its first run (or `prestart`). Another starts only once the
    backend's runs have waited for busy runners, all together, as long as its last new runner took
    to start and run a card (waiting for a worker still starting does not count: a second one would not
    come sooner). Waiting is what a start would save, and a start costs that much again (the rule of
    renting skis until the rent paid would have bought them): a check of a few quick cards keeps one
    worker, a long queue of slow ones soon gets more, up to `size`. A free runner is taken last in,
    first out: the one used most recently, warm and still in the caches.
    """

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
        self._free: dict[str, list[Runner]] = {}  # per backend, the most recently used last
        self._started: dict[str, int] = {}
        self._new_ones: dict[str, set[int]] = {}  # ids of runners whose first run has not come back yet
        self._born: dict[int, float] = {}  # runner id → when it was made
        self._start_s: dict[str, float] = {}  # how long the backend's last new runner took to its first reply
        self._waited_s: dict[str, float] = {}  # runs' waiting for busy runners since the last one was started
        self._all: list[Runner] = []
        self._changed = threading.Condition()

    def _new(self, backend: str) -> Runner:
        """A runner for `backend` (called holding the lock; its worker starts when first asked)."""
        runner = Runner(self.config, device=self.device)
        self._all.append(runner)
        self._started[backend] = self._started.get(backend, 0) + 1
        self._new_ones.setdefault(backend, set()).add(id(runner))
        self._born[id(runner)] = time.monotonic()
        self._waited_s[backend] = 0.0
        return runner

    def _take(self, backend: str) -> Runner:
        with self._changed:
            free = self._free.setdefault(backend, [])
            if not free and not self._started.get(backend):
                return self._new(backend)
            since: float | None = None  # when this run began waiting for a busy runner
            while not free:
                now = time.monotonic()
                if since is not None:
                    self._waited_s[backend] += now - since
                since = None if self._new_ones.get(backend) else now
                cost = self._start_s.get(backend)
                if since is not None and cost is not None and self._started[backend] < self.size:
                    if self._waited_s[backend] >= cost:
                        return self._new(backend)
                    self._changed.wait(max(0.01, cost - self._waited_s[backend]))
                else:
                    self._changed.wait()
            if since is not None:
                self._waited_s[backend] += time.monotonic() - since
            return free.pop()

    def _give(self, backend: str, runner: Runner) -> None:
        with self._changed:
            new = self._new_ones.get(backend, set())
            if id(runner) in new:
                new.discard(id(runner))
                self._start_s[backend] = time.monotonic() - self._born[id(runner)]
            self._free.setdefault(backend, []).append(runner)
            self._changed.notify()

    def started(self, backend: str) -> int:
        """How many runners `backend` has had so far."""
        with self._changed:
            return self._started.get(backend, 0)

    def started_workers(self) -> list[WorkerProcess]:
        """The workers of every runner this pool has made so far."""
        with self._changed:
            runners = list(self._all)
        return [w for r in runners for w in r.started_workers()]

    def prestart(self, backends: list[str] | tuple[str, ...]) -> None:
        """Start one worker per backend now (non-blocking) where none is yet; more start when runs wait."""
        for backend in backends:
            with self._changed:
                if self._started.get(backend, 0):
                    continue
                runner = self._new(backend)
                self._free.setdefault(backend, []).append(runner)
            runner.prestart([backend])

    def run(
        self, card: Card, variant: Variant, given: str | None = None, device: str | None = None
    ) -> RunResult:
        backend = card.backend.value
        runner = self._take(backend)
        try:
            return runner.run(card, variant, given=given, device=device)
        finally:
            self._give(backend, runner)

    def close(self) -> None:
        with self._changed:
            runners = list(self._all)
            self._all.clear()
            self._free.clear()
            self._started.clear()
            self._new_ones.clear()
            self._born.clear()
        for r in runners:
            r.close()

    def __enter__(self) -> RunnerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
