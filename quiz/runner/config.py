"""How a worker process is started: one `WorkerConfig`, shared by the runner, the pool and each worker."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from quiz.runner.limits import Limits

__all__ = ["DEFAULT_IDLE_S", "START_TIMEOUT_S", "WorkerConfig"]

START_TIMEOUT_S = 120.0
DEFAULT_IDLE_S = 600.0  # a worker nobody asked anything for 10 minutes exits


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """Everything a worker is started with, besides its backend.

    `python`: the interpreter (with quiz and the frameworks installed).
    `log_dir`: where each worker's stderr goes (`worker-BACKEND.log`); None: nowhere.
    `isolation`: "auto" (bubblewrap when it runs here, else rlimits), "bwrap" or "rlimits".
    `limits`: what a worker may use (resolved against this machine).
    `idle_s`: a worker unused this long exits (0: never).
    `threads`: intra-op threads per worker (None: the framework's default).
    `cpu_only`: the worker does not see the GPU at all (and so gets the memory limit, which
    CUDA would not allow).
    `allow_unisolated`: run cards of decks that do not ship with quiz even without full
    isolation (None: as the QUIZ_ALLOW_UNISOLATED environment variable says, read by `Runner`).
    """

    python: str = sys.executable
    log_dir: Path | None = None
    isolation: str = "auto"
    limits: Limits = field(default_factory=Limits)
    idle_s: float = DEFAULT_IDLE_S
    threads: int | None = None
    cpu_only: bool = False
    allow_unisolated: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "limits", self.limits.resolved())

    def but(self, **changes: Any) -> WorkerConfig:
        """This config with some fields changed (`config.but(threads=1)`)."""
        return replace(self, **changes)
