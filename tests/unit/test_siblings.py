"""Sibling cards: when the learner's values carry over (and why not), and when a result is marked the
same as the learner's card, different, or not compared at all (never a false "same")."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from quiz.core.cards import Backend, Card, Kind, Tolerance
from quiz.core.grading import Raised, RunResult
from quiz.core.siblings import Mark, compare, pinned, share, shared_values
from quiz.core.variables import NoVariantError, draw_values


def card(kind: Kind = Kind.SHAPE, backend: Backend = Backend.TORCH, **fields: Any) -> Card:
    base = Card(
        deck_id="d",
        id=f"f.{backend.value}",
        section="s",
        backend=backend,
        kind=kind,
        prompt="What is it?",
        code="y = 1",
        answer="y",
        explain="",
        family="f",
    )
    return replace(base, **fields)


def ok(truth: Any, backend: str = "torch") -> RunResult:
    return RunResult(ok=True, truth=truth, backend=backend)


def raised(name: str, backend: str = "mxnet") -> RunResult:
    return RunResult(
        ok=False,
        error=f"{name}: boom",
        error_kind="card-error",
        backend=backend,
        raised={"type": name, "module": "m", "message": "boom"},
    )


AB = (("a", {"int": [2, 5]}), ("b", {"int": [2, 6]}))


# --- sharing the learner's values ---------------------------------------------------------


def test_values_within_every_spec_are_shared() -> None:
    mx = card(backend=Backend.MXNET, variables=AB, assume=("a != b",))
    assert share(mx, {"a": 3, "b": 4}).values == {"a": 3, "b": 4}
    assert shared_values(mx, {"a": 3, "b": 4, "n": 2}) == {"a": 3, "b": 4}  # n: not its variable


def test_each_refusal_says_why() -> None:
    mx = card(backend=Backend.MXNET, variables=AB, assume=("a != b",))
    assert share(mx, {"a": 3, "b": 9}).why_not == "b = 9 is outside this card's 2..6"
    assert share(mx, {"a": 3}).why_not == "it has a variable your card does not: b"
    assert share(mx, {"a": 3, "b": 3}).why_not == "your values break its condition a != b"
    assert share(mx, {"a": 3.5, "b": 3}).why_not == "a = 3.5 is not a whole number"
    ops = card(variables=(("op", {"choice": ["t()", "view(-1)"]}),))
    assert share(ops, {"op": "x.T"}).why_not == "op = 'x.T' is not one of this card's choices"
    shape = card(variables=(("s", {"shape": {"rank": 2, "side": [1, 4]}}),))
    assert share(shape, {"s": (2, 3, 4)}).why_not == "s = (2, 3, 4) has 3 axes, this card 2"
    assert share(shape, {"s": [2, 9]}).why_not == "s = (2, 9) has a side outside this card's 1..4"
    assert share(shape, {"s": (2, 3)}).values == {"s": (2, 3)}


def test_a_spec_it_cannot_check_is_shared_only_over_the_same_earlier_values() -> None:
    specs = (("s", {"shape": {"rank": 2, "side": [2, 4]}}), ("t", {"reshape_of": "s"}))
    mine = card(variables=specs)
    theirs = card(backend=Backend.MXNET, variables=specs)
    assert share(theirs, {"s": (2, 3), "t": (3, 2)}, dict(mine.variables)).values == {
        "s": (2, 3),
        "t": (3, 2),
    }
    # The same reshape_of spec over another shape (here s's range differs): not the same draw.
    other = card(backend=Backend.MXNET, variables=(specs[0], ("u", {"reshape_of": "s"})))
    assert share(other, {"s": (2, 3), "u": (6,)}, {"u": {"reshape_of": "x"}}).values is None
    assert share(theirs, {"s": (2, 3), "t": (3, 2)}).why_not == "t is drawn differently on this card"


def test_derived_values_are_recomputed_by_the_sibling() -> None:
    mx = card(backend=Backend.MXNET, variables=(("a", {"int": [1, 4]}), ("d", {"expr": "a * 10"})))
    assert share(mx, {"a": 2, "d": 999}).values == {"a": 2, "d": 20}


def test_a_sibling_that_cannot_take_every_value_keeps_those_it_can() -> None:
    mx = card(
        backend=Backend.MXNET,
        variables=(
            ("a", {"int": [2, 5]}),
            ("op", {"choice": ["tile", "repeat"]}),
            ("b", {"int": [1, "a"]}),
            ("n", {"int": [2, 4]}),
            ("m", {"int": [1, "n"]}),
        ),
    )
    values = {"a": 3, "op": "expand", "b": 2, "n": 9, "m": 1}
    assert share(mx, values).why_not == "op = 'expand' is not one of this card's choices"
    keep = pinned(mx, values)
    assert keep is not None and keep.uid != mx.uid  # never the card's own cached strategy
    for seed in range(5):
        drawn = draw_values(keep, seed)
        assert drawn["a"] == 3 and drawn["b"] == 2  # b's bound is a, which is kept
        assert drawn["op"] in ("tile", "repeat") and 2 <= drawn["n"] <= 4  # n = 9 does not fit
        assert 1 <= drawn["m"] <= drawn["n"]  # m's bound is n, drawn afresh: m is too
    assert pinned(mx, {"op": "expand"}) is None  # nothing it can keep


def test_kept_values_still_meet_the_siblings_conditions() -> None:
    mx = card(backend=Backend.MXNET, variables=(*AB, ("op", {"choice": ["t"]})), assume=("a != b",))
    keep = pinned(mx, {"a": 3, "b": 3})
    assert keep is not None
    with pytest.raises(NoVariantError):
        draw_values(keep, 1)  # Study.sibling_variant then draws the card's own values


# --- the comparison -------------------------------------------------------------------------


def test_the_same_result_is_marked_same_and_a_different_one_differs() -> None:
    mine, mx = card(variables=AB), card(backend=Backend.MXNET, variables=AB)
    assert compare(mine, ok([3, 4]), mx, ok([3, 4], "mxnet"), same_values=True).mark == Mark.SAME
    differs = compare(mine, ok([3, 4]), mx, ok([4, 3], "mxnet"), same_values=True)
    assert differs.mark == Mark.DIFFERS and differs.why == "yours: (3, 4)"


def test_values_are_compared_within_the_stricter_tolerance() -> None:
    mine = card(Kind.VALUE, tolerance=Tolerance(rtol=0.1))
    tf = card(Kind.VALUE, Backend.TENSORFLOW)
    near = compare(mine, ok([1.0, 2.0]), tf, ok([1.01, 2.0]), same_values=True)
    assert near.mark == Mark.DIFFERS  # within the learner's 10%, not within the sibling's 1e-5
    assert compare(mine, ok([1.0, 2.0]), tf, ok([1.0, 2.0000001]), same_values=True).mark == Mark.SAME


def test_a_raise_is_compared_by_the_exception_it_raised() -> None:
    mine = card(Kind.RAISES)
    mx = card(Kind.RAISES, Backend.MXNET)
    rt = {"type": "RuntimeError", "module": "builtins", "message": ""}
    mxe = {"type": "mxnet.base.MXNetError", "module": "mxnet.base", "message": ""}
    assert compare(mine, ok(rt), mx, ok(dict(rt)), same_values=True).mark == Mark.SAME
    other = compare(mine, ok(rt), mx, ok(mxe), same_values=True)
    assert other.mark == Mark.DIFFERS and other.why == "yours: RuntimeError"
    assert compare(mine, ok(None), mx, ok(rt), same_values=True).mark == Mark.DIFFERS
    assert compare(mine, ok(None), mx, ok(None), same_values=True).mark == Mark.SAME


def test_a_card_that_invites_error_compares_what_was_raised() -> None:
    mine = card(Kind.SHAPE, may_raise=True)
    mx = card(Kind.SHAPE, Backend.MXNET, may_raise=True)
    own = RunResult(ok=True, truth=Raised("RuntimeError"))  # as the verdict carries it
    assert compare(mine, own, mx, raised("RuntimeError"), same_values=True).mark == Mark.SAME
    assert compare(mine, own, mx, ok([2, 3]), same_values=True).mark == Mark.DIFFERS
    assert compare(mine, ok([2, 3]), mx, raised("MXNetError"), same_values=True).mark == Mark.DIFFERS


def test_what_is_not_like_for_like_is_never_marked() -> None:
    mine = card(variables=AB)
    same_truth = ok([3, 4], "mxnet")
    cases = [
        (card(Kind.VALUE, Backend.MXNET, variables=AB), True, "it asks another question (value)"),
        (
            card(backend=Backend.MXNET, variables=AB),
            False,
            "b = 9 is outside this card's 2..6",
        ),
        (card(backend=Backend.MXNET), True, "a fixed example: it takes none of your values"),
    ]
    for sibling, same_values, why in cases:
        c = compare(mine, ok([3, 4]), sibling, same_truth, same_values=same_values, why_not=why)
        assert c.mark == Mark.NOT_COMPARED and c.why == why, (sibling, c)
    failed = RunResult(ok=False, error="timeout", error_kind="timeout", backend="mxnet")
    assert compare(
        mine, ok([3, 4]), card(backend=Backend.MXNET, variables=AB), failed, same_values=True
    ).why == ("it could not be run")
    not_graded = RunResult(ok=False, error="crashed", error_kind="crashed")
    assert compare(
        mine, not_graded, card(backend=Backend.MXNET, variables=AB), same_truth, same_values=True
    ).mark == (Mark.NOT_COMPARED)
    # A card whose code raised without inviting "error" gave no result: not compared, not "differs".
    assert (
        compare(
            mine,
            ok([3, 4]),
            card(backend=Backend.MXNET, variables=AB),
            raised("MXNetError"),
            same_values=True,
        ).mark
        == Mark.NOT_COMPARED
    )


def test_options_are_compared_only_when_both_cards_offer_the_same() -> None:
    mine = card(Kind.CHOICE, choices=("shares memory", "copies"))
    mx = card(Kind.CHOICE, Backend.MXNET, choices=("shares", "copies"))
    c = compare(
        mine,
        ok("copies"),
        mx,
        ok("copies"),
        same_values=True,
        my_choices=mine.choices,
        its_choices=mx.choices,
    )
    assert c.mark == Mark.NOT_COMPARED and c.why == "it offers other options"
    same = ("shares memory", "copies")
    assert compare(
        mine, ok("copies"), mx, ok("copies"), same_values=True, my_choices=same, its_choices=same
    ).mark == (Mark.SAME)


def test_two_fixed_examples_are_compared() -> None:
    assert compare(card(), ok([2]), card(backend=Backend.MXNET), ok([2]), same_values=True).mark == Mark.SAME
