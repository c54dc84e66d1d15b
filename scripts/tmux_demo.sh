#!/usr/bin/env bash
# Start the real app in tmux on a fresh database (all built-in decks), answer a few cards by
# keystrokes as a learner would, and print each captured screen; then Home, statistics (and the
# year's heatmap), the card browser, custom study, quit, and check the answers are in the database.
#
#   scripts/tmux_demo.sh            # 3 cards, 100x32
#   CARDS=5 COLS=80 ROWS=24 scripts/tmux_demo.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
CARDS=${CARDS:-3}
COLS=${COLS:-100}
ROWS=${ROWS:-32}
command -v tmux >/dev/null || { echo "tmux_demo: tmux is not installed (apt-get install tmux)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/quiz-tmux-XXXXXX)
SESSION=quiz-demo-$$
cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# Card code may write files into the cwd: run from the scratch directory.
tmux new-session -d -s "$SESSION" -x "$COLS" -y "$ROWS" \
    "cd '$WORK' && QUIZ_HOME='$WORK/home' PYTHONPATH='$ROOT' '$PY' -m quiz --device cpu; sleep 30"

screen() { tmux capture-pane -p -t "$SESSION"; }
shot() { printf '\n===== %s\n' "$1"; screen; }
wait_for() {  # wait_for TEXT [SECONDS]
    local deadline=$((SECONDS + ${2:-90}))
    until screen | grep -qF -- "$1"; do
        if ((SECONDS > deadline)); then
            shot "timed out waiting for: $1" >&2
            exit 1
        fi
        sleep 0.2
    done
}
keys() { tmux send-keys -t "$SESSION" "$@"; }

wait_for "Enter answers" 120
for n in $(seq 1 "$CARDS"); do
    shot "card $n"
    page=$(screen)
    # Answer by the kind the card says it is (right or wrong: the verdict shows the truth).
    case "$page" in
        *"predict the shape"*) keys -l "2x3"; keys Enter ;;
        *"predict the dtype"*) keys -l "float32"; keys Enter ;;
        *"yes or no"*) keys -l "y" ;;
        *"is the gradient None"*) keys -l "n" ;;
        *"predict the value"*) keys -l "0"; keys Enter ;;
        *"does the last line raise"*) keys -l "no error"; keys Enter ;;
        *"pick an option"*) keys -l "a" ;;
        *"write the code"*) keys -l "x"; keys Enter ;;
        *) shot "an unknown card" >&2; exit 1 ;;
    esac
    wait_for "rate:" 120
    shot "verdict $n"
    keys Enter  # the suggested rating
    if ((n < CARDS)); then
        sleep 0.5
        wait_for "Enter answers" 60
    fi
done

sleep 0.5
keys Escape
wait_for "Pick deck" 30
sleep 1.5  # the counts and what is warming up
shot "home"
keys -l "t"
wait_for "answers per day" 30
shot "statistics"
keys -l "5"
wait_for " studied" 10
shot "statistics: the year"
keys Escape
wait_for "Pick deck" 10
keys -l "b"
wait_for "cards found" 30
keys -l "is:learning"
sleep 0.5
keys Enter
wait_for "newest first" 10
shot "card browser: what you answered, with its reviews"
keys Escape
wait_for "Pick deck" 10
keys -l "c"
wait_for "Enter starts" 10
shot "custom study"
keys Escape
sleep 0.3
keys C-q
for _ in $(seq 1 50); do
    [[ -f "$WORK/home/data/quiz.db" ]] && ! pgrep -f "QUIZ_HOME=$WORK" >/dev/null && break
    sleep 0.2
done
sleep 1

reviews=$("$PY" - "$WORK/home/data/quiz.db" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("select count(*) from review").fetchone()[0])
PY
)
printf '\n===== %s answers saved in the database (expected %s)\n' "$reviews" "$CARDS"
[[ "$reviews" == "$CARDS" ]]
