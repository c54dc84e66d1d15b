"""`deck_check_s`: `quiz deck check` over every built-in deck, on every installed backend, 10 variants.

The check runs as `quiz deck check decks/` does (default search included), in
a fresh QUIZ_HOME so no earlier records are compared. The other keys break
the time down: the seeded runs, the hypothesis search, and the seconds spent
in card code per backend (summed over the workers, so they can exceed the wall time).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any


def run(args: Any) -> dict[str, Any]:
    home = tempfile.mkdtemp(prefix="quiz-bench-decks-")
    os.environ["QUIZ_HOME"] = home
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = os.path.join(home, "cache", "hypothesis")
    from quiz import paths
    from quiz.checking.check import CheckOptions, run_check
    from quiz.runner.backends import installed_backends

    quick = bool(getattr(args, "quick", False))
    options = CheckOptions(variants=2 if quick else 10, search=2 if quick else 10)
    report = run_check([str(paths.builtin_decks_dir())], options)
    timings = report.backend_timings()
    return {
        "deck_check_s": round(report.elapsed_s, 1),
        "deck_check_runs_s": report.timings.get("runs_s"),
        "deck_check_search_s": report.timings.get("search_s"),
        "deck_check_cards": len(report.results),
        "deck_check_failed": len(report.failed),
        "deck_check_backends": installed_backends(),
        "deck_check_variants": options.variants,
        "deck_check_search": options.search,
        "deck_check_runs": sum(r.runs for r in report.results),
        **{f"deck_check_{k.replace('.', '_')}": v for k, v in timings.items()},
    }
