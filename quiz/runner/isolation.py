"""How a worker is walled in: a bubblewrap sandbox when the machine allows one, else a fallback that still holds.

bubblewrap (Debian package `bubblewrap`) gives the worker its own user, pid,
network, IPC and UTS namespaces: no network but loopback, a read-only view of
the system and of Python (the venv, the quiz package), a size-capped tmpfs as
the only writable place (also its `$HOME`), no view of the learner's home, a
cleared environment, a new session, and death with the app. Whether it can
run is found by trying it once (some distributions block unprivileged user
namespaces).

Without it (the fallback, mode "rlimits") the worker walls itself in before
any card runs (`confine.py`): a uid of its own when the app is root, with a
/proc that does not show the app; Landlock keeping the filesystem read-only
but for its scratch directory, off the terminal and off TCP; the app itself
not dumpable and its arguments wiped (`shield_app`), so a worker of the same
uid cannot read its environment, arguments or open files. Where neither
another uid nor Landlock is to be had, or the uid cannot be made to work,
card code does not run at all (`Sandbox.refused`), and every command says so
with the fix (`notice`).

When the app runs as root, each worker runs as a uid of its own (the kernel
applies no process limit to root, and root could read everything): inside
bubblewrap, set up without a user namespace for this, `setpriv` switches to
it; in the fallback the worker switches itself. Card code never runs as root.
"""

from __future__ import annotations

import ctypes
import glob
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from quiz.runner import landlock
from quiz.runner.confine import PLAN_ENV, Plan

__all__ = [
    "Sandbox",
    "sandbox_for",
    "worker_env",
    "MODES",
    "PACKAGE_ROOT",
    "host_homes",
    "plan_for",
    "shield_app",
    "notice",
    "FIX_INSTALL",
]

MODES = ("auto", "bwrap", "rlimits")
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
SANDBOX_HOME = "/tmp/home"
SANDBOX_WORK = "/tmp/work"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Only what Python, the frameworks and the C library read from /etc.
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "passwd",
    "group",
    "nsswitch.conf",
    "localtime",
    "timezone",
    "ssl",
    "ca-certificates",
    "pki",
    "crypto-policies",
    "hosts",
    "host.conf",
    "gai.conf",
    "os-release",
    "mime.types",
    "protocols",
    "services",
    "python3",
    f"python{sys.version_info.major}.{sys.version_info.minor}",
    "fonts",
)
GPU_NODES = ("/dev/nvidia*", "/dev/nvidia-caps", "/dev/dri", "/dev/kfd")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
FIX_INSTALL = "install bubblewrap: sudo apt-get install bubblewrap"
FIX_USERNS = (
    "let bubblewrap create user namespaces: sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0 "
    "(or kernel.unprivileged_userns_clone=1)"
)
PASSED_ENV = ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "TF_ENABLE_ONEDNN_OPTS")


def host_homes(python: str = sys.executable) -> list[dict[str, str | None]]:
    """The learner's home as the app sees it ($HOME and the password database may differ).

    Each with a `marker`: an entry of that home outside the directories the
    sandbox shows, so a worker can tell the real home from the empty
    directories bubblewrap makes on the way to a bound venv.
    """
    homes = {os.path.expanduser("~")}
    if os.environ.get("HOME"):
        homes.add(os.environ["HOME"])
    shown = _python_dirs(python)
    out: list[dict[str, str | None]] = []
    for home in sorted(h for h in homes if h and h != "/"):
        marker = None
        try:
            for name in sorted(os.listdir(home)):
                path = os.path.join(home, name)
                if not any(d == path or d.startswith(path + os.sep) for d in shown):
                    marker = name
                    break
        except OSError:
            pass
        out.append({"path": home, "marker": marker})
    return out


def worker_env(*, home: str, tmp: str, python: str, threads: int | None = None) -> dict[str, str]:
    """A small, explicit environment: nothing of the learner's shell leaks into card code."""
    env = {
        "PATH": os.pathsep.join(
            dict.fromkeys([os.path.dirname(python), "/usr/local/bin", "/usr/bin", "/bin"])
        ),
        "HOME": home,
        "TMPDIR": tmp,
        "KERAS_HOME": os.path.join(home, ".keras"),
        "MPLCONFIGDIR": os.path.join(home, ".mpl"),
        "LANG": "C.UTF-8",
        "USER": "quiz",  # getpass.getuser() reads these first: a worker's uid may have no passwd entry
        "LOGNAME": "quiz",
        "PYTHONPATH": PACKAGE_ROOT,
        "PYTHONNOUSERSITE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "MXNET_STORAGE_FALLBACK_LOG_VERBOSE": "0",
        "MALLOC_ARENA_MAX": "2",  # glibc: fewer per-thread heaps, less address space and memory
    }
    for key in PASSED_ENV:
        if key in os.environ:
            env[key] = os.environ[key]
    if threads:
        for key in (
            "OMP_NUM_THREADS",
            "MKL_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
            "MXNET_CPU_WORKER_NTHREADS",
        ):
            env[key] = str(threads)
    elif "OMP_NUM_THREADS" in os.environ:
        env["OMP_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"]
    return env


UID_BASE = 0x70000000  # workers of a root app run as a uid of their own from here (no passwd entry)
UID_SPAN = 1 << 24


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _python_dirs(python: str) -> list[str]:
    """Everything the worker's Python needs to see: the venv, the base installation, the quiz package."""
    dirs = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        os.path.dirname(os.path.abspath(python)),
        os.path.dirname(os.path.realpath(python)),
        PACKAGE_ROOT,
    }
    out: set[str] = set()
    for d in dirs:
        for p in (os.path.abspath(d), os.path.realpath(d)):
            if p != "/" and os.path.exists(p):
                out.add(p)
    # Drop those inside another: binding the outer one shows them.
    keep = [p for p in out if not any(p != q and p.startswith(q.rstrip(os.sep) + os.sep) for q in out)]
    return sorted(keep)


def _ancestors(paths: list[str]) -> list[str]:
    found: set[str] = set()
    for p in paths:
        parent = os.path.dirname(p)
        while parent not in ("/", ""):
            found.add(parent)
            parent = os.path.dirname(parent)
    return sorted(found, key=lambda p: (p.count(os.sep), p))


@dataclass(frozen=True, slots=True)
class Sandbox:
    """How workers are started on this machine; found once by `sandbox_for`.

    `drop`: the app is root, and each worker runs as a uid of its own
    (`new_uid`), so the kernel's process limit applies to it and it cannot
    read what only root can. With bubblewrap the sandbox is then set up
    without a user namespace and `setpriv` switches to the uid inside it;
    in the fallback the worker switches itself (`confine.py`).
    `landlock`: the Landlock ABI the fallback uses (0: none).
    `refused`: why card code must not run at all here ("" when it may);
    `fix`: what gets full isolation.
    """

    mode: str  # "bwrap" | "rlimits"
    bwrap: str | None = None
    drop: bool = False
    setpriv: str | None = None
    reason: str = ""  # why not bubblewrap, or why not the stronger variant
    landlock: int = 0
    refused: str = ""
    fix: str = FIX_INSTALL

    @property
    def userns(self) -> bool:
        return self.mode == "bwrap" and not self.drop

    @property
    def full(self) -> bool:
        """Full isolation: bubblewrap."""
        return self.mode == "bwrap"

    def new_uid(self) -> int | None:
        """A fresh uid for one worker (None: the worker runs as the app's own user)."""
        return UID_BASE + secrets.randbelow(UID_SPAN) if self.drop else None

    def command(
        self,
        argv: list[str],
        *,
        python: str,
        env: dict[str, str],
        scratch_mb: int,
        uid: int | None = None,
        gpu: bool = True,
    ) -> list[str]:
        """Wrap `argv` (a python command line) for this sandbox."""
        if self.mode != "bwrap" or not self.bwrap:
            return argv
        cmd = [self.bwrap]
        if uid is not None and self.setpriv:
            # Root: namespaces without a user namespace, so the uid switched to is a real
            # kernel uid (a user namespace as root would map it back to root).
            cmd += [
                "--unshare-ipc",
                "--unshare-pid",
                "--unshare-net",
                "--unshare-uts",
                "--unshare-cgroup-try",
            ]
            cmd += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            cmd += ["--unshare-all", "--cap-drop", "ALL"]  # user, pid, network, IPC, UTS, cgroup
        cmd += ["--die-with-parent", "--new-session"]
        for d in SYSTEM_DIRS:
            cmd += ["--ro-bind-try", d, d]
        for name in ETC_FILES:
            cmd += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        cmd += ["--ro-bind-try", "/sys", "/sys", "--proc", "/proc", "--dev", "/dev"]
        if gpu:
            for pattern in GPU_NODES:
                for node in sorted(glob.glob(pattern)):
                    cmd += ["--dev-bind-try", node, node]
        cmd += ["--perms", "1777", "--size", str(scratch_mb * 1024 * 1024), "--tmpfs", "/tmp"]
        cmd += ["--perms", "1777", "--size", str(scratch_mb * 1024 * 1024), "--tmpfs", "/dev/shm"]
        binds = _python_dirs(python)
        for d in _ancestors(binds):
            if not any(d == s or d.startswith(s + os.sep) for s in SYSTEM_DIRS):
                cmd += ["--perms", "0755", "--dir", d]
        for d in binds:
            cmd += ["--ro-bind", d, d]
        cmd += ["--perms", "0777", "--dir", SANDBOX_HOME, "--perms", "0777", "--dir", SANDBOX_WORK]
        cmd += ["--chdir", SANDBOX_WORK, "--clearenv"]
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        cmd.append("--")
        if uid is not None and self.setpriv:
            cmd += [
                self.setpriv,
                f"--reuid={uid}",
                f"--regid={uid}",
                "--clear-groups",
                "--inh-caps=-all",
                "--",
            ]
        return [*cmd, *argv]

    def layers(self) -> list[str]:
        """What this sandbox promises (the worker's own report says what it observed)."""
        out = ["a separate worker process per backend, in its own session and process group"]
        if self.mode == "bwrap":
            out += [
                "bubblewrap: own pid, network, IPC and UTS namespaces"
                + (", and user namespace" if self.userns else ""),
                "no network (loopback only)",
                "read-only system, Python and venv",
                "tmpfs scratch as the only writable place (also $HOME); the learner's home is not visible",
                "cleared environment, new session, dies with the app",
            ]
        elif not self.refused:
            out.append(
                "cleared environment, scratch cwd and HOME, no controlling terminal, no inherited files"
            )
            if self.drop:
                out.append(
                    "a private mount namespace: /proc shows only the worker's own processes, "
                    "directories closed to its uid stay hidden"
                )
            if self.landlock:
                out.append(
                    f"Landlock (ABI {self.landlock}): system, Python and quiz read-only, nothing else readable, "
                    "the scratch directory the only writable place, no terminal device"
                )
                if self.landlock >= 4:
                    out.append("Landlock: no TCP connections or listening sockets")
                if self.landlock >= 6:
                    out.append("Landlock: no signals or abstract unix sockets reaching outside the worker")
            out.append("the app's environment, arguments and open files are out of the worker's reach")
        if self.drop:
            out.append("each worker runs as a uid of its own, not root")
        return out


_lock = threading.Lock()
_cache: dict[tuple[str, str], Sandbox] = {}


def _probe_bwrap(probe: Sandbox, python: str) -> str | None:
    """Start Python in the sandbox once; None if it worked, else why not."""
    env = worker_env(home=SANDBOX_HOME, tmp="/tmp", python=python)
    argv = probe.command(
        [python, "-c", "import quiz.runner.protocol"],
        python=python,
        env=env,
        scratch_mb=16,
        uid=probe.new_uid(),
        gpu=False,
    )
    return _try(argv, {})


def _try(argv: list[str], popen: dict[str, Any], env: dict[str, str] | None = None) -> str | None:
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            env=env or {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            cwd="/",
            **popen,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    if done.returncode != 0:
        text = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
        return text[-1] if text else f"exit status {done.returncode}"
    return None


def _probe_confined(probe: Sandbox, python: str) -> str | None:
    """Can a worker wall itself in here as planned, and still load Python and quiz? None if so, else why not."""
    scratch = tempfile.mkdtemp(prefix="quiz-probe-")
    try:
        uid = probe.new_uid()
        if uid is not None:
            os.chown(scratch, uid, uid)
        plan = plan_for(probe, scratch=scratch, python=python, uid=uid, gpu=False)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": PACKAGE_ROOT,
            "PYTHONDONTWRITEBYTECODE": "1",
            PLAN_ENV: json.dumps(plan.to_dict()),
        }
        return _try([python, "-m", "quiz.runner.confine"], {}, env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def sandbox_for(requested: str = "auto", python: str = sys.executable) -> Sandbox:
    """The sandbox workers get here (tried once per process and remembered).

    `requested`: "auto" (bubblewrap if it runs, else rlimits), "bwrap" (the
    same, but say why when it cannot), "rlimits" (never bubblewrap).
    QUIZ_ISOLATION in the environment sets the default.
    """
    if requested == "auto":
        requested = os.environ.get("QUIZ_ISOLATION", "auto")
    if requested not in MODES:
        raise ValueError(f"isolation must be one of {', '.join(MODES)}, not {requested!r}")
    key = (requested, python)
    with _lock:
        if key in _cache:
            return _cache[key]
        found = _detect(requested, python)
        _cache[key] = found
        return found


def _detect(requested: str, python: str) -> Sandbox:
    root = _is_root()
    reason, fix = "bubblewrap not asked for: QUIZ_ISOLATION=rlimits", FIX_INSTALL
    if requested != "rlimits":
        bwrap = shutil.which("bwrap")
        if not sys.platform.startswith("linux"):
            reason = "bubblewrap needs Linux"
        elif not bwrap:
            reason = "bubblewrap is not installed"
        elif root:
            # Root inside a user namespace is still root to the kernel: only setpriv's uid will do.
            setpriv = shutil.which("setpriv")
            if setpriv:
                best = Sandbox("bwrap", bwrap, drop=True, setpriv=setpriv)
                why = _probe_bwrap(best, python)
                if why is None:
                    return best
                reason = f"bubblewrap cannot switch to a uid of its own here (setpriv: {why})"
            else:
                reason = "setpriv is not installed, so bubblewrap would run card code as root"
                fix = "install setpriv: sudo apt-get install util-linux"
        else:
            plain = Sandbox("bwrap", bwrap)
            why = _probe_bwrap(plain, python)
            if why is None:
                return plain
            reason, fix = f"bubblewrap cannot run here: {why}", FIX_USERNS
    return _fallback(reason, fix, python, root)


def _fallback(reason: str, fix: str, python: str, root: bool) -> Sandbox:
    """The fallback, when it holds; else a sandbox that refuses to run card code, saying why."""
    found = Sandbox("rlimits", drop=root, reason=reason, landlock=landlock.abi_version(), fix=fix)
    if not root and not found.landlock:
        return replace(
            found, refused=f"{reason}, this kernel has no Landlock and there is no other uid to use"
        )
    why = _probe_confined(found, python)
    if why is not None:
        return replace(found, refused=f"{reason}, and the fallback cannot wall card code in ({why})")
    return found


# --- the fallback's pieces ---------------------------------------------------------------


def _closed_ancestor(path: str) -> str | None:
    """The highest directory above `path` that a uid with no rights of its own cannot enter."""
    parts = Path(path).parts
    for i in range(1, len(parts)):
        parent = str(Path(*parts[:i]))
        try:
            mode = os.stat(parent).st_mode
        except OSError:
            return None
        if not mode & stat.S_IXOTH:
            return parent
    return None


def _code_dirs(python: str) -> list[str]:
    """Where the worker's Python, its packages and quiz live: readable to card code, never writable."""
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    for exe in (os.path.abspath(python), os.path.realpath(python)):
        dirs.add(os.path.dirname(exe))
        dirs.add(os.path.dirname(os.path.dirname(exe)))  # the prefix of another Python than this one
    out = set()
    for d in dirs:
        for p in (os.path.abspath(d), os.path.realpath(d)):
            if p not in ("/", PACKAGE_ROOT) and os.path.isdir(p):
                out.add(p)
    # quiz itself, but nothing else of the checkout it may sit in (a QUIZ_HOME there, say).
    out.add(os.path.join(PACKAGE_ROOT, "quiz"))
    return sorted(out)


def plan_for(sandbox: Sandbox, *, scratch: str, python: str, uid: int | None, gpu: bool) -> Plan:
    """What a fallback worker does to itself (see confine.py): its scratch is `scratch`, its uid `uid`."""
    code = _code_dirs(python)
    read = [d for d in SYSTEM_DIRS if os.path.isdir(d)]
    read += [f"/etc/{name}" for name in ETC_FILES if os.path.exists(f"/etc/{name}")]
    read += ["/proc", "/sys", *code]
    list_only = [PACKAGE_ROOT]  # Python lists the path entry to find quiz in it
    devices = [d for d in DEVICES if os.path.exists(d)]
    if gpu:
        devices += sorted(n for pattern in GPU_NODES for n in glob.glob(pattern))
    closed: dict[str, str] = {}
    if uid is not None:
        for path in [*code, *list_only, scratch]:
            top = _closed_ancestor(path)
            if top is not None:
                closed[path] = top
    # A directory inside another one shown is shown with it.
    reveal = sorted(p for p in closed if not any(p != q and p.startswith(q + os.sep) for q in closed))
    return Plan(
        uid=uid,
        reveal=tuple(reveal),
        hide_app=uid is not None,
        read=tuple(read),
        list_only=tuple(list_only),
        write=(scratch,),
        devices=tuple(devices),
        landlock=sandbox.landlock,
        closed={p: closed[p] for p in reveal},
    )


def exposed_private_dirs(plan: Plan, private: list[str]) -> list[str]:
    """Those of `private` (the learner's data, settings, caches) that card code could read under `plan`."""
    readable = [*plan.read, *plan.write]
    out = []
    for d in private:
        real = os.path.realpath(d)
        if any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in readable):
            out.append(d)
    return out


_shielded = False
_PR_SET_DUMPABLE = 4


def shield_app() -> None:
    """Keep the app's own /proc entries from workers of its uid: not dumpable, its arguments wiped.

    Not dumpable: /proc/<app>/environ, fd/, mem, cwd turn root's and need
    ptrace rights (a --db URL or QUIZ_DB may hold a password). /proc/<app>/cmdline
    stays world-readable, so everything after the program's name is
    overwritten in place (Python keeps its own copy in sys.argv).
    """
    global _shielded
    if _shielded or not sys.platform.startswith("linux"):
        return
    _shielded = True
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end (fields 48 and 49)
    except (OSError, ValueError, IndexError):
        return
    if not 0 < start < end or end - start > 1 << 20:
        return
    args = ctypes.string_at(start, end - start)
    first = args.find(b"\0") + 1
    if 0 < first < len(args):
        ctypes.memset(start + first, 0, end - start - first)


def notice(sandbox: Sandbox, *, allow_unisolated: bool = False) -> str | None:
    """The one line every command that runs card code prints on stderr when isolation is not full."""
    if sandbox.full:
        return None
    if sandbox.refused:
        return f"card code will not run here: {sandbox.refused}; fix: {sandbox.fix}"
    added = (
        "added decks run anyway (--allow-unisolated)"
        if allow_unisolated
        else "added decks do not run unless you pass --allow-unisolated or set allow_unisolated = true "
        "in config.toml"
    )
    return f"card code is only partly isolated here ({sandbox.reason}); {added}; for full isolation {sandbox.fix}"


def header_notice(sandbox: Sandbox) -> str | None:
    """The same, short enough for the app's header."""
    if sandbox.full:
        return None
    if sandbox.refused:
        return "card code cannot run here: " + sandbox.fix
    return "partial isolation: " + sandbox.fix


def added_deck_refusal(deck_path: str, sandbox: Sandbox, *, allow_unisolated: bool) -> str | None:
    """Why a card of the deck at `deck_path` may not run here (None: it may).

    Without full isolation only the decks that ship with quiz run, unless the
    learner opted in (the flag or the setting, both named in the message).
    """
    if sandbox.full or allow_unisolated or not deck_path:
        return None
    from quiz.paths import builtin_decks_dir

    builtin = os.path.realpath(builtin_decks_dir())
    if os.path.realpath(deck_path).startswith(builtin.rstrip(os.sep) + os.sep):
        return None
    return (
        f"{deck_path} is not a built-in deck and card code is only partly isolated here ({sandbox.reason}): "
        f"run it anyway with --allow-unisolated (or allow_unisolated = true in config.toml), "
        f"or for full isolation {sandbox.fix}"
    )
