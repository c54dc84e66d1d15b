"""Runner figures, per backend: the pipe's cost over running a card in-process, cold starts, respawns, memory.

grade_roundtrip_ms       p50 of Runner.run() for one card on a warm worker (app → pipe → worker → app)
inprocess_ms             p50 of the same card in one process, no runner: the adapter's per-card
                         reset (seeds, Keras state), a fresh namespace, exec of the code, eval of the
                         answer, normalisation of the truth: exactly the work the worker does for it
inprocess_worker_ms      p50 of what the worker does for a card in-process: Worker.run() (inprocess_ms
                         plus output capture, the timeout timer, the scratch cleanup) and the
                         pristine-state check after it (no pipe, no JSON)
pristine_check_ms        p50 of the pristine-state check alone after that card (StateWatch.check:
                         the word gather over every watched namespace, the settings, threads, fds...)
roundtrip_overhead_ms    grade_roundtrip_ms - inprocess_ms: everything the runner adds to running the
                         card (the check, the pipe with its `end` handshake, JSON, validation)
pipe_ms                  p50 of a round trip minus the time the worker itself reports for the card:
                         the pipe, JSON and the app side alone. The rest of the overhead is the
                         card running in a process that sleeps between requests (colder caches and
                         thread pools) rather than in a hot loop
worker_cold_start_s      median time from starting a worker to its "ready" (framework imported),
                         sandbox included; it warms up and sets its limits after that, before the
                         first card (worker_first_card_ms)
framework_import_s       median time from spawning `python -c "import <what the adapter imports>"`
                         to its saying so (interpreter start included, its exit not)
respawn_after_timeout_s  from the verdict of a card that ignored its timeout (worker killed) to the
                         fresh worker being ready
worker_warm_s            median time from starting a worker to its "warm" line: imported, warmed up
                         (what the built-in decks use on first use) and its state snapshot taken
taint_recover_s          from the verdict of a card that leaves state changed (builtins.sum patched:
                         the worker is replaced) to the verdict of the next card
rss_all_workers_mb       resident memory of three warm workers together (every process of each
                         worker's tree: the sandbox's helpers too), after one card each
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

CARDS = {
    "torch": ("a = torch.randn(3, 4)\nb = torch.randn(4, 5)\ny = a @ b", "y.shape"),
    "tensorflow": (
        "a = tf.random.normal((3, 4))\nb = tf.random.normal((4, 5))\ny = tf.matmul(a, b)",
        "y.shape",
    ),
    "mxnet": (
        "a = nd.random.normal(shape=(3, 4))\nb = nd.random.normal(shape=(4, 5))\ny = nd.dot(a, b)",
        "y.shape",
    ),
}
IMPORTS = {
    "torch": "import numpy, torch",
    "tensorflow": "import numpy, keras, tensorflow",
    "mxnet": "import numpy; numpy.bool = bool; import mxnet",
}
STUBBORN = (
    "import time\nwhile True:\n    try:\n        time.sleep(10)\n    except BaseException:\n        pass"
)

# Run in a fresh process per backend (one framework per process, as in a worker).
INPROCESS = textwrap.dedent(
    """
    import gc, json, signal, statistics, sys, time
    from quiz.runner import worker as W
    backend, code, answer, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    adapter = W.load_adapter(backend)
    adapter.warm_up()
    gc.collect()
    gc.freeze()  # as a worker does once warm

    def bare(seed):
        adapter.reset(seed)
        ns = adapter.namespace("cpu")
        ns["__name__"] = "__card__"
        exec(compile(code, "<card>", "exec"), ns)
        return adapter.normalise("shape", eval(compile(answer, "<answer>", "eval"), ns))

    worker = W.Worker(adapter)
    alarm = W._Alarm()
    alarm.worker = worker
    signal.signal(signal.SIGALRM, alarm)
    request = {"op": "run", "card": "bench/card", "seed": 1, "kind": "shape", "code": code,
               "answer": answer, "result": None, "device": "cpu", "timeout": 5.0}
    from quiz.runner.pristine import Containers, StateWatch, modules_in_order, process_policy
    adapter.reset(0)
    gc.collect()
    # Everything but this script's own namespace (the worker's is not watched either: it is quiz.runner.worker).
    modules = [(n, m) for n, m in modules_in_order() if m is not sys.modules["__main__"]]
    watch = StateWatch(process_policy() | adapter.policy(), containers=Containers.of_modules(modules))
    gc.freeze()

    def worker_card(i):
        worker.handle({**request, "seed": i})
        findings = watch.check()
        assert not findings.changed, findings

    checks = []

    def check_only(i):
        worker.handle({**request, "seed": i})
        t = time.perf_counter()
        watch.check()
        checks.append((time.perf_counter() - t) * 1000)

    def p50(fn):
        for i in range(20):
            fn(i)
        samples = []
        for i in range(n):
            t = time.perf_counter()
            fn(i)
            samples.append((time.perf_counter() - t) * 1000)
        return statistics.median(samples)

    out = {"bare": p50(bare), "worker": p50(worker_card)}
    p50(check_only)
    out["check"] = statistics.median(checks[20:])
    out["watched"] = watch.size
    print(json.dumps(out))
    """
)


def _env(home: str) -> dict[str, str]:
    """The environment a worker gets, for the processes that stand in for one."""
    from quiz.runner.isolation import worker_env

    env = worker_env(home=home, tmp=home, python=sys.executable)
    env["PYTHONPATH"] = str(ROOT)
    return env


def _card(backend: str, code: str, answer: str, *, timeout: float | None = None) -> tuple[Any, Any]:
    from quiz.core.decks import parse_deck
    from quiz.core.variables import draw_variant

    extra = f"timeout = {timeout}\n" if timeout else ""
    text = (
        f'[deck]\nid = "bench"\ntitle = "bench"\n[[card]]\nid = "c"\nsection = "s"\nbackend = "{backend}"\n'
        f"kind = \"shape\"\nprompt = \"?\"\ncode = '''\n{code}\n'''\nanswer = '''{answer}'''\nexplain = \".\"\n{extra}"
    )
    deck, problems = parse_deck(text, "bench.toml")
    assert deck is not None and not problems, problems
    card = deck.cards[0]
    return card, draw_variant(card, 1)


def _import_s(backend: str, env: dict[str, str], reps: int) -> float:
    """Spawn to "imported" (a line on stdout), like a worker's spawn to "ready"; the exit is not counted."""
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", f"{IMPORTS[backend]}\nprint('imported', flush=True)"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd="/",
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        times.append(time.perf_counter() - t)
        proc.wait()
        assert line.strip() == b"imported", line
    return round(statistics.median(times), 3)


def _cold_start_s(backend: str, reps: int) -> tuple[float, float]:
    from quiz.runner.client import Runner

    starts, first_cards = [], []
    card, variant = _card(backend, *CARDS[backend])
    for _ in range(reps):
        with Runner(device="cpu") as runner:
            w = runner.worker(backend)
            t = time.perf_counter()
            w.start()
            w.wait_ready()
            starts.append(time.perf_counter() - t)
            t = time.perf_counter()
            runner.run(card, variant)
            first_cards.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(starts), 3), round(statistics.median(first_cards), 1)


def _warm_s(backend: str, reps: int) -> float:
    from quiz.runner.client import Runner

    times = []
    for _ in range(reps):
        with Runner(device="cpu") as runner:
            w = runner.worker(backend)
            t = time.perf_counter()
            w.start()
            w.wait_warm()
            times.append(time.perf_counter() - t)
    return round(statistics.median(times), 3)


TAINT = "import builtins\nbuiltins.sum = lambda *a, **k: 42"


def _taint_recover_s(backend: str, reps: int) -> float:
    from quiz.runner.client import Runner

    poison = _card(backend, TAINT, "[1]")
    honest = _card(backend, *CARDS[backend])
    times = []
    with Runner(device="cpu") as runner:
        runner.run(*honest)
        for _ in range(reps):
            result = runner.run(*poison)
            t = time.perf_counter()
            assert result.state_changed, result
            after = runner.run(*honest)
            times.append(time.perf_counter() - t)
            assert after.ok and not after.state_changed, after
    return round(statistics.median(times), 3)


def _respawn_s(backend: str) -> float:
    from quiz.runner.client import Runner

    card, variant = _card(backend, STUBBORN, "1", timeout=1)
    with Runner(device="cpu") as runner:
        runner.info(backend)
        result = runner.run(card, variant)
        t = time.perf_counter()
        assert result.error_kind == "timeout", result
        runner.info(backend)
        return round(time.perf_counter() - t, 3)


def run(args: Any) -> dict[str, Any]:
    os.environ.setdefault("QUIZ_HOME", "/tmp/quiz-bench-runner")
    from quiz.runner import procs
    from quiz.runner.backends import installed_backends
    from quiz.runner.client import Runner
    from quiz.runner.isolation import sandbox_for

    backends = [b for b in CARDS if b in installed_backends()]
    n = 50 if args.quick else 400
    reps = 1 if args.quick else 3
    scratch = tempfile.TemporaryDirectory(prefix="quiz-bench-runner-")
    env = _env(scratch.name)
    out: dict[str, Any] = {
        "grade_roundtrip_ms": {},
        "inprocess_ms": {},
        "inprocess_worker_ms": {},
        "roundtrip_overhead_ms": {},
        "pipe_ms": {},
        "worker_cold_start_s": {},
        "worker_first_card_ms": {},
        "framework_import_s": {},
        "respawn_after_timeout_s": {},
        "pristine_check_ms": {},
        "worker_warm_s": {},
        "taint_recover_s": {},
        "watched": {},
    }
    for backend in backends:
        print(f"[bench] runner: {backend}", file=sys.stderr, flush=True)
        code, answer = CARDS[backend]
        done = subprocess.run(
            [sys.executable, "-c", INPROCESS, backend, code, answer, str(n)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            cwd=scratch.name,
        )
        inproc = json.loads(done.stdout.strip().splitlines()[-1])
        out["inprocess_ms"][backend] = round(inproc["bare"], 3)
        out["inprocess_worker_ms"][backend] = round(inproc["worker"], 3)
        out["pristine_check_ms"][backend] = round(inproc["check"], 3)
        out["watched"][backend] = inproc["watched"]
        out["framework_import_s"][backend] = _import_s(backend, env, reps)
        cold, first = _cold_start_s(backend, reps)
        out["worker_cold_start_s"][backend] = cold
        out["worker_first_card_ms"][backend] = first
        out["respawn_after_timeout_s"][backend] = _respawn_s(backend)
        out["worker_warm_s"][backend] = _warm_s(backend, reps)
        out["taint_recover_s"][backend] = _taint_recover_s(backend, reps)

    card_variants = {b: _card(b, *CARDS[b]) for b in backends}
    with Runner(device="cpu") as runner:
        runner.prestart(backends)
        for backend in backends:
            card, variant = card_variants[backend]
            for _ in range(50):
                runner.run(card, variant)
        for backend in backends:  # interleaved rounds, so load from elsewhere hits every backend alike
            samples, pipe = [], []
            card, variant = card_variants[backend]
            for _ in range(n):
                t = time.perf_counter()
                result = runner.run(card, variant)
                samples.append((time.perf_counter() - t) * 1000)
                pipe.append(samples[-1] - result.elapsed_ms)
            assert result.ok, result.error
            out["grade_roundtrip_ms"][backend] = round(statistics.median(samples), 3)
            out["pipe_ms"][backend] = round(statistics.median(pipe), 3)
            out["roundtrip_overhead_ms"][backend] = round(
                out["grade_roundtrip_ms"][backend] - out["inprocess_ms"][backend], 3
            )
        rss_kb = 0
        for backend in backends:
            rss_kb += sum(procs.rss_kb(pid) for pid in runner.worker(backend).host_pids())
        out["rss_all_workers_mb"] = round(rss_kb / 1024, 1)
        out["runner_isolation"] = sandbox_for().mode
    scratch.cleanup()
    return out
