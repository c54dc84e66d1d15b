"""`variant_draw_ms`: p50 time to draw one variant (hypothesis) and render it, over every built-in card;
`expr_refusal_ms`: the slowest refusal of a huge or failing `${...}` expression (tests/unit/test_expr.py)."""

from __future__ import annotations

import os
import time
from typing import Any

from benchmarks.util import median

# Expressions a deck may hold that must be refused before they are computed (tests/unit/test_expr.py).
HOSTILE_EXPRESSIONS = (
    "9 ** 9 ** 9",
    "(10 ** 60) ** 60",
    "prod(range(1, 5000))",
    "'ab' * 100000",
    "s * 100000",
    "range(10 ** 6)",
    "str(10 ** 5000)",
    "a / 0",
    "s[10]",
    "undefined + 1",
    "min()",
)


def run(args: Any) -> dict[str, Any]:
    os.environ.setdefault("QUIZ_HOME", "/tmp/quiz-bench-variants")
    from quiz import paths
    from quiz.core.decks import load_library
    from quiz.core.variables import draw_variant

    paths.use_hypothesis_cache()
    lib = load_library([paths.builtin_decks_dir()])
    cards = lib.cards()
    seeds = range(3 if args.quick else 20)
    for card in cards:  # warm: first draws import hypothesis and build strategies
        draw_variant(card, 10_000)
    samples = []
    for seed in seeds:
        for card in cards:
            t = time.perf_counter()
            draw_variant(card, seed)
            samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {
        "variant_draw_ms": median(samples),
        "variant_draw_p95_ms": round(samples[int(len(samples) * 0.95)], 3),
        "variant_draw_cards": len(cards),
        "expr_refusal_ms": expr_refusal_ms(3 if args.quick else 20),
    }


def expr_refusal_ms(repeats: int) -> float:
    """The slowest expression's p50 time to its ExprError."""
    from quiz.core.expr import ExprError, evaluate

    env = {"a": 3, "b": 4, "s": (2, 3, 4), "name": "float32", "flag": True}
    worst = 0.0
    for source in HOSTILE_EXPRESSIONS:
        samples = []
        for _ in range(repeats):
            t = time.perf_counter()
            try:
                evaluate(source, env)
            except ExprError:
                pass
            else:
                raise AssertionError(f"{source!r} was not refused")
            samples.append((time.perf_counter() - t) * 1000)
        worst = max(worst, median(samples))
    return worst
