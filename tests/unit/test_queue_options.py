"""Queue options as pure policy: new-card orders, the custom-study scope, the review cap, siblings to bury."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from quiz.core.queue import NEW_CARD_ORDERS, StudyScope, new_card_order, reviews_left, siblings_to_bury


def c(deck: str, section: str, family: str, backend: str, tags: tuple[str, ...] = ()) -> SimpleNamespace:
    return SimpleNamespace(
        deck_id=deck,
        section=section,
        family=family,
        backend=backend,
        tags=tags,
        uid=f"{deck}/{family}.{backend}",
    )


CARDS = [
    c("matmul", "matmul", "mm", "torch"),
    c("matmul", "matmul", "bmm", "torch"),
    c("matmul", "matmul", "mm", "mxnet"),
    c("autograd", "autograd", "detach", "torch", ("interview",)),
    c("autograd", "autograd", "detach", "tensorflow", ("interview",)),
    c("autograd", "autograd", "accumulate", "torch"),
    c("mine", "my-own", "x", "torch"),
]


def uids(cards: list[SimpleNamespace]) -> list[str]:
    return [x.uid for x in cards]


def test_by_topic_is_the_default_and_todays_order() -> None:
    assert new_card_order(CARDS) == new_card_order(CARDS, "by-topic")
    assert uids(new_card_order(CARDS)) == [
        "autograd/detach.torch",
        "autograd/accumulate.torch",
        "autograd/detach.tensorflow",
        "matmul/mm.torch",
        "matmul/bmm.torch",
        "matmul/mm.mxnet",
        "mine/x.torch",
    ]


def test_interleaved_takes_one_card_from_each_deck_in_turn_keeping_each_decks_order() -> None:
    assert uids(new_card_order(CARDS, "interleaved")) == [
        "autograd/detach.torch",
        "matmul/mm.torch",
        "mine/x.torch",
        "autograd/accumulate.torch",
        "matmul/bmm.torch",
        "autograd/detach.tensorflow",
        "matmul/mm.mxnet",
    ]


def test_random_order_is_a_permutation_reproducible_from_the_seed() -> None:
    a = new_card_order(CARDS, "random", random.Random(5))
    assert sorted(uids(a)) == sorted(uids(CARDS))
    assert a == new_card_order(CARDS, "random", random.Random(5))
    orders = {tuple(uids(new_card_order(CARDS, "random", random.Random(seed)))) for seed in range(20)}
    assert len(orders) > 10  # it does shuffle


def test_bad_orders_are_refused() -> None:
    with pytest.raises(ValueError, match="by-topic, interleaved, random"):
        new_card_order(CARDS, "alphabetical")
    with pytest.raises(ValueError, match="rng"):
        new_card_order(CARDS, "random")
    assert NEW_CARD_ORDERS == ("by-topic", "interleaved", "random")


def test_scope_filters_by_tag_deck_backend_and_section() -> None:
    assert StudyScope().everything and all(StudyScope().includes(x) for x in CARDS)
    assert uids([x for x in CARDS if StudyScope(tags=("interview",)).includes(x)]) == [
        "autograd/detach.torch",
        "autograd/detach.tensorflow",
    ]
    both = StudyScope(tags=("interview",), backends=("tensorflow",))
    assert uids([x for x in CARDS if both.includes(x)]) == ["autograd/detach.tensorflow"]
    assert [x.uid for x in CARDS if StudyScope(decks=("matmul",), backends=("mxnet",)).includes(x)] == [
        "matmul/mm.mxnet"
    ]
    assert not any(StudyScope(sections=("nowhere",)).includes(x) for x in CARDS)


def test_review_cap() -> None:
    assert reviews_left(None, 500) is None
    assert reviews_left(10, 3) == 7
    assert reviews_left(10, 12) == 0
    assert reviews_left(0, 0) == 0


def test_siblings_are_the_family_on_other_backends_in_the_same_deck() -> None:
    assert siblings_to_bury(CARDS[3], CARDS) == ["autograd/detach.tensorflow"]
    assert siblings_to_bury(CARDS[0], CARDS) == ["matmul/mm.mxnet"]
    assert siblings_to_bury(CARDS[5], CARDS) == []
