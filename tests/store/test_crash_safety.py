"""kill -9 right after a rating: the review is in the database and the next start opens fine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import func, select

from quiz.store.db import open_store
from quiz.store.models import Review

CHILD = textwrap.dedent(
    """
    import os, sys
    from datetime import UTC, datetime
    from quiz.core.scheduling import make_scheduler, review
    from quiz.store import repo
    from quiz.store.db import open_store

    store = open_store(sys.argv[1])
    now = datetime.now(UTC)
    with store.session() as s:
        repo.sync_cards(s, "default", [("d/a", "d")])
        before = repo.memory_of(s, "default", "d/a")
        after = review(before, 3, now, make_scheduler())
        repo.record_review(s, "default", repo.ReviewInput(
            card_uid="d/a", deck_id="d", seed=1, variables={}, answer_given="x", expected="x", correct=True,
            error=None, rating=3, backend="torch", device="cpu", framework_version="2", response_ms=1,
            run_ms=1.0, shown_at=now, reviewed_at=now), before, after)
    # Rated and committed; a second transaction is left open, then the process dies hard.
    s2 = store.session()
    s2.execute(repo.select(repo.CardState)).all()
    print("committed", flush=True)
    sys.stdin.read()
    """
)


def test_sigkill_after_a_rating_keeps_the_review(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "committed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    store = open_store(url)  # the next start opens fine
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Review)) == 1
    store.dispose()
