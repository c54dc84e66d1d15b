"""Grading figures: a code answer over its variants, and `quiz grade --batch` as a script sees it.

code_grade_ms            per backend, p50 of grading one right `code` answer on a warm runner: the
                         shown variant and 3 more drawn from the seed (their draw included), the
                         learner's 4 runs, a probe before and after them, the 4 reference runs,
                         the comparison (10 round trips)
code_grade_draw_ms       p50 of drawing those 3 further variants alone (hypothesis, in the app)
code_grade_roundtrip_ms  p50 of one plain run of the same card's reference on the same warm worker,
                         measured alongside: a code grade costs about 10 of these (on a loaded
                         machine both grow together)
grade_batch_per_s        200 honest lines (built-in cards of the three backends, mixed, each with
                         its true answer) through `quiz grade --batch FILE --json`, per second of
                         the whole command: start-up, library, cold workers included
grade_batch_steady_per_s the same lines per second from the first verdict printed to the last
                         (the workers warm)
grade_batch_correct      how many of the 200 verdicts said correct (all of them: the answers are true)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

CODE_CARDS = {
    "torch": ("x = torch.arange(${prod(s)}).reshape(${s})", "x.transpose(-1, -2)", "x.mT"),
    "tensorflow": (
        "x = tf.reshape(tf.range(${prod(s)}), ${s})",
        "tf.transpose(x)",
        "tf.transpose(x, perm=[1, 0])",
    ),
    "mxnet": ("x = nd.arange(${prod(s)}).reshape(${s})", "x.T", "nd.transpose(x)"),
}
BATCH_LINES = 200
PREDICTION_KINDS = ("shape", "dtype", "bool", "grad_is_none", "value", "raises", "choice")


def _code_card(backend: str) -> Any:
    from quiz.core.decks import parse_deck

    code, answer, _ = CODE_CARDS[backend]
    text = (
        f'[deck]\nid = "bench"\ntitle = "bench"\n[[card]]\nid = "c"\nsection = "s"\nbackend = "{backend}"\n'
        f'kind = "code"\nprompt = "?"\ncode = "{code}"\nanswer = "{answer}"\nexplain = "."\n'
        "vars.s = { shape = { rank = 2, side = [2, 5] } }\n"
    )
    deck, problems = parse_deck(text, "bench.toml")
    assert deck is not None and not problems, problems
    return deck.cards[0]


def _code_grade(backends: list[str], n: int) -> dict[str, dict[str, float]]:
    from quiz.core.variables import concrete, draw_variant
    from quiz.runner.client import Runner
    from quiz.session.grading import grade, grading_variants, read_answer

    grade_ms: dict[str, float] = {}
    draw_ms: dict[str, float] = {}
    roundtrip_ms: dict[str, float] = {}
    with Runner(device="cpu") as runner:
        runner.prestart(backends)
        for backend in backends:
            card = _code_card(backend)
            right = CODE_CARDS[backend][2]
            for seed in range(10):  # warm: the framework's first ops, hypothesis' first draws
                v = draw_variant(card, seed)
                assert grade(runner, card, v, read_answer(card, v, right)).correct is True
            samples, draws, plain = [], [], []
            for seed in range(1000, 1000 + n):
                variant = draw_variant(card, seed)
                t = time.perf_counter()
                runner.run(concrete(card, variant), variant)
                plain.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                grading_variants(card, variant)
                draws.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                verdict = grade(runner, card, variant, read_answer(card, variant, right))
                samples.append((time.perf_counter() - t) * 1000)
                assert verdict.correct is True and verdict.extra["variants_checked"] == 4, verdict
            grade_ms[backend] = round(statistics.median(samples), 2)
            draw_ms[backend] = round(statistics.median(draws), 2)
            roundtrip_ms[backend] = round(statistics.median(plain), 2)
    return {"code_grade_ms": grade_ms, "code_grade_draw_ms": draw_ms, "code_grade_roundtrip_ms": roundtrip_ms}


def _batch_lines(backends: list[str]) -> list[dict[str, Any]]:
    """Built-in prediction cards, the backends in turn, each with the truth as its answer."""
    from quiz.core.decks import load_library
    from quiz.core.grading import format_truth
    from quiz.core.variables import concrete, draw_variant
    from quiz.runner.client import Runner

    library = load_library([ROOT / "decks"])
    pools = {
        b: [c for c in library.cards() if c.backend.value == b and c.kind.value in PREDICTION_KINDS]
        for b in backends
    }
    lines: list[dict[str, Any]] = []
    with Runner(device="cpu") as runner:
        runner.prestart(backends)
        i = 0
        while len(lines) < BATCH_LINES:
            backend = backends[i % len(backends)]
            card = pools[backend][(i // len(backends)) % len(pools[backend])]
            seed = i
            i += 1
            variant = draw_variant(card, seed)
            result = runner.run(concrete(card, variant), variant)
            if not result.ok:
                continue
            truth = format_truth(concrete(card, variant), result.truth)
            lines.append({"card": card.uid, "seed": seed, "answer": truth})
    return lines


def _grade_batch(backends: list[str], home: str) -> dict[str, Any]:
    lines = _batch_lines(backends)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
        path = f.name
    env = {**os.environ, "QUIZ_HOME": home, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "quiz", "grade", "--batch", path, "--json", "--device", "cpu"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=home,
    )
    assert proc.stdout is not None
    stamps, verdicts = [], []
    for raw in proc.stdout:
        stamps.append(time.perf_counter())
        verdicts.append(json.loads(raw))
    proc.wait()
    total = time.perf_counter() - started
    os.unlink(path)
    assert len(verdicts) == len(lines), (len(verdicts), len(lines))
    return {
        "grade_batch_per_s": round(len(lines) / total, 1),
        "grade_batch_steady_per_s": round((len(lines) - 1) / (stamps[-1] - stamps[0]), 1),
        "grade_batch_correct": sum(1 for v in verdicts if v.get("correct") is True),
        "grade_batch_exit": proc.returncode,
        # Lines not graded (on a loaded machine, a card can run past its time limit): say which.
        "grade_batch_not_graded": [
            f"{v.get('card')}: {v.get('error')}" for v in verdicts if v.get("correct") is None
        ],
    }


def run(args: Any) -> dict[str, Any]:
    os.environ.setdefault("QUIZ_HOME", "/tmp/quiz-bench-grading")
    from quiz.runner.backends import installed_backends

    backends = [b for b in CODE_CARDS if b in installed_backends()]
    n = 10 if args.quick else 60
    out: dict[str, Any] = dict(_code_grade(backends, n))
    with tempfile.TemporaryDirectory(prefix="quiz-bench-batch-") as home:
        out |= _grade_batch(backends, home)
    return out
