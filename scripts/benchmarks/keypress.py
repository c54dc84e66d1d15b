"""`keypress_to_verdict_ms`: p50 time from the key that submits an answer (Enter, or the one key of
a yes/no or option card) to the verdict painted on screen, in the real app (headless), with all
built-in decks loaded and a warm torch worker. The card code really runs each time.

The time is read inside the app (once the frame that first draws the verdict's line is out:
quiz.tui.widgets.verdict_view.VerdictLine), so the benchmark's own polling does not count. The first
answer, which starts the worker, is left out.

The card's truth runs while the learner reads (quiz.session.grading.pre_run): the bench reads each
card for READ_S before typing, as no learner answers a card quicker than that, and says for how many
samples the pre-run was done at the key (`keypress_prerun_ready_n`; the others waited for it).
`keypress_to_verdict_no_read_ms` (and its p90) is the same with no reading time, the key pressed as
the card appears: the worst case, where the answer waits for the card's run.

The answers above are the fixed ones in ANSWERS: a code card's `x` is always wrong, and a wrong code
answer shows its verdict after the first variant. `keypress_to_verdict_code_correct_ms` answers
code cards with their reference instead: a right answer's verdict comes once every variant has run.

Besides the figure, its p50 by kind of card: a prediction (one run of the card's code) and a code
answer (the learner's code and the reference on several variants, shrunk when it fails), and the
machine's load while it ran (the figures move with it on a shared machine).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ANSWERS = {
    "shape": "1x1",
    "dtype": "float32",
    "bool": "y",
    "grad_is_none": "n",
    "value": "0",
    "raises": "no error",
    "choice": "a",
    "code": "x",
}
ONE_KEY = ("bool", "grad_is_none", "choice")
READ_S = 1.0  # the least time a learner spends on a card before the key that answers it


CODE_KINDS = ("code", "translate")


async def _measure(
    settings: Any, n: int, read_s: float = READ_S, *, right_code: bool = False
) -> tuple[list[float], list[float], list[str], int]:
    from quiz.tui.app import QuizApp

    app = QuizApp(settings, use_prepared_start=False)
    samples: list[float] = []
    runs: list[float] = []
    kinds: list[str] = []
    ready = 0

    async def until(condition: Any, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the app did not get there")
            await pilot.pause(0.01)

    async with app.run_test(size=(100, 32)) as pilot:
        screen = app.study_screen
        for i in range(n + 1):
            await until(lambda: screen.phase == "question" and screen.card is not None)
            kind = screen.card.kind.value  # type: ignore[union-attr]
            text = ANSWERS[kind]
            if right_code and kind != "code":  # only code cards count here: the others are buried
                old = screen.card
                await pilot.press("ctrl+b")
                await until(lambda old=old: screen.phase == "question" and screen.card is not old)
                continue
            await pilot.pause(read_s)
            if kind in ONE_KEY:
                keys, submit = [], text
            else:
                keys, submit = list(text), "enter"
            if right_code and kind == "code":
                # The reference, put in the editor as a paste would (it may span lines), then Enter.
                from quiz.core.variables import concrete

                editor: Any = screen.box.widget
                editor.load_text(concrete(screen.card, screen.variant).answer or "")  # type: ignore[arg-type]
                editor.move_cursor(editor.document.end)
                keys = []
            if keys:
                await pilot.press(*keys)
            await pilot.pause()
            screen.verdict_painted_at = None
            was_ready = screen.truth_ready
            started = time.perf_counter()
            await pilot.press(submit)
            await until(lambda: screen.verdict_painted_at is not None or screen.phase == "question")
            if screen.verdict_painted_at is None:  # malformed for this card (asked again): skip it
                await pilot.press("ctrl+b")
                continue
            # With references for answers, only a verdict that says right is a right answer's time.
            right = screen.answered.verdict.correct is True  # type: ignore[union-attr]
            if i > 0 and (right or not right_code):
                samples.append((screen.verdict_painted_at - started) * 1000)
                runs.append(screen.answered.verdict.elapsed_ms)  # type: ignore[union-attr]
                kinds.append(kind)
                ready += was_ready
            await pilot.press("3")
    return samples, runs, kinds, ready


def _p50(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _p90(values: list[float]) -> float | None:
    return round(sorted(values)[int(len(values) * 0.9)], 2) if values else None


def run(args: Any) -> dict[str, Any]:
    n = 10 if args.quick else 40
    home = tempfile.mkdtemp(prefix="quiz-bench-keypress-")
    old = os.environ.get("QUIZ_HOME")
    os.environ["QUIZ_HOME"] = home
    try:
        from quiz import paths
        from quiz.config import load_settings

        paths.use_hypothesis_cache()
        settings = replace(
            load_settings(db_url=f"sqlite:///{Path(home) / 'bench.db'}", device="cpu"),
            backends=("torch",),
            new_per_day=1000,
        )
        samples, runs, kinds, ready = asyncio.run(_measure(settings, n))
        # The same with no reading time at all (the key pressed as the card appears): the pre-run
        # has not ended, so this is the verdict without it, the worst case.
        # A fresh database, so it answers the first of the same cards.
        fresh = replace(settings, db_url=f"sqlite:///{Path(home) / 'at-once.db'}")
        at_once, _, once_kinds, _ = asyncio.run(_measure(fresh, n // 2, read_s=0.0))
        # Right code answers, on another fresh database (the same first code cards).
        right = replace(settings, db_url=f"sqlite:///{Path(home) / 'right.db'}")
        right_code, _, _, _ = asyncio.run(_measure(right, n, right_code=True))
        load = os.getloadavg()[0]
    finally:
        if old is None:
            os.environ.pop("QUIZ_HOME", None)
        else:
            os.environ["QUIZ_HOME"] = old
        shutil.rmtree(home, ignore_errors=True)
    code = [ms for ms, kind in zip(samples, kinds, strict=True) if kind in CODE_KINDS]
    prediction = [ms for ms, kind in zip(samples, kinds, strict=True) if kind not in CODE_KINDS]
    return {
        "keypress_to_verdict_ms": _p50(samples),
        "keypress_to_verdict_p90_ms": _p90(samples),
        "keypress_to_verdict_n": len(samples),
        "keypress_prerun_ready_n": ready,
        "keypress_worker_run_ms": round(statistics.median(runs), 2),
        "keypress_to_verdict_prediction_ms": _p50(prediction),
        "keypress_to_verdict_prediction_n": len(prediction),
        "keypress_to_verdict_code_ms": _p50(code),
        "keypress_to_verdict_code_n": len(code),
        "keypress_to_verdict_no_read_ms": _p50(at_once),
        "keypress_to_verdict_no_read_p90_ms": _p90(at_once),
        "keypress_to_verdict_no_read_n": len(at_once),
        "keypress_to_verdict_no_read_code_n": sum(kind in CODE_KINDS for kind in once_kinds),
        "keypress_to_verdict_code_correct_ms": _p50(right_code),
        "keypress_to_verdict_code_correct_p90_ms": _p90(right_code),
        "keypress_to_verdict_code_correct_n": len(right_code),
        "keypress_loadavg_1m": round(load, 2),
    }
