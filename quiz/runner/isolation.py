"""How a worker is walled in: a bubblewrap sandbox when the machine allows one, else resource limits alone.

bubblewrap (Debian package `bubblewrap`) gives the worker its own user, pid,
network, IPC and UTS namespaces: no network but loopback, a read-only view of
the system and of Python (the venv, the quiz package), a size-capped tmpfs as
the only writable place (also its `$HOME`), no view of the learner's home, a
cleared environment, a new session, and death with the app. Whether it can
run is found by trying it once (some distributions block unprivileged user
namespaces); otherwise the worker runs as a plain process in its own session
with the same environment and resource limits.

When the app runs as root, each worker runs as a uid of its own instead
(the kernel applies no process limit to root, and root could read
everything): inside bubblewrap, set up without a user namespace for this,
`setpriv` switches to it; without bubblewrap the worker is started as that
uid if it can run the venv's Python. A worker that must stay root gets a
pids cgroup where the machine has one (`cgroups.py`).
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Sandbox", "sandbox_for", "worker_env", "MODES", "PACKAGE_ROOT", "host_homes"]

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
    without a user namespace and `setpriv` switches to the uid inside it.
    """

    mode: str  # "bwrap" | "rlimits"
    bwrap: str | None = None
    drop: bool = False
    setpriv: str | None = None
    reason: str = ""  # why not bubblewrap, or why not the stronger variant

    @property
    def userns(self) -> bool:
        return self.mode == "bwrap" and not self.drop

    def new_uid(self) -> int | None:
        """A fresh uid for one worker (None: the worker runs as the app's own user)."""
        return UID_BASE + secrets.randbelow(UID_SPAN) if self.drop else None

    def popen_user(self, uid: int | None) -> dict[str, Any]:
        """Popen arguments that start a plain (not bubblewrapped) worker as `uid`."""
        if uid is None or self.mode == "bwrap":
            return {}
        return {"user": uid, "group": uid, "extra_groups": []}

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
        else:
            out.append("cleared environment, scratch cwd and HOME")
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


def _probe_plain(probe: Sandbox, python: str) -> str | None:
    """Can a worker's uid run the worker's Python and import quiz (the venv may be private to root)?"""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": PACKAGE_ROOT}
    return _try([python, "-c", "import quiz.runner.protocol"], probe.popen_user(probe.new_uid()), env)


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
    reason = "not asked for (isolation = rlimits)"
    if requested != "rlimits":
        bwrap = shutil.which("bwrap")
        setpriv = shutil.which("setpriv") if root else None
        if not sys.platform.startswith("linux"):
            reason = "bubblewrap needs Linux"
        elif not bwrap:
            reason = "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
        else:
            why = None
            if root and setpriv:
                best = Sandbox("bwrap", bwrap, drop=True, setpriv=setpriv)
                why = _probe_bwrap(best, python)
                if why is None:
                    return best
            plain = Sandbox("bwrap", bwrap)
            why2 = _probe_bwrap(plain, python)
            if why2 is None:
                if root:
                    note = f"setpriv failed: {why}" if setpriv else "setpriv (util-linux) is not installed"
                    return Sandbox("bwrap", bwrap, reason=f"workers run as root ({note})")
                return plain
            reason = f"bubblewrap cannot run here: {why2}"
    if root:
        dropped = Sandbox("rlimits", drop=True, reason=reason)
        why = _probe_plain(dropped, python)
        if why is None:
            return dropped
        return Sandbox(
            "rlimits", reason=f"{reason}; workers run as root (another uid cannot run Python here: {why})"
        )
    return Sandbox("rlimits", reason=reason)
