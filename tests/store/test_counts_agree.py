"""The counts agree with the queue (issue 13 §1): learning cards shown early (learn-ahead) are counted
as learning, a deck's "new" never exceeds the day's new cards left, and a session over some decks
says what waits in the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from quiz.core.queue import StudyScope
from quiz.session import dashboards
from tests.decks_for_study import Clock, make_study, rate

pytestmark = [pytest.mark.torch, pytest.mark.tensorflow]


def test_learning_cards_the_queue_shows_early_are_counted(tmp_path: Path) -> None:
    clock = Clock()
    study = make_study(tmp_path, clock, new_per_day=0)
    card = study.cards["alpha/detach.torch"]
    rate(study, card, 1)  # Again: back in a minute (a learning step)
    assert study.next_card() == card  # within the learn-ahead: the queue shows it now ...
    counts = dashboards.counts(study)
    assert (counts.due, counts.learning, counts.new) == (0, 1, 0)  # ... so the header counts it
    home = dashboards.home_data(study)
    assert home.total.learning == 1
    assert dict((d.id, c.learning) for d, c in home.decks) == {"alpha": 1, "beta": 0}
    clock.advance(hours=1)
    rate(study, card, 3)
    rate(study, card, 3)  # learned: due in days, not learning now
    assert dashboards.counts(study).learning == 0 and study.next_card() is None


def test_a_decks_new_is_never_more_than_the_days_new_cards_left(tmp_path: Path) -> None:
    clock = Clock()
    study = make_study(tmp_path, clock, new_per_day=2)
    home = dashboards.home_data(study)
    assert home.new_left_today == 2
    assert {d.id: c.new for d, c in home.decks} == {"alpha": 2, "beta": 2}  # not 4 and 2
    rate(study, study.cards["beta/mm.torch"], 3)
    rate(study, study.cards["beta/bmm.torch"], 3)
    home = dashboards.home_data(study)
    assert home.new_left_today == 0
    assert {d.id: c.new for d, c in home.decks} == {"alpha": 0, "beta": 0}
    assert dashboards.counts(study).new == 0 and home.total.total == 6


def test_a_narrow_session_says_what_waits_in_the_other_decks(tmp_path: Path) -> None:
    clock = Clock()
    study = make_study(tmp_path, clock, new_per_day=0)
    rate(study, study.cards["alpha/detach.torch"], 1)  # learning, in alpha
    beta = study.with_decks(["beta"])
    assert beta.next_card() is None and dashboards.counts(beta).learning == 0
    waiting, _ = dashboards.elsewhere(beta)
    assert waiting == 1
    assert dashboards.elsewhere(study) == (0, None)  # everything is this session's
    clock.advance(hours=1)
    rate(study, study.cards["alpha/detach.torch"], 3)
    rate(study, study.cards["alpha/detach.torch"], 3)
    waiting, next_due = dashboards.elsewhere(beta)
    assert waiting == 0 and next_due is not None and next_due > clock()
    tagged = study.with_scope(StudyScope(tags=("interview",)))
    assert dashboards.elsewhere(tagged)[0] == 0
