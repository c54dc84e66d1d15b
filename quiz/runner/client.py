"""The app's side of the runner: warm worker processes per backend, timeouts, crash recovery.

Each backend gets one long-lived worker (`python -m quiz.runner.worker
BACKEND`), sandboxed as `isolation.py` decides, in its own session, started
in the background as soon as the app knows it will need it, so the
framework import (seconds for TensorFlow) overlaps with the learner reading
the card. A card that outruns its time is first interrupted inside the
worker; if the worker does not answer within a grace period its whole
process tree is killed and a fresh worker is started. A worker that dies
(segfault, `os._exit`) yields a "crashed" result and is replaced; the app
carries on. A worker left idle for `idle_s` exits by itself and is started
again on the next card that needs it.

Workers are started from one long-lived thread: the sandbox dies with the
thread that started it (bubblewrap's --die-with-parent is per thread), and
the app's own threads come and go.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quiz.core.cards import Card, Kind
from quiz.core.decks import unmet_requirement
from quiz.core.grading import RunResult
from quiz.core.variables import Variant
from quiz.runner import procs, protocol
from quiz.runner.backends import backend_info, installed_versions
from quiz.runner.cgroups import PidsCgroup, pids_base
from quiz.runner.isolation import (
    PACKAGE_ROOT,
    SANDBOX_HOME,
    SANDBOX_WORK,
    Sandbox,
    added_deck_refusal,
    exposed_private_dirs,
    host_homes,
    plan_for,
    sandbox_for,
    shield_app,
    worker_env,
)
from quiz.runner.limits import HARD_GRACE_S, Limits

if TYPE_CHECKING:
    from quiz.config import Settings

__all__ = ["Runner", "WorkerProcess", "WorkerCrashed", "WorkerTimeout", "DEFAULT_IDLE_S"]

START_TIMEOUT_S = 120.0
DEFAULT_IDLE_S = 600.0  # a worker nobody asked anything for 10 minutes exits
LOG_ROTATE_BYTES = 4 * 1024 * 1024
CONFIG_ENV = "QUIZ_WORKER_CONFIG"


class WorkerTimeout(RuntimeError):
    """The worker did not answer in time."""


class WorkerCrashed(RuntimeError):
    """The worker process ended (or broke the protocol)."""

    def __init__(self, message: str, returncode: int | None = None) -> None:
        super().__init__(message)
        self.returncode = returncode


def describe_exit(returncode: int | None, sandboxed: bool = False) -> str:
    """`crashed (SIGSEGV)`; bubblewrap reports a child killed by signal N as exit status 128 + N."""
    if returncode is None:
        return "crashed"
    if sandboxed and 128 < returncode < 128 + 65:
        returncode = -(returncode - 128)
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"crashed ({name})"
    return f"crashed (exit status {returncode})"


class _Spawner:
    """Starts processes from one thread that lives as long as the app (see the module docstring)."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[list[str], dict[str, Any], concurrent.futures.Future[Any]]] = (
            queue.Queue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="quiz-worker-spawner", daemon=True)
                self._thread.start()
        done: concurrent.futures.Future[subprocess.Popen[bytes]] = concurrent.futures.Future()
        self._jobs.put((argv, kwargs, done))
        return done.result()

    def _loop(self) -> None:
        while True:
            argv, kwargs, done = self._jobs.get()
            try:
                done.set_result(subprocess.Popen(argv, **kwargs))
            except BaseException as exc:
                done.set_exception(exc)


_spawner = _Spawner()


class WorkerProcess:
    """One worker process for one backend, and the pipe to it."""

    def __init__(
        self,
        backend: str,
        *,
        python: str = sys.executable,
        log_dir: Path | None = None,
        isolation: str = "auto",
        limits: Limits | None = None,
        idle_s: float = DEFAULT_IDLE_S,
        threads: int | None = None,
        cpu_only: bool = False,
    ) -> None:
        self.backend = backend
        self.cpu_only = cpu_only
        self.python = python
        self.log_dir = log_dir
        self.isolation = isolation
        self.limits = (limits or Limits()).resolved()
        self.idle_s = idle_s
        self.threads = threads
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] | None = None
        self.sandbox: Sandbox | None = None
        self.uid: int | None = None
        self.cgroup: PidsCgroup | None = None
        self.scratch: str | None = None
        self.started_at = 0.0
        self.ready_at: float | None = None
        self.restarts = 0
        self._buf = b""
        self._next_id = 0
        self.lock = threading.RLock()

    # --- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        """Start the worker if it is not running (returns at once; the framework imports in the background)."""
        with self.lock:
            if self.proc is not None and self.proc.poll() is None:
                return
            if self.proc is not None:
                self.kill()  # it ended (idle, crashed): collect it, its scratch and its cgroup first
            self._reset()
            sandbox = self.sandbox = sandbox_for(self.isolation, self.python)
            if sandbox.refused:
                raise WorkerCrashed(f"card code will not run here: {sandbox.refused}; fix: {sandbox.fix}")
            sandboxed = sandbox.mode == "bwrap"
            uid = self.uid = sandbox.new_uid()
            plan = None
            if sandboxed:
                home, tmp, workdir, cwd = SANDBOX_HOME, "/tmp", SANDBOX_WORK, "/"
            else:
                shield_app()
                self.scratch = tempfile.mkdtemp(prefix=f"quiz-{self.backend}-")
                home, tmp, workdir = (os.path.join(self.scratch, d) for d in ("home", "tmp", "work"))
                for d in (home, tmp, workdir):
                    os.mkdir(d, 0o700)
                if uid is not None:
                    for d in (self.scratch, home, tmp, workdir):
                        os.chown(d, uid, uid)
                cwd = "/"  # the worker enters its workdir itself, once it is walled in
                plan = plan_for(
                    sandbox, scratch=self.scratch, python=self.python, uid=uid, gpu=not self.cpu_only
                )
                exposed = exposed_private_dirs(plan, _private_dirs())
                if exposed:
                    self._cleanup()
                    raise WorkerCrashed(
                        f"card code will not run here: it could read {', '.join(exposed)} "
                        f"(inside what it must read); move QUIZ_HOME elsewhere, or {sandbox.fix}"
                    )
            env = worker_env(home=home, tmp=tmp, python=self.python, threads=self.threads)
            if self.cpu_only:
                # The GPU hidden: the worker is a CPU worker, with the memory limit CUDA would not allow.
                env["CUDA_VISIBLE_DEVICES"] = ""
            env[CONFIG_ENV] = json.dumps(
                {
                    "limits": self.limits.to_dict(),
                    "idle_s": self.idle_s,
                    "threads": self.threads,
                    "workdir": workdir,
                    "sandboxed": sandboxed,
                    "parent_pid": os.getpid(),
                    "host_homes": host_homes(self.python),
                    "package_root": PACKAGE_ROOT,
                    "confine": plan.to_dict() if plan is not None else None,
                }
            )
            argv = [self.python, "-m", "quiz.runner.worker", self.backend]
            if sandboxed:
                argv = sandbox.command(
                    argv,
                    python=self.python,
                    env=env,
                    scratch_mb=self.limits.scratch_mb,
                    uid=uid,
                    gpu=not self.cpu_only,
                )
                env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            self._make_cgroup(sandbox, uid)
            log = self._open_log()
            self.started_at = time.perf_counter()
            try:
                self.proc = _spawner.popen(
                    argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    cwd=cwd,
                    env=env,
                    start_new_session=True,
                    close_fds=True,
                )
            except OSError as exc:
                self.kill()
                raise WorkerCrashed(f"could not start the {self.backend} worker: {exc}") from None
            finally:
                if log is not subprocess.DEVNULL:
                    log.close()
            if self.cgroup is not None:
                try:
                    self.cgroup.add(self.proc.pid)
                except OSError:
                    self.cgroup.remove()
                    self.cgroup = None

    def _make_cgroup(self, sandbox: Sandbox, uid: int | None) -> None:
        """A root worker that the kernel's process limit misses gets a pids cgroup, where there is one."""
        if uid is not None or not hasattr(os, "geteuid") or os.geteuid() != 0:
            return
        base = pids_base()
        if base is None:
            return
        # Room for the framework's own threads (about two per core) besides what a card may add.
        limit = self.limits.processes + 4 * (os.cpu_count() or 1) + 64
        try:
            self.cgroup = PidsCgroup(base, limit)
        except OSError:
            self.cgroup = None

    def _open_log(self) -> Any:
        if self.log_dir is None:
            return subprocess.DEVNULL
        self.log_dir.mkdir(parents=True, exist_ok=True)
        path = self.log_dir / f"worker-{self.backend}.log"
        with contextlib.suppress(OSError):
            if path.stat().st_size > LOG_ROTATE_BYTES:
                path.replace(path.with_suffix(".log.1"))
        return open(path, "ab")

    def _reset(self) -> None:
        self._cleanup()
        self.ready_at = None
        self.info = None
        self._buf = b""

    @property
    def state(self) -> str:
        if self.proc is None or self.proc.poll() is not None:
            return "stopped"
        return "ready" if self.info is not None else "starting"

    @property
    def sandboxed(self) -> bool:
        return self.sandbox is not None and self.sandbox.mode == "bwrap"

    def host_pids(self) -> list[int]:
        """This worker's processes as the app sees them (the sandbox's too), parents first."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return []
        return [proc.pid, *procs.descendants(proc.pid)]

    def kill(self) -> None:
        """Kill the worker's whole process tree (children, grandchildren, whatever left its group too)."""
        with self.lock:
            proc = self.proc
            if proc is not None:
                if proc.poll() is None:
                    procs.kill_tree(proc.pid)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
                for stream in (proc.stdin, proc.stdout):
                    with contextlib.suppress(OSError):
                        if stream:
                            stream.close()
            self.proc = None
            self.info = None
            self._cleanup()
            if self.cgroup is not None:
                self.cgroup.remove()
                self.cgroup = None

    def restart(self) -> None:
        """Replace the worker with a fresh one (which warms up in the background)."""
        with self.lock:
            self.kill()
            self.restarts += 1
            self.start()

    def close(self) -> None:
        """Ask the worker to exit (EOF on its pipe), then make sure it did."""
        with self.lock:
            proc = self.proc
            # A ready worker exits on EOF at once; one still importing its framework is just killed.
            if proc is not None and proc.stdin and self.info is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=1)
            self.kill()

    def _cleanup(self) -> None:
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    # --- pipe -------------------------------------------------------------------

    def _readline(self, deadline: float) -> bytes:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerTimeout(f"{self.backend} worker did not answer in time")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                code = self.proc.wait(timeout=5)
                raise WorkerCrashed(describe_exit(code, self.sandboxed), code)
            self._buf += chunk
            if len(self._buf) > protocol.MAX_LINE:
                raise WorkerCrashed("sent an oversized message")
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> dict[str, Any]:
        with self.lock:
            if self.info is not None and self.proc is not None and self.proc.poll() is None:
                return self.info
            if self.proc is None or self.proc.poll() is not None:
                self.kill()
                self.start()
            deadline = time.monotonic() + timeout
            try:
                message = protocol.decode(self._readline(deadline))
            except WorkerTimeout:
                self.kill()
                raise
            except (ValueError, WorkerCrashed) as exc:
                self.kill()
                raise WorkerCrashed(f"{self.backend} worker failed to start: {exc}") from None
            if message.get("op") != "ready" or not message.get("ok"):
                self.kill()
                raise WorkerCrashed(f"{self.backend} failed to load: {message.get('error', message)}")
            self.info = message
            self.ready_at = time.perf_counter()
            return message

    def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait for its answer; kill the worker on timeout or breakage.

        A worker that left because it was idle is started again and asked
        again, once: it exits only when it has read nothing, so nothing ran.
        """
        with self.lock:
            for attempt in (1, 2):
                try:
                    return self._call_once(request, timeout)
                except WorkerCrashed as exc:
                    if exc.returncode != protocol.IDLE_EXIT or attempt == 2:
                        raise
            raise AssertionError("unreachable")  # pragma: no cover

    def _call_once(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.wait_ready()
        assert self.proc is not None and self.proc.stdin is not None
        self._next_id += 1
        request = {**request, "id": self._next_id}
        try:
            self.proc.stdin.write(protocol.encode(request))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            code = self.proc.wait(timeout=5)
            self.kill()
            raise WorkerCrashed(describe_exit(code, self.sandboxed), code) from None
        deadline = time.monotonic() + timeout
        try:
            while True:
                response = protocol.decode(self._readline(deadline))
                if response.get("id") == request["id"]:
                    return response
        except (WorkerTimeout, WorkerCrashed):
            self.kill()
            raise
        except ValueError as exc:
            self.kill()
            raise WorkerCrashed(f"broke the protocol: {exc}") from None


class Runner:
    """Runs card variants on warm workers, one per backend.

    `device`: "auto", "gpu" or "cpu"; a "cpu" runner's workers do not see the
    GPU at all (and so get the memory limit, which CUDA would not allow).
    `isolation`: "auto" (bubblewrap when it runs here, else rlimits), "bwrap"
    or "rlimits". `limits`: what a worker may use. `idle_s`: a worker unused
    this long exits (0: never). `threads`: intra-op threads per worker (None:
    the framework's default). `allow_unisolated`: run cards of decks that do
    not ship with quiz even without full isolation (None: QUIZ_ALLOW_UNISOLATED).
    """

    def __init__(
        self,
        *,
        device: str = "auto",
        python: str = sys.executable,
        log_dir: Path | None = None,
        start_timeout: float = START_TIMEOUT_S,
        isolation: str = "auto",
        limits: Limits | None = None,
        idle_s: float = DEFAULT_IDLE_S,
        threads: int | None = None,
        allow_unisolated: bool | None = None,
    ) -> None:
        self.device = device
        self.python = python
        self.log_dir = log_dir
        self.start_timeout = start_timeout
        if allow_unisolated is None:
            allow_unisolated = os.environ.get("QUIZ_ALLOW_UNISOLATED", "").lower() in ("1", "true", "yes")
        self.allow_unisolated = allow_unisolated
        self.isolation = isolation
        self.limits = (limits or Limits()).resolved()
        self.idle_s = idle_s
        self.threads = threads
        self._workers: dict[str, WorkerProcess] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: Settings, **kwargs: Any) -> Runner:
        """A runner with the learner's settings: `device`, `worker_idle_s`, `allow_unisolated` (config.toml)."""
        kwargs.setdefault("device", settings.device)
        kwargs.setdefault("idle_s", float(settings.worker_idle_s))
        kwargs.setdefault("allow_unisolated", settings.allow_unisolated)
        return cls(**kwargs)

    def worker(self, backend: str) -> WorkerProcess:
        with self._lock:
            w = self._workers.get(backend)
            if w is None:
                w = self._workers[backend] = WorkerProcess(
                    backend,
                    python=self.python,
                    log_dir=self.log_dir,
                    isolation=self.isolation,
                    limits=self.limits,
                    idle_s=self.idle_s,
                    threads=self.threads,
                    cpu_only=self.device == "cpu",
                )
            return w

    def prestart(self, backends: list[str] | tuple[str, ...]) -> None:
        """Start workers now (non-blocking) so their framework import overlaps with other work.

        Call it with the backends of the cards about to be shown (the next due
        ones); a worker already running is left as it is.
        """
        for backend in backends:
            if backend_info(backend).installed:
                with contextlib.suppress(WorkerCrashed):  # the card that needs it will say why
                    self.worker(backend).start()

    def sandbox(self) -> Sandbox:
        """How this runner's workers are walled in (found once per process)."""
        return sandbox_for(self.isolation, self.python)

    def state(self, backend: str) -> str:
        w = self._workers.get(backend)
        return w.state if w else "stopped"

    def info(self, backend: str) -> dict[str, Any] | None:
        """Version and devices reported by a ready worker (starting one if needed)."""
        if not backend_info(backend).installed:
            return None
        return self.worker(backend).wait_ready(self.start_timeout)

    def why_unavailable(self, card: Card, device: str | None = None) -> str | None:
        """Why `card` cannot run here (None when it can, or when that is not known without a worker)."""
        backend = card.backend.value
        installed = backend_info(backend)
        if not installed.installed:
            return f"{backend} is not installed; install it with: {installed.hint}"
        reason = unmet_requirement(card, installed_versions())
        if reason:
            return f"this card {reason}"
        reason = added_deck_refusal(
            card.location.path, self.sandbox(), allow_unisolated=self.allow_unisolated
        )
        if reason:
            return reason
        if card.needs_gpu:
            if (device or self.device) == "cpu":
                return "this card needs a GPU, and the device is set to cpu (--device)"
            w = self._workers.get(backend)
            if w is not None and w.info is not None and "gpu" not in w.info.get("devices", []):
                return f"this card needs a GPU; {backend} sees none here"
        return None

    def run(
        self,
        card: Card,
        variant: Variant,
        given: str | None = None,
        device: str | None = None,
    ) -> RunResult:
        """Run the variant's code; for `code` cards also the learner's line `given`."""
        backend = card.backend.value
        dev = device or self.device
        reason = self.why_unavailable(card, dev)
        if reason:
            return RunResult(ok=False, error=reason, error_kind="unavailable", backend=backend, device=dev)
        w = self.worker(backend)
        try:
            info = w.wait_ready(self.start_timeout)
        except (WorkerCrashed, WorkerTimeout) as exc:
            return RunResult(ok=False, error=str(exc), error_kind="unavailable", backend=backend, device=dev)
        version = str(info.get("version", ""))
        if card.needs_gpu:
            if "gpu" not in info.get("devices", []):
                return RunResult(
                    ok=False,
                    error=f"this card needs a GPU; {backend} sees none here",
                    error_kind="unavailable",
                    backend=backend,
                    device=dev,
                    version=version,
                )
            dev = "gpu"
        timeout = self.limits.card_timeout(card.timeout)
        runs = 2 if card.kind == Kind.CODE and given is not None else 1
        request = {
            "op": "run",
            "card": card.uid,
            "seed": variant.seed,
            "kind": card.kind.value,
            "code": variant.code,
            "answer": variant.answer if variant.answer is not None else card.answer,
            "result": variant.result if variant.result is not None else card.result,
            "given": given if card.kind == Kind.CODE else None,
            "device": dev,
            "timeout": timeout,
        }
        try:
            response = w.call(request, timeout=timeout * runs + HARD_GRACE_S)
        except WorkerTimeout:
            _restart(w)  # a fresh worker warms up while the learner reads the verdict
            return RunResult(
                ok=False,
                error=f"timed out after {timeout:g} s (the worker was stopped and restarted)",
                error_kind="timeout",
                backend=backend,
                device=dev,
                version=version,
                elapsed_ms=timeout * runs * 1000,
            )
        except WorkerCrashed as exc:
            _restart(w)
            return RunResult(
                ok=False,
                error=f"the {backend} worker {exc} while running this card; a new one was started",
                error_kind="crashed",
                backend=backend,
                device=dev,
                version=version,
            )
        if response.get("recycle"):
            _restart(w)
        truth = response.get("truth")
        ok = bool(response.get("ok"))
        error = response.get("error")
        error_kind = response.get("error_kind")
        choices = variant.choices or card.choices
        if ok and card.kind == Kind.CHOICE and truth not in choices:
            ok, error, error_kind = (
                False,
                f"the card's answer gave {truth!r}, which is not one of its choices",
                "card-error",
            )
        return RunResult(
            ok=ok,
            truth=truth if ok else None,
            given_value=response.get("given_value"),
            given_error=response.get("given_error"),
            error=error,
            error_kind=error_kind,
            backend=backend,
            device=str(response.get("device", dev)),
            version=version,
            elapsed_ms=float(response.get("elapsed_ms", 0.0)),
            stdout=str(response.get("stdout", "")),
            raised=response.get("raised") if not ok else None,
        )

    # --- what is in force ------------------------------------------------------------

    def status(self, backend: str) -> dict[str, Any]:
        """What a (ready) worker of `backend` sees from inside: uid, namespaces, network, limits."""
        w = self.worker(backend)
        w.wait_ready(self.start_timeout)
        return w.call({"op": "status"}, timeout=10)

    def isolation_report(self, backends: list[str] | tuple[str, ...] | None = None) -> dict[str, Any]:
        """Which isolation layers are in force, as the workers of `backends` observe them (for `quiz doctor`)."""
        sandbox = sandbox_for(self.isolation, self.python)
        if backends is None:
            backends = [b for b, w in self._workers.items() if w.state == "ready"]
        observed: dict[str, Any] = {}
        for backend in backends:
            try:
                observed[backend] = self.status(backend)
            except (WorkerCrashed, WorkerTimeout) as exc:
                observed[backend] = {"ok": False, "error": str(exc)}
                continue
            cgroup = self.worker(backend).cgroup
            if cgroup is not None:
                observed[backend]["pids_cgroup"] = {"path": cgroup.path, "max": cgroup.limit}
        return describe_isolation(sandbox, self.limits, observed, device=self.device)

    def close(self) -> None:
        for w in list(self._workers.values()):
            w.close()
        self._workers.clear()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _private_dirs() -> list[str]:
    """The learner's data, settings and caches: card code must never read them."""
    from quiz import paths

    return [str(paths.data_dir()), str(paths.config_dir()), str(paths.cache_dir())]


def _restart(w: WorkerProcess) -> None:
    """Replace a worker after a verdict; if it cannot start now, the next card says why."""
    with contextlib.suppress(WorkerCrashed):
        w.restart()


def describe_isolation(
    sandbox: Sandbox, limits: Limits, observed: dict[str, Any], *, device: str = "auto"
) -> dict[str, Any]:
    """The doctor's isolation section: layers in force (checked from inside a worker) and those not."""
    limits = limits.resolved()
    layers = sandbox.layers()
    missing: list[str] = []
    seen = next((o for o in observed.values() if o.get("ok")), None)
    bwrap = sandbox.mode == "bwrap"
    if sandbox.refused:
        missing.append(f"card code does not run at all: {sandbox.refused}")
    elif not bwrap:
        if sandbox.landlock >= 4:
            missing.append(
                f"network isolation: only TCP is blocked; UDP and unix sockets are not ({sandbox.reason})"
            )
        else:
            missing.append(f"network isolation ({sandbox.reason})")
        if not sandbox.landlock:
            missing.append(
                "filesystem isolation: only file permissions keep card code from files (no Landlock)"
            )
    if seen is not None:
        applied = seen.get("limits", {})
        if bwrap and seen.get("network_interfaces") not in (["lo"], []):
            missing.append(f"network isolation: the worker sees {', '.join(seen['network_interfaces'])}")
        homes = seen.get("host_homes", {})
        exposed = [h for h, v in homes.items() if v.get("readable") or v.get("writable")]
        if bwrap and exposed:
            missing.append(f"home hidden: the worker can reach {', '.join(exposed)}")
        if not bwrap and homes and not exposed:
            layers.append("the learner's home is out of the worker's reach (other user)")
        parts = []
        if applied.get("memory_mb"):
            parts.append(f"memory: {applied['memory_mb']} MB of address space over the warm framework's")
        else:
            missing.append("memory limit (GPU workers: CUDA needs the address space)")
        if applied.get("file_size_mb"):
            parts.append(f"files up to {applied['file_size_mb']} MB")
        if applied.get("open_files"):
            parts.append(f"{applied['open_files']} open files")
        if applied.get("processes"):
            parts.append(f"{applied['processes']} more processes/threads")
        elif seen.get("pids_cgroup"):
            parts.append(f"at most {seen['pids_cgroup']['max']} processes/threads (a pids cgroup)")
        else:
            missing.append("process limit (the worker runs as root, which the kernel does not limit)")
        parts.append("no core dumps")
        layers.append("resource limits: " + ", ".join(parts))
    layers += [
        f"per-card timeout {limits.timeout_s:g} s (a card may ask for up to {limits.timeout_cap_s:g} s); "
        f"a worker that does not stop within {HARD_GRACE_S:g} s more is killed with its whole process tree and restarted",
        "processes a card leaves behind are killed after it",
        "card output captured and capped; the worker never reads the terminal",
    ]
    return {
        "mode": sandbox.mode,
        "full": sandbox.full,
        "refused": sandbox.refused or None,
        "fix": None if sandbox.full else sandbox.fix,
        "landlock": sandbox.landlock,
        "layers": layers,
        "not_in_force": missing,
        "bwrap": {
            "used": bwrap,
            "path": sandbox.bwrap or shutil.which("bwrap"),
            "reason": sandbox.reason or None,
        },
        "own_uid_per_worker": sandbox.drop,
        "limits": limits.to_dict(),
        "device": device,
        "devices": {b: o.get("devices", []) for b, o in observed.items()},
        "workers": observed,
    }
