"""Queue options through the real Study and SQLite store: the review cap, new-card orders, custom study
by tag, siblings buried until tomorrow (and back on undo), and a narrow session that finds its cards."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from quiz.core.queue import StudyScope
from quiz.session import dashboards
from quiz.store import repo
from tests.decks_for_study import Clock, make_study, rate

pytestmark = [pytest.mark.torch, pytest.mark.tensorflow]


def new_queue(study) -> list[str]:  # type: ignore[no-untyped-def]
    with study.store.session() as s:
        return repo.upcoming(s, study.profile, now=study.clock()).new


def graduate(study, clock: Clock, uids: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Take each card through its learning steps to the review state."""
    for uid in uids:
        card = study.cards[uid]
        rate(study, card, 3)
        clock.advance(minutes=11)
        _, after = rate(study, card, 3)
        assert after.state == 2


def test_review_cap_stops_review_cards_but_not_learning_ones(tmp_path: Path) -> None:
    clock = Clock()
    study = make_study(tmp_path, clock, new_per_day=0)
    graduate(study, clock, ["alpha/detach.torch", "alpha/accumulate.torch", "beta/mm.torch"])
    clock.advance(days=40)  # all three are due
    capped = study.with_settings(replace(study.settings, reviews_per_day=2))
    assert dashboards.counts(capped).due == 2
    assert dashboards.counts(study).due == 3  # no cap: today's behaviour
    first = capped.next_card()
    assert first is not None
    rate(capped, first, 3)
    assert dashboards.counts(capped).due == 1
    second = capped.next_card()
    assert second is not None and second.uid != first.uid
    rate(capped, second, 1)  # forgotten: relearning, back in 10 minutes
    assert dashboards.counts(capped).due == 0
    third = study.next_card()  # the uncapped session shows the third review card first ...
    assert third is not None and third.uid not in (first.uid, second.uid)
    assert capped.next_card() == second  # ... the capped one only the relearning card (never capped)
    clock.advance(minutes=11)
    rate(capped, second, 3)
    assert capped.next_card() is None  # the third review card waits for tomorrow
    clock.advance(days=1)
    assert dashboards.counts(capped).due >= 1  # a new day, a new allowance
    assert capped.next_card() is not None


def test_interleaved_order_takes_turns_between_decks_and_back(tmp_path: Path) -> None:
    study = make_study(tmp_path)
    by_topic = new_queue(study)
    assert by_topic[:3] == ["alpha/detach.torch", "alpha/accumulate.torch", "alpha/zeros.torch"]
    inter = study.with_settings(replace(study.settings, new_card_order="interleaved"))
    inter.sync()
    assert new_queue(inter) == [
        "alpha/detach.torch",
        "beta/mm.torch",
        "alpha/accumulate.torch",
        "beta/bmm.torch",
        "alpha/zeros.torch",
        "alpha/detach.tensorflow",
    ]
    assert inter.next_card().uid == "alpha/detach.torch"  # type: ignore[union-attr]
    back = study.with_settings(replace(study.settings, new_card_order="by-topic"))
    back.sync()
    assert new_queue(back) == by_topic


def test_random_order_is_the_same_for_the_same_learner_on_any_database(tmp_path: Path) -> None:
    a = make_study(tmp_path / "a", new_card_order="random")
    b = make_study(tmp_path / "b", new_card_order="random")
    other = make_study(tmp_path / "c", new_card_order="random", profile="someone-else")
    assert new_queue(a) == new_queue(b)
    assert sorted(new_queue(a)) == sorted(new_queue(other))
    a.sync()  # a restart does not reshuffle
    assert new_queue(a) == new_queue(b)


def test_custom_study_by_tag_counts_and_shows_only_those_cards(tmp_path: Path) -> None:
    study = make_study(tmp_path).with_scope(StudyScope(tags=("interview",)))
    assert dashboards.counts(study).new == 3
    seen = []
    for _ in range(3):
        card = study.next_card()
        assert card is not None and "interview" in card.tags
        seen.append(card.uid)
        rate(study, card, 4)  # Easy: out of today's queue
    assert sorted(seen) == ["alpha/detach.tensorflow", "alpha/detach.torch", "beta/mm.torch"]
    assert dashboards.counts(study).new == 0 and study.next_card() is None
    tf_only = study.with_scope(StudyScope(backends=("tensorflow",)))
    assert dashboards.counts(tf_only).new == 0  # its one card was answered above


def test_answering_a_card_buries_its_siblings_until_tomorrow_and_undo_brings_them_back(
    tmp_path: Path,
) -> None:
    clock = Clock()
    study = make_study(tmp_path, clock, bury_siblings=True)
    scope = study.with_scope(StudyScope(decks=("alpha",), tags=("interview",)))
    torch_card = scope.next_card()
    assert torch_card is not None and torch_card.uid == "alpha/detach.torch"
    rate(scope, torch_card, 4)
    assert scope.next_card() is None  # the TensorFlow sibling is buried
    assert dashboards.counts(scope).new == 0
    scope.undo()
    assert scope.next_card() == torch_card
    rate(scope, torch_card, 4)
    clock.advance(days=1)
    assert scope.next_card().uid == "alpha/detach.tensorflow"  # type: ignore[union-attr]
    off = make_study(tmp_path / "off", Clock())
    rate(off, off.cards["alpha/detach.torch"], 4)
    assert off.with_scope(StudyScope(decks=("alpha",), tags=("interview",))).next_card().uid == (  # type: ignore[union-attr]
        "alpha/detach.tensorflow"
    )


def test_a_narrow_session_finds_its_card_behind_hundreds_of_others(tmp_path: Path) -> None:
    from quiz.core.scheduling import Memory
    from quiz.store.db import open_store

    store = open_store(f"sqlite:///{tmp_path / 'q.db'}", backup=False)
    clock = Clock()
    with store.session() as s:
        repo.sync_cards(s, "default", [(f"d/c{i}", "d") for i in range(400)])
        wanted = {"d/c333", "d/c390"}
        pick = lambda: repo.next_card_uid(  # noqa: E731
            s,
            "default",
            now=clock.now,
            new_limit=5,
            day_start=clock.now - timedelta(hours=1),
            usable=wanted.__contains__,
        )
        assert pick() == "d/c333"
        # Due cards too: 300 due, the wanted one last.
        for i in range(300):
            due = clock.now - timedelta(days=300 - i)
            repo.record_review(
                s,
                "default",
                _review(f"d/c{i}", clock.now - timedelta(days=400)),
                Memory(),
                Memory(state=2, due=due),  # type: ignore[arg-type]
            )
        wanted = {"d/c299"}
        assert pick() == "d/c299"
    store.dispose()


def _review(uid: str, when):  # type: ignore[no-untyped-def]
    from tests.factories import review_input

    return review_input(uid, when=when)


def test_interval_previews_follow_the_cards_memory(tmp_path: Path) -> None:
    from quiz.core.previews import preview_line

    clock = Clock()
    study = make_study(tmp_path, clock)
    card = study.cards["beta/mm.torch"]
    assert preview_line(study.interval_previews(card)) == "1 Again 1m · 2 Hard 6m · 3 Good 10m · 4 Easy 8d"
    rate(study, card, 3)
    clock.advance(minutes=10)
    previews = study.interval_previews(card)
    _, after = rate(study, card, 3)
    assert previews[2].due == after.due
