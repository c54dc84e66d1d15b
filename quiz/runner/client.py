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

Every card runs on a worker in its pristine state: the worker checks its
state after each card (`pristine.py`) and says `recycle` when a card left
something it could not put back; the runner then replaces it before the
next card. Replies are checked field by field (`replies.py`), must echo
the request's id and nonce, and must be the last thing the worker says in
its turn (the `end` handshake, see `protocol.py`): a reply the card forged
or broke is the verdict "card misbehaved: …", and a fresh worker.

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
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from quiz.core.cards import Card, Kind
from quiz.core.decks import unmet_requirement
from quiz.core.grading import RunResult
from quiz.core.variables import Variant
from quiz.runner import procs, protocol
from quiz.runner.backends import backend_info, installed_versions
from quiz.runner.cgroups import PidsCgroup, pids_base
from quiz.runner.config import DEFAULT_IDLE_S, START_TIMEOUT_S, WorkerConfig
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
from quiz.runner.replies import Misbehaved, check_ready, check_run_reply, check_warm

if TYPE_CHECKING:
    from quiz.config import Settings

__all__ = [
    "DEFAULT_IDLE_S",
    "Runner",
    "WorkerConfig",
    "WorkerCrashed",
    "WorkerMisbehaved",
    "WorkerProcess",
    "WorkerTimeout",
]

LOG_ROTATE_BYTES = 4 * 1024 * 1024
CONFIG_ENV = "QUIZ_WORKER_CONFIG"


class WorkerTimeout(RuntimeError):
    """The worker did not answer in time."""


class WorkerCrashed(RuntimeError):
    """The worker process ended (or broke the protocol)."""

    def __init__(self, message: str, returncode: int | None = None) -> None:
        super().__init__(message)
        self.returncode = returncode


class WorkerMisbehaved(RuntimeError):
    """The worker's reply was forged or malformed (card code can write to the protocol's pipe)."""


# A worker that exited by itself between requests (idle, or after a card that left state
# changed) read nothing of the next one: start it again and ask again.
CLEAN_EXITS = (protocol.IDLE_EXIT, protocol.RECYCLE_EXIT)


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

    def __init__(self, backend: str, config: WorkerConfig | None = None) -> None:
        self.backend = backend
        self.config = config or WorkerConfig()
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] | None = None
        self.sandbox: Sandbox | None = None
        self.uid: int | None = None
        self.cgroup: PidsCgroup | None = None
        self.scratch: str | None = None
        self.started_at = 0.0
        self.ready_at: float | None = None
        self.warm: dict[str, Any] | None = None  # the worker's "warm" line: it may run cards now
        self.restarts = 0
        self.late_replies = 0  # turns found out afterwards to have had a forged reply
        self._buf = b""
        self._next_id = 0
        self.lock = threading.RLock()

    @property
    def limits(self) -> Limits:
        return self.config.limits

    def turn(self) -> tuple[object, ...]:
        """Where this worker is: its process and how many requests it has been sent. Two equal marks
        mean nothing was asked of this very process between them (a restart changes the process)."""
        return (self, self.proc, self._next_id)

    # --- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        """Start the worker if it is not running (returns at once; the framework imports in the background)."""
        with self.lock:
            if self.proc is not None and self.proc.poll() is None:
                return
            if self.proc is not None:
                self.kill()  # it ended (idle, crashed): collect it, its scratch and its cgroup first
            self._reset()
            config = self.config
            sandbox = self.sandbox = sandbox_for(config.isolation, config.python)
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
                    sandbox, scratch=self.scratch, python=config.python, uid=uid, gpu=not config.cpu_only
                )
                exposed = exposed_private_dirs(plan, _private_dirs())
                if exposed:
                    self._cleanup()
                    raise WorkerCrashed(
                        f"card code will not run here: it could read {', '.join(exposed)} "
                        f"(inside what it must read); move QUIZ_HOME elsewhere, or {sandbox.fix}"
                    )
            env = worker_env(home=home, tmp=tmp, python=config.python, threads=config.threads)
            if config.cpu_only:
                # The GPU hidden: the worker is a CPU worker, with the memory limit CUDA would not allow.
                env["CUDA_VISIBLE_DEVICES"] = ""
            env[CONFIG_ENV] = json.dumps(
                {
                    "limits": config.limits.to_dict(),
                    "idle_s": config.idle_s,
                    "threads": config.threads,
                    "workdir": workdir,
                    "sandboxed": sandboxed,
                    "parent_pid": os.getpid(),
                    "host_homes": host_homes(config.python),
                    "package_root": PACKAGE_ROOT,
                    "confine": plan.to_dict() if plan is not None else None,
                }
            )
            argv = [config.python, "-m", "quiz.runner.worker", self.backend]
            if sandboxed:
                argv = sandbox.command(
                    argv,
                    python=config.python,
                    env=env,
                    scratch_mb=config.limits.scratch_mb,
                    uid=uid,
                    gpu=not config.cpu_only,
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
        log_dir = self.config.log_dir
        if log_dir is None:
            return subprocess.DEVNULL
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / f"worker-{self.backend}.log"
        with contextlib.suppress(OSError):
            if path.stat().st_size > LOG_ROTATE_BYTES:
                path.replace(path.with_suffix(".log.1"))
        return open(path, "ab")

    def _reset(self) -> None:
        self._cleanup()
        self.ready_at = None
        self.info = None
        self.warm = None
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
            self.warm = None
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
        """Ask the worker to exit (EOF on its pipe), then make sure it did.

        A worker still importing its framework is killed first, without the lock: a thread waiting
        for its `ready` or `warm` line holds the lock until that line comes (seconds, for
        TensorFlow), and quitting the app must not wait for it. That thread reads EOF and lets go.
        """
        proc = self.proc
        if proc is not None and self.warm is None and proc.poll() is None:
            procs.kill_tree(proc.pid)
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
                raise WorkerMisbehaved("the reply was larger than 8 MB")
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def _pending(self) -> bool:
        """Whether the worker said anything since its last turn ended (it must not have)."""
        assert self.proc is not None and self.proc.stdout is not None
        if self._buf:
            return True
        ready, _, _ = select.select([self.proc.stdout.fileno()], [], [], 0)
        if not ready:
            return False
        chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
        if not chunk:
            return False  # it exited (idle, or recycled): the next read says how
        self._buf += chunk
        return True

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
            except (ValueError, RecursionError, WorkerCrashed, WorkerMisbehaved) as exc:
                self.kill()
                raise WorkerCrashed(f"{self.backend} worker failed to start: {exc}") from None
            if message.get("op") == "ready" and message.get("ok") is False:
                self.kill()
                error = message.get("error")
                raise WorkerCrashed(
                    f"{self.backend} failed to load: {error[:300] if isinstance(error, str) else '?'}"
                )
            try:
                check_ready(message, self.backend)
            except Misbehaved as exc:
                self.kill()
                raise WorkerCrashed(f"{self.backend} worker failed to start: {exc}") from None
            self.info = message
            self.ready_at = time.perf_counter()
            return message

    def wait_warm(self, timeout: float = START_TIMEOUT_S) -> dict[str, Any]:
        """Wait until the worker has warmed up and taken its state snapshot (after `ready`)."""
        with self.lock:
            self.wait_ready(timeout)
            if self.warm is not None:
                return self.warm
            try:
                self.warm = check_warm(protocol.decode(self._readline(time.monotonic() + timeout)))
            except WorkerTimeout:
                self.kill()
                raise
            except (ValueError, RecursionError, WorkerCrashed, WorkerMisbehaved, Misbehaved) as exc:
                self.kill()
                raise WorkerCrashed(f"{self.backend} worker failed to warm up: {exc}") from None
            return self.warm

    def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait for its reply; kill the worker on timeout or breakage.

        The reply echoes the request's id and a fresh nonce, and is the last
        line of the worker's turn (see `_call_once`). A worker that exited by
        itself between requests (idle, or recycled) is started again and asked
        again, once: it exits only when it has read nothing, so nothing ran.
        Raises WorkerTimeout, WorkerCrashed, WorkerMisbehaved.
        """
        with self.lock:
            for attempt in (1, 2):
                try:
                    return self._call_once(request, timeout)
                except WorkerCrashed as exc:
                    if exc.returncode not in CLEAN_EXITS or attempt == 2:
                        raise
            raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(protocol.encode(message))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            code = self.proc.wait(timeout=5)
            self.kill()
            raise WorkerCrashed(describe_exit(code, self.sandboxed), code) from None

    def _expect(self, deadline: float, ident: int, nonce: str) -> dict[str, Any]:
        """The next line, which must be an object echoing `ident` and `nonce`."""
        try:
            message = protocol.decode(self._readline(deadline))
        except (ValueError, RecursionError) as exc:
            raise WorkerMisbehaved(f"the reply was not a JSON object ({str(exc)[:80]})") from None
        if message.get("id") != ident or message.get("nonce") != nonce:
            raise WorkerMisbehaved("a line that is not the reply to the request came first (forged?)")
        return message

    def _call_once(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.wait_warm()
        if self._pending():
            # The last turn's reply was not the worker's last word: a forgery found out late. That
            # verdict is gone; this card at least runs on a fresh worker.
            self.late_replies += 1
            self.kill()
            self.wait_warm()
        self._next_id += 1
        ident, nonce = self._next_id, secrets.token_hex(16)
        deadline = time.monotonic() + timeout
        try:
            self._send({**request, "id": ident, "nonce": nonce})
            reply = self._expect(deadline, ident, nonce)
            if self._buf:
                raise WorkerMisbehaved("more came after its reply (a forged line?)")
            # The turn is over when the worker echoes `end`: its real reply cannot come after that,
            # so a reply the card forged before the real one is found out here.
            self._next_id += 1
            end_id, end_nonce = self._next_id, secrets.token_hex(16)
            self._send({"op": "end", "id": end_id, "nonce": end_nonce})
            end = self._expect(time.monotonic() + HARD_GRACE_S + 5, end_id, end_nonce)
            if end.get("op") != "end" or self._buf:
                raise WorkerMisbehaved("more came after its reply (a forged line?)")
            return reply
        except (WorkerTimeout, WorkerCrashed, WorkerMisbehaved):
            self.kill()
            raise


class Runner:
    """Runs card variants on warm workers, one per backend.

    `config`: how workers are started (`WorkerConfig`: interpreter, log,
    isolation, limits, idle exit, threads, unisolated added decks); any of its
    fields may also be given by name (`Runner(device="cpu", isolation="rlimits")`).
    `device`: "auto", "gpu" or "cpu"; a "cpu" runner's workers do not see the
    GPU at all (and so get the memory limit, which CUDA would not allow).
    """

    def __init__(
        self,
        config: WorkerConfig | None = None,
        *,
        device: str = "auto",
        start_timeout: float = START_TIMEOUT_S,
        **overrides: Any,
    ) -> None:
        self.device = device
        config = (config or WorkerConfig()).but(**overrides)
        if config.allow_unisolated is None:
            unisolated = os.environ.get("QUIZ_ALLOW_UNISOLATED", "").lower() in ("1", "true", "yes")
            config = config.but(allow_unisolated=unisolated)
        self.config = config.but(cpu_only=device == "cpu")
        self.start_timeout = start_timeout
        self._workers: dict[str, WorkerProcess] = {}
        self._lock = threading.Lock()

    @property
    def limits(self) -> Limits:
        return self.config.limits

    @property
    def isolation(self) -> str:
        return self.config.isolation

    @property
    def python(self) -> str:
        return self.config.python

    @property
    def allow_unisolated(self) -> bool:
        return bool(self.config.allow_unisolated)

    @classmethod
    def for_settings(cls, settings: Settings, **kwargs: Any) -> Runner:
        """A runner with the learner's settings: `device`, `worker_idle_s`, `allow_unisolated` (config.toml).
        Other keywords as for `Runner()` (`log_dir=...`)."""
        kwargs.setdefault("device", settings.device)
        kwargs.setdefault("idle_s", float(settings.worker_idle_s))
        kwargs.setdefault("allow_unisolated", settings.allow_unisolated)
        return cls(**kwargs)

    def worker(self, backend: str) -> WorkerProcess:
        with self._lock:
            w = self._workers.get(backend)
            if w is None:
                w = self._workers[backend] = WorkerProcess(backend, self.config)
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

    def started_workers(self) -> list[WorkerProcess]:
        """The workers this runner has made so far (running or not), one per backend."""
        with self._lock:
            return list(self._workers.values())

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
        """Run the variant's code on a worker in its pristine state, and return what it gave.

        `given` (a `code` card's answer, the learner's line) is run apart, as a
        second run of the card's code with the learner's line for its answer,
        and compared in the parent (`judge`): the learner's code never runs
        where the reference answer or its truth can be read.
        """
        result = self._run(
            card, variant, variant.answer if variant.answer is not None else card.answer, device
        )
        if card.kind != Kind.CODE or given is None or not result.ok:
            return result
        theirs = self._run(replace(card, kind=Kind.VALUE, choices=()), variant, given, device, learner=True)
        if theirs.ok:
            return replace(result, given_value=theirs.truth)
        return replace(result, given_error=theirs.error or "your code could not be run")

    def _run(
        self, card: Card, variant: Variant, answer: str | None, device: str | None, *, learner: bool = False
    ) -> RunResult:
        backend = card.backend.value
        dev = device or self.device
        reason = self.why_unavailable(card, dev)
        if reason:
            return RunResult(ok=False, error=reason, error_kind="unavailable", backend=backend, device=dev)
        w = self.worker(backend)
        try:
            w.wait_warm(self.start_timeout)
            info = w.info or {}
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
        request = {
            "op": "run",
            "card": card.uid,
            "seed": variant.seed,
            "kind": card.kind.value,
            "code": variant.code,
            "answer": answer,
            "result": variant.result if variant.result is not None else card.result,
            "device": dev,
            "timeout": timeout,
        }
        who = "your code" if learner else "card"
        try:
            response = check_run_reply(w.call(request, timeout=timeout + HARD_GRACE_S), card.kind.value)
        except WorkerTimeout:
            _restart(w)  # a fresh worker warms up while the learner reads the verdict
            return RunResult(
                ok=False,
                error=f"timed out after {timeout:g} s (the worker was stopped and restarted)",
                error_kind="timeout",
                backend=backend,
                device=dev,
                version=version,
                elapsed_ms=timeout * 1000,
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
        except (WorkerMisbehaved, Misbehaved) as exc:
            _restart(w)  # whatever wrote that may still be running in it
            return RunResult(
                ok=False,
                error=f"{who} misbehaved: {exc}",
                error_kind="misbehaved",
                backend=backend,
                device=dev,
                version=version,
            )
        if response.get("recycle"):
            _restart(w)  # the card left state the worker could not put back: no card runs after it there
        truth = response.get("truth")
        ok = bool(response["ok"])
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
            error=error,
            error_kind=error_kind,
            backend=backend,
            device=str(response.get("device") or dev),
            version=version,
            elapsed_ms=float(response.get("elapsed_ms", 0.0)),
            stdout=str(response.get("stdout") or ""),
            state_changed=tuple(response.get("state_changed") or ()),
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
        sandbox = sandbox_for(self.config.isolation, self.config.python)
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
