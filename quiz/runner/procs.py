"""Process trees on Linux through /proc: find a worker's descendants, stop them all, count and measure them.

Used on both sides of the pipe: the worker kills what a card left behind
(it is a child subreaper, so orphans come back to it), and the app kills a
whole worker tree when a worker must go. Elsewhere (no /proc) these find
nothing and the process group kill is all there is.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time

__all__ = [
    "children",
    "descendants",
    "kill_tree",
    "kill_descendants",
    "tasks_of_uid",
    "rss_kb",
    "set_child_subreaper",
    "set_parent_death_signal",
]

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
HAVE_PROC = os.path.isdir("/proc/self/task")


HAVE_CHILDREN_FILE = os.path.exists(f"/proc/self/task/{os.getpid()}/children")


def children(pid: int) -> list[int]:
    """Direct children of `pid` (all its threads' children)."""
    if not HAVE_CHILDREN_FILE:
        return _children_by_scan(pid)
    found: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                found.extend(int(p) for p in f.read().split())
        except (OSError, ValueError):
            continue
    return found


def _children_by_scan(pid: int) -> list[int]:
    """The slow way, for kernels without /proc/PID/task/TID/children: every process's parent."""
    found: list[int] = []
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return found
    for p in pids:
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                stat = f.read()
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            found.append(int(p))
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, parents before their children."""
    out: list[int] = []
    seen = {pid}
    todo = [pid]
    while todo:
        for child in children(todo.pop()):
            if child not in seen:
                seen.add(child)
                out.append(child)
                todo.append(child)
    return out


def signal_all(pids: list[int] | set[int], sig: int) -> None:
    """Send `sig` to each of `pids` that still exists (and is ours to signal)."""
    for p in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, sig)


def kill_tree(root: int, *, rounds: int = 20) -> int:
    """SIGKILL `root` and every descendant, without letting any of them fork away first.

    Stop everything found, look again (a stopped process cannot fork, so the
    tree stops growing), and only then kill: a process killed while its
    children are running would hand them to init, out of reach.
    """
    stopped: set[int] = set()
    for _ in range(rounds):
        found = {root, *descendants(root)} - stopped
        if not found:
            break
        signal_all(found, signal.SIGSTOP)
        stopped |= found
    signal_all(stopped, signal.SIGKILL)
    return len(stopped)


def kill_descendants(me: int | None = None, *, timeout: float = 3.0) -> int:
    """Kill and reap every process below this one (which must be a subreaper to catch orphans).

    Returns how many were killed. Children of ours that already ended are
    reaped as well, so nothing is left behind as a zombie.
    """
    me = os.getpid() if me is None else me
    killed = 0
    deadline = time.monotonic() + timeout
    while True:
        tree = descendants(me)
        if tree:
            signal_all(tree, signal.SIGKILL)
            killed += len(tree)
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return killed  # no children at all: done
            if pid == 0:
                break  # some still alive (or not yet reparented to us)
        if time.monotonic() > deadline:
            return killed
        time.sleep(0.001)


def tasks_of_uid(uid: int) -> int:
    """Threads and processes owned by `uid` (what RLIMIT_NPROC counts outside a user namespace)."""
    total = 0
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return 0
    for p in pids:
        try:
            if os.stat(f"/proc/{p}").st_uid != uid:
                continue
            total += len(os.listdir(f"/proc/{p}/task"))
        except OSError:
            continue
    return total


def rss_kb(pid: int) -> int:
    """Resident memory of one process in KiB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _prctl(option: int, arg: int) -> bool:
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(option, arg, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def set_child_subreaper() -> bool:
    """Orphaned descendants are re-parented to this process instead of init."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Get `sig` when the parent (thread) that started this process ends."""
    return _prctl(PR_SET_PDEATHSIG, sig)
