"""The card browser on the real store: search by state agrees with the one definition of states,
suspend and bury are undone after a restart, reset forgets but keeps the history, and each review
keeps the variant that was shown."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from quiz.core.browse import STATES, CardIndex, CardQuery, CardStatus, filter_by_state
from quiz.core.cards import Backend, Kind
from quiz.core.stats import LEECH_LAPSES
from quiz.session import dashboards
from quiz.store import browse, repo
from quiz.store.db import open_store
from quiz.store.models import CardState
from tests.decks_for_study import NOW, Clock, make_study, rate
from tests.factories import card

pytestmark = [pytest.mark.torch, pytest.mark.tensorflow]


def search(study, **query):  # type: ignore[no-untyped-def]
    with study.store.session() as s:
        return browse.search_cards(
            s,
            study.profile,
            CardIndex.build(study.library.cards()),
            CardQuery(**query),
            now=study.clock(),
            limit=None,
        )


def test_suspend_and_bury_last_across_a_restart_and_can_be_undone_there(tmp_path: Path) -> None:
    clock = Clock()
    study = make_study(tmp_path, clock)
    first = study.next_card()
    assert first is not None
    study.suspend(first)
    second = study.next_card()
    assert second is not None and second != first
    study.bury(second)
    study.store.dispose()

    restarted = make_study(tmp_path, clock)  # a new process: no undo history
    assert restarted.undo() is None
    assert search(restarted, states=("suspended",)).uids == [first.uid]
    assert search(restarted, states=("buried",)).uids == [second.uid]
    with restarted.store.session() as s:
        assert browse.state_counts(s, restarted.profile, now=clock.now)["suspended"] == 1
    assert restarted.next_card() not in (first, second)
    with restarted.store.session() as s:
        assert browse.suspend_cards(s, restarted.profile, [first.uid], False) == 1
        assert browse.suspend_cards(s, restarted.profile, [first.uid], False) == 0  # already back
        assert browse.bury_cards(s, restarted.profile, [second.uid], None) == 1
    assert restarted.next_card() == first
    assert search(restarted, states=("suspended",)).uids == []
    assert dashboards.counts(restarted).new == 6


def test_state_search_agrees_with_card_status_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(3)
    store = open_store(f"sqlite:///{tmp_path / 'q.db'}", backup=False)
    cards = [card(Kind.SHAPE, deck_id="d", id=f"c{i}", backend=Backend.TORCH) for i in range(120)]
    with store.session() as s:
        repo.sync_cards(s, "default", [(c.uid, c.deck_id) for c in cards])
        for c in cards:
            state = rng.choice([0, 1, 2, 3])
            s.execute(
                update(CardState)
                .where(CardState.card_uid == c.uid)
                .values(
                    state=state,
                    due=None if state == 0 else NOW + timedelta(hours=rng.uniform(-48, 48)),
                    lapses=rng.choice([0, 1, LEECH_LAPSES, LEECH_LAPSES + 2]),
                    suspended=rng.random() < 0.2,
                    buried_until=rng.choice([None, NOW - timedelta(hours=1), NOW + timedelta(hours=5)]),
                )
            )
        s.commit()
        index = CardIndex.build(cards)
        statuses = browse.statuses_of(s, "default", [c.uid for c in cards])
        queries = [(st,) for st in STATES] + [("due", "leech"), ("new", "suspended"), ("review", "buried")]
        for in_list_max in (500, 0):  # candidates sent as an IN list, and read from the profile's rows
            monkeypatch.setattr(browse, "IN_LIST_MAX", in_list_max)
            for states in queries:
                found = browse.search_cards(
                    s, "default", index, CardQuery(states=states), now=NOW, limit=None
                )
                expected = [c.uid for c in filter_by_state(cards, statuses, states, NOW)]
                assert found.uids == expected, states
                assert found.total == len(expected)
            assert all(len(filter_by_state(cards, statuses, (st,), NOW)) > 0 for st in STATES)
        counts = browse.state_counts(s, "default", now=NOW)
        assert counts == {st: sum(st in statuses[c.uid].labels(NOW) for c in cards) for st in STATES}
    store.dispose()


def test_pages_rows_and_review_tallies(tmp_path: Path) -> None:
    clock = Clock()
    study = make_study(tmp_path, clock)
    mm = study.cards["beta/mm.torch"]
    rate(study, mm, 1, correct=False)
    clock.advance(minutes=2)
    rate(study, mm, 3, correct=True)
    everything = search(study)
    assert everything.total == 6 and len(everything.uids) == 6
    with study.store.session() as s:
        page = browse.search_cards(
            s,
            study.profile,
            CardIndex.build(study.library.cards()),
            CardQuery(),
            now=clock.now,
            limit=2,
            offset=4,
        )
    assert page.total == 6 and [r.card.uid for r in page.rows] == everything.uids[4:6]
    row = next(r for r in search(study, text="a @ b").rows if r.card.uid == mm.uid)
    assert (row.reviews, row.graded, row.correct) == (2, 2, 1)
    assert row.last_reviewed == clock.now
    d = row.to_dict(clock.now)
    assert d["state"] == "learning" and d["file"].endswith("beta.toml") and d["line"] == mm.location.line


def test_history_keeps_the_variant_shown_and_reset_forgets_but_keeps_it(tmp_path: Path) -> None:
    from quiz.core.grading import Verdict
    from quiz.session.grading import Answered

    clock = Clock()
    study = make_study(tmp_path, clock)
    c = study.cards["alpha/zeros.torch"]
    for seed, rating in ((11, 3), (12, 3)):
        variant = study.prepare(c, seed=seed)
        verdict = Verdict(True, "(2, 3)", "(2, 3)", "torch", "cpu", "2.13.0", 0.4)
        study.rate(Answered(c, variant, "(2, 3)", verdict, clock.now, clock.now, 1200), rating)
        clock.advance(minutes=11)
    with study.store.session() as s:
        history = browse.card_history(s, study.profile, c.uid)
    assert [h.seed for h in history] == [12, 11]  # newest first
    assert history[0].variables == study.prepare(c, seed=12).values_json()
    assert history[0].to_dict()["rating_name"] == "Good" and history[0].state_after == 2
    with study.store.session() as s:
        assert browse.reset_cards(s, study.profile, [c.uid]) == 1
        assert browse.reset_cards(s, study.profile, [c.uid]) == 0
        assert len(browse.card_history(s, study.profile, c.uid)) == 2
        status = browse.statuses_of(s, study.profile, [c.uid])[c.uid]
    assert status == CardStatus(state=0)
    assert study.memory(c).state == 0 and study.memory(c).reps == 0
    assert c.uid in search(study, states=("new",)).uids
    # Reset today gives today's new-card allowance back: the card is new again, not yet introduced.
    assert dashboards.counts(study).new_today == 0


def test_the_open_browser_finds_what_the_store_search_finds(tmp_path: Path) -> None:
    clock = Clock()
    study = make_study(tmp_path, clock)
    graduate = study.cards["beta/mm.torch"]
    rate(study, graduate, 4)  # Easy: a review card
    rate(study, study.cards["alpha/detach.torch"], 1)
    study.suspend(study.cards["alpha/zeros.torch"])
    study.bury(study.cards["beta/bmm.torch"])
    index = CardIndex.build(study.library.cards())
    queries = [CardQuery(states=(st,)) for st in STATES] + [
        CardQuery(),
        CardQuery(tags=("interview",), states=("new",)),
        CardQuery(text="shape", states=("suspended",)),
        CardQuery(decks=("alpha",), states=("learning", "due")),
    ]
    with study.store.session() as s:
        browser = browse.open_browser(s, study.profile, index, now=clock.now)
        for q in queries:
            via_sql = browse.search_cards(s, study.profile, index, q, now=clock.now, limit=None)
            positions = browser.search(q)
            assert [index.cards[i].uid for i in positions] == via_sql.uids, q
            assert browse.browse_page(s, study.profile, browser, positions, limit=100) == via_sql.rows
        assert browser.counts() == browse.state_counts(s, study.profile, now=clock.now)
        # An operation, then the browser told of it: it finds the card in its new state.
        browse.suspend_cards(s, study.profile, ["beta/mm.torch"], True)
        browser.set_status(
            "beta/mm.torch", browse.statuses_of(s, study.profile, ["beta/mm.torch"])["beta/mm.torch"]
        )
        assert [index.cards[i].uid for i in browser.search(CardQuery(states=("suspended",)))] == [
            "alpha/zeros.torch",
            "beta/mm.torch",
        ]
        assert browser.search(CardQuery(states=("review", "suspended"))) == [index.position["beta/mm.torch"]]
