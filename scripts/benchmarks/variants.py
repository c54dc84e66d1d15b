"""`variant_draw_ms`: p50 time to draw one variant (hypothesis) and render it, over every built-in card."""

from __future__ import annotations

import os
import time
from typing import Any

from benchmarks.util import median


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
    }
