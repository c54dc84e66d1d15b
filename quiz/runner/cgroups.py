"""A pids cgroup per worker: a process limit for workers the kernel's RLIMIT_NPROC does not cover.

Only used where the app must run a worker as root (RLIMIT_NPROC does not
apply to root) and the machine lets it create cgroups (root on most
machines; not in most containers). Both cgroup v1 (a `pids` hierarchy) and
v2 (the `pids` controller enabled at the root) are handled.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time

__all__ = ["PidsCgroup", "pids_base"]

_lock = threading.Lock()
_base: list[str | None] = []
_counter = itertools.count()


def _v2_mount() -> str | None:
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) > 2 and parts[2] == "cgroup2":
                    return parts[1]
    except OSError:
        pass
    return None


def _try_base(path: str) -> bool:
    probe = os.path.join(path, f"quiz-probe-{os.getpid()}")
    try:
        os.mkdir(probe)
    except OSError:
        return False
    ok = os.path.exists(os.path.join(probe, "pids.max"))
    with contextlib.suppress(OSError):
        os.rmdir(probe)
    return ok


def pids_base() -> str | None:
    """Where this process may create pids cgroups (None: nowhere). Found once."""
    with _lock:
        if not _base:
            found = None
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                candidates = ["/sys/fs/cgroup/pids"]
                v2 = _v2_mount()
                if v2:
                    try:
                        with open(os.path.join(v2, "cgroup.subtree_control")) as f:
                            if "pids" in f.read().split():
                                candidates.append(v2)
                    except OSError:
                        pass
                found = next((c for c in candidates if os.path.isdir(c) and _try_base(c)), None)
            _base.append(found)
        return _base[0]


class PidsCgroup:
    """One worker's cgroup: at most `limit` tasks (threads count) in it and everything it starts."""

    def __init__(self, base: str, limit: int) -> None:
        self.limit = limit
        self.path = os.path.join(base, f"quiz-worker-{os.getpid()}-{next(_counter)}")
        os.mkdir(self.path)
        with open(os.path.join(self.path, "pids.max"), "w") as f:
            f.write(str(limit))

    def add(self, pid: int) -> None:
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(pid))

    def remove(self) -> None:
        """Remove the (empty) cgroup; the kernel refuses while a killed task is still on its way out."""
        for _ in range(100):
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.01)
