"""How a worker walls itself in when bubblewrap is not there, before its framework or any card code loads.

The app writes a `Plan` into the worker's configuration (`isolation.py`
decides it); the worker applies it first thing (`worker.serve`):

1. When the app is root, a private mount namespace: directories the
   worker's uid could not enter on the way to Python (a venv under /root)
   are shown through a tmpfs laid over their closed ancestor, which hides
   everything else there (the learner's database, trust store, caches), and
   a /proc that shows only processes the worker may trace: its own, never
   the app's environment, arguments or open files.
2. A uid of its own (the app is root): the kernel's process limit applies,
   and the app's files and processes are another user's.
3. Landlock: read-only Python, quiz and system files, the worker's scratch
   directory as the only writable place, a few harmless devices and no
   terminal, no TCP, no signals or abstract sockets leaving the worker.

`python -m quiz.runner.confine` applies a plan from QUIZ_CONFINE_PLAN and
reports what it sees: the app's probe that the plan works on this machine.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from quiz.runner import landlock

__all__ = ["Plan", "ConfinementError", "apply", "PLAN_ENV"]

PLAN_ENV = "QUIZ_CONFINE_PLAN"
_CLONE_NEWNS = 0x00020000
_MS_RDONLY = 1
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_NOEXEC = 8
_MS_REMOUNT = 32
_MS_BIND = 4096
_MS_MOVE = 8192
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_PR_SET_DUMPABLE = 4


class ConfinementError(RuntimeError):
    """A step of the plan failed: the worker must not go on to run card code."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What the worker does to itself; every path absolute.

    `uid`: run as it (the app is root); `reveal`: directories to show in a
    private mount namespace because the uid cannot reach them; `hide_app`:
    a /proc of the worker's own processes (needs root, so only with `uid`);
    `read`: read and execute beneath; `list_only`: list the directory, not
    read below it; `write`: everything beneath (the scratch directory);
    `devices`: open for reading and writing; `landlock`: the ABI to use
    (0: none; the app allows that only with another uid).
    """

    uid: int | None = None
    reveal: tuple[str, ...] = ()
    hide_app: bool = False
    read: tuple[str, ...] = ()
    list_only: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    landlock: int = 0
    closed: dict[str, str] = field(default_factory=dict)  # reveal dir -> its closed ancestor

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return cls(
            uid=data.get("uid"),
            reveal=tuple(data.get("reveal", ())),
            hide_app=bool(data.get("hide_app")),
            read=tuple(data.get("read", ())),
            list_only=tuple(data.get("list_only", ())),
            write=tuple(data.get("write", ())),
            devices=tuple(data.get("devices", ())),
            landlock=int(data.get("landlock", 0)),
            closed=dict(data.get("closed", {})),
        )


_libc: ctypes.CDLL | None = None


def _c() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise ConfinementError(f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(
        _c().mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]),
        f"mount {target}",
    )


def _private_mounts(plan: Plan) -> None:
    """A mount namespace of the worker's own: closed directories opened to it, /proc without the app."""
    _check(_c().unshare(_CLONE_NEWNS), "a private mount namespace")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    if plan.reveal:
        stage = os.path.join(plan.write[0], ".reveal")
        os.mkdir(stage, 0o700)
        held = []
        for i, path in enumerate(plan.reveal):
            hold = os.path.join(stage, str(i))
            os.mkdir(hold)
            _mount(path, hold, None, _MS_BIND | _MS_REC)
            held.append((hold, path))
        for closed in sorted(set(plan.closed.values())):
            # Over the closed directory: an empty tmpfs anyone may enter, nothing of what was there.
            _mount("tmpfs", closed, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755,size=64k")
        for hold, path in held:
            os.makedirs(path, mode=0o755, exist_ok=True)
            _mount(hold, path, None, _MS_MOVE)
            os.rmdir(hold)
        os.rmdir(stage)
    if plan.hide_app:
        # hidepid=2: only processes this one may trace are listed or opened (its own uid's).
        _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "hidepid=2")


def _become(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (uid, uid, uid):
        raise ConfinementError(f"could not become uid {uid}")
    try:
        os.setuid(0)
    except PermissionError:
        pass
    else:
        raise ConfinementError("root could be regained after dropping it")
    # Changing uid made the worker undumpable: its /proc files would turn root's, and it could no
    # longer see or stop the processes its cards fork. Its own uid is the card's anyway.
    _c().prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)


def _landlock(plan: Plan) -> dict[str, Any]:
    rules = landlock.Ruleset(plan.landlock)
    for path in plan.read:
        rules.allow(path, landlock.READ)
    for path in plan.list_only:
        rules.allow(path, landlock.READ_DIR)
    for path in plan.write:
        if not rules.allow(path, rules.handled_fs):
            raise ConfinementError(f"the scratch directory {path} is missing")
    for path in plan.devices:
        rules.allow(path, landlock.READ_FILE | landlock.WRITE_FILE | landlock.IOCTL_DEV)
    rules.restrict()
    return {"abi": plan.landlock, "tcp_blocked": rules.blocks_tcp, "signals_scoped": rules.scopes_signals}


def apply(plan: Plan) -> dict[str, Any]:
    """Carry out `plan` on this process; what was done. Raises ConfinementError (then nothing may run)."""
    done: dict[str, Any] = {}
    try:
        if plan.uid is not None:
            if os.geteuid() != 0:
                raise ConfinementError("a uid of its own needs the worker to start as root")
            if plan.reveal or plan.hide_app:
                _private_mounts(plan)
                done["mount_namespace"] = True
            _become(plan.uid)
            done["uid"] = plan.uid
        if plan.landlock:
            done["landlock"] = _landlock(plan)
        elif plan.uid is None:
            raise ConfinementError("neither another uid nor Landlock: nothing would wall card code in")
    except ConfinementError:
        raise
    except OSError as exc:
        raise ConfinementError(str(exc)) from None
    return done


def main() -> int:
    """The app's probe: apply the plan in QUIZ_CONFINE_PLAN, then show that Python and quiz still load."""
    try:
        plan = Plan.from_dict(json.loads(os.environ.get(PLAN_ENV, "{}")))
        done = apply(plan)
        import quiz.runner.protocol  # noqa: F401 - importable after the walls went up
    except (ConfinementError, ImportError, ValueError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"ok": True, "uid": os.getuid(), **done}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
