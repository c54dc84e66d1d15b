"""What one worker may use: time per card, memory, file size, open files, processes; and how they are set.

The app chooses the numbers (`Limits`); the worker applies them to itself
once its framework is imported and warmed up (`apply`), relative to what
the framework itself already holds, and reports what is in force.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from dataclasses import asdict, dataclass, fields
from typing import Any

from quiz.core.cards import DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S

__all__ = ["Limits", "default_memory_mb", "apply", "early", "HARD_GRACE_S"]

HARD_GRACE_S = 1.0  # after a card's time is up, how long the worker has to answer before it is killed
MB = 1024 * 1024


def _total_ram_mb() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // MB)
    except (ValueError, OSError, AttributeError):
        return 8192


def default_memory_mb() -> int:
    """A quarter of the machine's memory, between 1 and 4 GiB: a hog stops long before the machine does."""
    return max(1024, min(4096, _total_ram_mb() // 4))


def default_processes() -> int:
    return max(128, 4 * (os.cpu_count() or 1))


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-worker limits. Sizes in MiB; `processes` counts tasks a card may add to the worker's own."""

    timeout_s: float = DEFAULT_TIMEOUT_S  # when a card does not say
    timeout_cap_s: float = MAX_TIMEOUT_S  # the most a card may ask for
    memory_mb: int = 0  # 0: default_memory_mb()
    file_size_mb: int = 64
    open_files: int = 512
    processes: int = 0  # 0: default_processes()
    scratch_mb: int = 256  # the sandbox's tmpfs (bubblewrap only)

    def resolved(self) -> Limits:
        return Limits(
            timeout_s=self.timeout_s,
            timeout_cap_s=self.timeout_cap_s,
            memory_mb=self.memory_mb or default_memory_mb(),
            file_size_mb=self.file_size_mb,
            open_files=self.open_files,
            processes=self.processes or default_processes(),
            scratch_mb=self.scratch_mb,
        )

    def card_timeout(self, asked: float | None) -> float:
        """The time a card gets: what it asks for (or the default), never more than the cap."""
        t = self.timeout_s if not asked or asked <= 0 else float(asked)
        return min(t, self.timeout_cap_s)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Limits:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def early() -> None:
    """First thing in a worker: no core dumps, and a too-big file is an error (EFBIG), not a killed worker."""
    _set(resource.RLIMIT_CORE, 0)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _set(which: int, value: int) -> int | None:
    """Lower both the soft and the hard limit (a card cannot raise them back); None if refused."""
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        return None
    return value


def _vm_bytes() -> int:
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _own_tasks() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def user_namespace() -> tuple[bool, int]:
    """(inside a user namespace?, the uid the kernel counts this process as)."""
    uid = os.getuid()
    try:
        with open("/proc/self/uid_map") as f:
            rows = [line.split() for line in f if line.strip()]
    except OSError:
        return False, uid
    if rows == [["0", "0", "4294967295"]]:
        return False, uid
    for inside, outside, count in rows:
        if int(inside) <= uid < int(inside) + int(count):
            return True, int(outside) + uid - int(inside)
    return True, uid


def apply(limits: Limits, *, gpu: bool) -> dict[str, Any]:
    """Set the limits on this (warm) worker and return what is in force.

    Address space: what the warm framework already maps plus `memory_mb`, so
    a hog gets MemoryError while the framework keeps what it needs. Not on a
    GPU worker: CUDA maps far more address space than memory.

    Processes: inside a user namespace RLIMIT_NPROC counts only the sandbox's
    own tasks, so the limit is what this worker has plus `processes`. Outside
    one it counts every task of the uid on the machine, so the limit is that
    count plus `processes`. The kernel ignores RLIMIT_NPROC for root (uid 0
    outside any namespace), which is why the app drops root before it starts
    a worker; a worker that is still root reports `processes: None`.
    """
    from quiz.runner import procs

    limits = limits.resolved()
    applied: dict[str, Any] = {"core_dumps": False}
    if not gpu:
        vm = _vm_bytes()
        got = _set(resource.RLIMIT_AS, vm + limits.memory_mb * MB) if vm else None
        applied["memory_mb"] = limits.memory_mb if got is not None else None
        applied["address_space_mb"] = None if got is None else got // MB
    else:
        applied["memory_mb"] = None
        applied["address_space_mb"] = None
    got = _set(resource.RLIMIT_FSIZE, limits.file_size_mb * MB)
    applied["file_size_mb"] = None if got is None else limits.file_size_mb
    applied["open_files"] = _set(resource.RLIMIT_NOFILE, limits.open_files)
    _, kuid = user_namespace()
    if kuid == 0 or not sys.platform.startswith("linux"):
        # Root is exempt; elsewhere the count is every process of the user, which we cannot see.
        applied["processes"] = None
    else:
        # In a sandbox /proc is the sandbox's own, so this counts what the namespace's limit counts.
        base = procs.tasks_of_uid(os.getuid()) or _own_tasks()
        got = _set(resource.RLIMIT_NPROC, base + limits.processes)
        applied["processes"] = None if got is None else limits.processes
    return applied
