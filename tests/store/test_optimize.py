"""`quiz optimize` on a real history (made through quiz's scheduler and store by a simulated learner whose
memory is weaker than fsrs's defaults): refusal below the history fsrs needs, the count of usable
reviews, a fit that suits the learner better, applied to the settings and used by the scheduler."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from quiz.cli import main
from quiz.core.stats import ReviewFact
from quiz.session.optimize import NEEDED_REVIEWS, NotEnoughHistory, optimize, sequences, usable_reviews
from quiz.store.db import open_store
from tests.history import simulate_history

START = datetime(2026, 1, 1, tzinfo=UTC)


def fact(uid: str, day: float, rating: int = 3, before: int | None = 2) -> ReviewFact:
    return ReviewFact(uid, START + timedelta(days=day), rating > 1, rating, "torch", 3000, before)


def test_usable_reviews_follow_fsrs_and_a_reset_starts_a_new_sequence() -> None:
    history = [
        fact("d/a", 0, before=0),
        fact("d/a", 0.01, before=1),  # same day: not usable
        fact("d/a", 1.5),  # a day later: usable
        fact("d/a", 2.0),  # 12 hours later: not a whole day
        fact("d/a", 9),  # usable
        fact("d/a", 30, 3, before=0),  # after a reset: a new sequence, its first review
        fact("d/a", 32),  # usable
        fact("d/b", 5, before=0),
        fact("d/b", 4, before=0),  # out of order in the table: sorted by time
    ]
    seqs = sequences(history)
    assert [len(s) for s in seqs] == [5, 2, 1, 1]
    assert usable_reviews(seqs) == 3
    many = [fact("d/c", i * 2) for i in range(100)]
    assert usable_reviews(sequences(many)) == 63  # fsrs reads the first 64 reviews of a card


def test_too_little_history_is_refused_saying_how_much_there_is_and_is_needed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'q.db'}", backup=False)
    made = simulate_history(store, "default", start=START, cards=10, days=20)
    store.dispose()
    with pytest.raises(NotEnoughHistory) as refused:
        optimize([fact("d/a", 0, before=0), fact("d/a", 3)], current=(), now=START, desired_retention=0.9)
    assert (refused.value.usable, refused.value.total, refused.value.needed) == (1, 2, NEEDED_REVIEWS)
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    code = main(["optimize", "--db", f"sqlite:///{tmp_path / 'q.db'}", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["ok"] is False and data["reviews"] == made and data["needed"] == 512
    assert 0 < data["usable_reviews"] < 512
    code = main(["optimize", "--db", f"sqlite:///{tmp_path / 'q.db'}"])
    out = capsys.readouterr().out
    assert code == 1 and f"needs 512; you have {data['usable_reviews']} (of {made} reviews in all)" in out


@pytest.mark.slow
def test_fit_to_a_learners_history_applies_and_the_scheduler_uses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fsrs.scheduler import DEFAULT_PARAMETERS

    from quiz.config import load_settings, read_learner_settings
    from quiz.core.scheduling import CardState, Memory, make_scheduler, review
    from quiz.store.settings_repo import load_settings as load_db_settings

    url = f"sqlite:///{tmp_path / 'q.db'}"
    store = open_store(url, backup=False)
    made = simulate_history(store, "default", start=START)
    store.dispose()
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    assert "fsrs_parameters" not in read_learner_settings("default")
    code = main(["optimize", "--db", url, "--yes", "--json"])  # one fit: it takes a while
    shown = json.loads(capsys.readouterr().out)
    assert code == 0 and shown["applied"] is True
    assert shown["reviews"] == made and shown["usable_reviews"] >= 512
    current, fitted = shown["current"], shown["fitted"]
    assert current["parameters"] == [round(w, 4) for w in DEFAULT_PARAMETERS]
    assert fitted["parameters"] != current["parameters"]
    # The learner forgets faster than the defaults assume: the fit predicts their recalls better
    # and brings cards back sooner.
    assert fitted["log_loss"] < current["log_loss"]
    assert current["predicted_recall"] > current["actual_recall"]
    assert abs(fitted["predicted_recall"] - fitted["actual_recall"]) < abs(
        current["predicted_recall"] - current["actual_recall"]
    )
    assert fitted["mean_interval_days"] < current["mean_interval_days"]
    weights = read_learner_settings("default")["fsrs_parameters"]
    assert [round(w, 4) for w in weights] == fitted["parameters"]
    store = open_store(url, backup=False)
    with store.session() as s:
        assert tuple(load_db_settings(s, "default")["fsrs_parameters"]) == weights
    store.dispose()
    settings = load_settings(db_url=url)
    assert settings.fsrs_parameters == weights
    card = Memory(
        state=CardState.REVIEW,
        stability=10.0,
        difficulty=5.0,
        due=START,
        last_review=START - timedelta(days=10),
    )
    mine = review(card, 3, START, make_scheduler(settings.scheduling()))
    default = review(card, 3, START, make_scheduler())
    assert mine.stability != default.stability

    assert main(["optimize", "--db", url, "--reset"]) == 0
    assert load_settings(db_url=url).fsrs_parameters == ()
