#!/usr/bin/env python3
"""Benchmarks: print the figures the issues name as targets (tests never assert times).

    .venv/bin/python scripts/bench.py --json          # everything, one JSON object
    .venv/bin/python scripts/bench.py --only store    # one group, human-readable

Each group is a module in scripts/benchmarks/ with `run(args) -> dict`;
its keys are merged into the one object. Key names are part of the interface:
scripts and the issue checks read them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

# Order matters only for reading the output.
GROUPS = ["tui", "store", "variants", "answers"]
OPTIONAL_GROUPS = ["runner", "grading", "decks", "keypress", "pg"]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object (progress goes to stderr)")
    parser.add_argument("--only", help="comma-separated groups: " + ", ".join(GROUPS + OPTIONAL_GROUPS))
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run, not figures)")
    args = parser.parse_args()
    # Time the steady state a learner has: quiz's bytecode cached (a shell may forbid writing it).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    groups = args.only.split(",") if args.only else GROUPS + OPTIONAL_GROUPS
    result: dict[str, object] = {}
    meta: dict[str, object] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "groups": {}}
    for name in groups:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as exc:
            if name in OPTIONAL_GROUPS and exc.name == f"benchmarks.{name}":
                continue
            raise
        print(f"[bench] {name}…", file=sys.stderr, flush=True)
        started = time.perf_counter()
        figures = module.run(args)
        meta["groups"][name] = round(time.perf_counter() - started, 1)  # type: ignore[index]
        result.update(figures)
        if not args.json:
            for key, value in figures.items():
                print(f"{key:32s} {value}")
    result["_meta"] = meta
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
