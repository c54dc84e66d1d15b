"""The prepared start never picks a different card than the database would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from quiz.core.queue import UNDECIDED, pick_next, pick_prepared

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@settings(max_examples=400, deadline=None)
@given(
    due_minutes=st.lists(st.integers(-600, 600), max_size=12),
    n_new=st.integers(0, 6),
    k_due=st.integers(0, 8),
    k_new=st.integers(0, 4),
    unusable=st.sets(st.integers(0, 20)),
    new_left=st.integers(0, 3),
)
def test_truncated_lists_agree_with_the_full_policy(
    due_minutes: list[int], n_new: int, k_due: int, k_new: int, unusable: set[int], new_left: int
) -> None:
    due = sorted((NOW + timedelta(minutes=m), i) for i, m in enumerate(due_minutes))
    new = [100 + i for i in range(n_new)]
    usable = lambda item: item % 21 not in unusable  # noqa: E731
    full = pick_next(due, new, now=NOW, new_left_today=new_left, usable=usable)
    short = pick_prepared(
        due[:k_due],
        new[:k_new],
        due_complete=k_due >= len(due),
        new_complete=k_new >= len(new),
        now=NOW,
        new_left_today=new_left,
        usable=usable,
    )
    if short is not UNDECIDED:
        assert short == full


def test_complete_lists_always_decide() -> None:
    due = [(NOW - timedelta(minutes=1), "a")]
    assert pick_prepared(due, ["n"], due_complete=True, new_complete=True, now=NOW, new_left_today=1) == "a"
    assert pick_prepared([], ["n"], due_complete=True, new_complete=True, now=NOW, new_left_today=1) == "n"
    assert pick_prepared([], [], due_complete=True, new_complete=True, now=NOW, new_left_today=1) is None


def test_truncated_lists_that_cannot_tell() -> None:
    due = [(NOW - timedelta(minutes=1), "a")]
    assert (
        pick_prepared(
            due,
            [],
            due_complete=False,
            new_complete=True,
            now=NOW,
            new_left_today=1,
            usable=lambda u: u != "a",
        )
        is UNDECIDED
    )


def test_new_cards_come_deck_by_deck_in_the_articles_order_and_spread_a_familys_backends() -> None:
    from types import SimpleNamespace

    from quiz.core.queue import new_card_order

    def c(deck: str, section: str, family: str, backend: str) -> SimpleNamespace:
        return SimpleNamespace(
            deck_id=deck, section=section, family=family, backend=backend, uid=f"{family}.{backend}"
        )

    cards = [
        c("matmul", "matmul", "mm", "mxnet"),
        c("matmul", "matmul", "mm", "torch"),
        c("mine", "my-own", "x", "torch"),
        c("autograd", "autograd", "detach", "torch"),
        c("autograd", "autograd", "detach", "tensorflow"),
        c("autograd", "autograd", "accumulate", "torch"),
    ]
    assert [x.uid for x in new_card_order(cards)] == [
        "detach.torch",
        "accumulate.torch",
        "detach.tensorflow",
        "mm.torch",
        "mm.mxnet",
        "x.torch",
    ]
