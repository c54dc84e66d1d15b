#!/usr/bin/env bash
# The full check of the built-in decks: every card on every installed backend,
# 10 variants plus the hypothesis search (as `quiz deck check decks/`).
# Extra arguments go to the command: --json, --backend torch, --variants 3 ...
# Exit status: 0 when every card passes (see `quiz deck check --help`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
cd "${TMPDIR:-/tmp}"  # card code never runs here, but keep the checkout clean regardless
exec "$PYTHON" -m quiz deck check "$ROOT/decks" "$@"
