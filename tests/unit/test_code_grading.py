"""Code and translate answers without a runner: judging over variants, the variants themselves,
array variables, the translate card format, the shrinking of a failing variant."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from random import Random
from typing import Any

import pytest

from quiz.core.cards import Kind, Tolerance
from quiz.core.decks import load_deck, parse_deck
from quiz.core.grading import RunResult, VariantCheck, judge, judge_code, tensor_difference
from quiz.core.variables import (
    DrawError,
    SpecError,
    draw_values,
    draw_variant,
    draw_with_choices,
    render,
    smallest_failing,
    validate_spec,
)
from quiz.session.grading import MalformedAnswer, grading_variants, read_answer
from tests.factories import card


def ok(truth: Any, backend: str = "torch") -> RunResult:
    return RunResult(ok=True, truth=truth, backend=backend, device="cpu", version="2.13.0", elapsed_ms=1.0)


def failed(error: str, kind: str = "card-error") -> RunResult:
    return RunResult(ok=False, error=error, error_kind=kind, backend="torch", device="cpu")


def check(values: dict[str, Any], expected: RunResult, got: RunResult) -> VariantCheck:
    return VariantCheck(values, expected, got)


# --- judging over variants ------------------------------------------------------------------


def test_a_code_answer_is_right_only_if_every_variant_agrees() -> None:
    c = card(Kind.CODE, answer="x.t()")
    right = judge_code(c, "x.T", [check({"n": 2}, ok([1, 2]), ok([1, 2])), check({"n": 3}, ok([3]), ok([3]))])
    assert right.correct is True
    assert right.extra["variants_checked"] == 2
    assert right.extra["reference"] == "x.t()"
    assert right.extra["given_value"] == "[1, 2]"
    assert "failing_variant" not in right.extra
    wrong = judge_code(
        c, "[1, 2]", [check({"n": 2}, ok([1, 2]), ok([1, 2])), check({"n": 3}, ok([3]), ok([1, 2]))]
    )
    assert wrong.correct is False
    assert wrong.expected == "[1, 2]"  # the shown variant's truth
    assert wrong.extra["failing_variant"] == {"values": {"n": 3}, "expected": "[3]", "got": "[1, 2]"}
    # Every key a verdict had before is still there.
    assert {
        "correct",
        "expected",
        "given",
        "backend",
        "device",
        "version",
        "elapsed_ms",
    } <= wrong.to_dict().keys()


def test_the_smallest_failing_variant_is_shown_and_the_learners_error_too() -> None:
    c = card(Kind.CODE)
    checks = [check({"n": 9}, ok(9), failed("NameError: name 'z' is not defined"))]
    smallest = check({"n": 1}, ok(1), failed("NameError: name 'z' is not defined"))
    v = judge_code(c, "z", checks, smallest=smallest)
    assert v.correct is False
    assert v.extra["given_error"].startswith("NameError")
    assert v.extra["failing_variant"] == {
        "values": {"n": 1},
        "expected": "1",
        "got": None,
        "error": "NameError: name 'z' is not defined",
    }


def test_a_variant_whose_reference_fails_is_left_out_and_the_shown_one_is_not_graded() -> None:
    c = card(Kind.CODE)
    v = judge_code(
        c, "x", [check({"n": 2}, ok(2), ok(2)), check({"n": 0}, failed("ZeroDivisionError"), ok(0))]
    )
    assert v.correct is True and v.extra["variants_checked"] == 1
    shown_broken = judge_code(c, "x", [check({"n": 0}, failed("ZeroDivisionError: x"), ok(0))])
    assert shown_broken.correct is None and "ZeroDivisionError" in (shown_broken.error or "")
    unavailable = judge_code(c, "x", [check({}, ok(1), failed("torch is not installed", "unavailable"))])
    assert unavailable.correct is None and unavailable.error == "torch is not installed"


def test_a_learner_that_forged_a_reply_is_wrong_whatever_the_values() -> None:
    c = card(Kind.CODE)
    v = judge_code(c, "x", [check({}, ok(1), ok(1))], misbehaved="wrote into the pipe")
    assert v.correct is False and v.extra["misbehaved"] == "wrote into the pipe"


def test_judge_refuses_code_answers_they_are_run_not_parsed() -> None:
    with pytest.raises(ValueError, match="judge_code"):
        judge(card(Kind.CODE), "x", "x", ok(1))


def tensor(shape: list[int], dtype: str, values: Any) -> dict[str, Any]:
    return {"shape": shape, "dtype": dtype, "values": values}


def test_translations_compare_shape_dtype_and_values_within_tolerance() -> None:
    c = card(Kind.TRANSLATE, result="y", tolerance=Tolerance(rtol=1e-4, atol=0))
    src = tensor([2], "float32", [1.0, 2.0])
    assert tensor_difference(tensor([2], "float32", [1.00001, 2.0]), src, c.tolerance) is None
    assert "shape is (1, 2)" in (tensor_difference(tensor([1, 2], "float32", [[1.0, 2.0]]), src) or "")
    assert "dtype is float64" in (tensor_difference(tensor([2], "float64", [1.0, 2.0]), src) or "")
    assert "values differ" in (tensor_difference(tensor([2], "float32", [1.0, 3.0]), src) or "")
    v = judge_code(
        c,
        "y = x",
        [check({"x": [1.0, 2.0]}, ok(src, "tensorflow"), ok(tensor([2], "float64", [1.0, 2.0])))],
    )
    assert v.correct is False
    assert v.backend == "torch" and v.version == "2.13.0"  # the learner's backend, not the source's
    assert v.expected == "float32 (2,): [1.0, 2.0]"
    assert v.extra["failing_variant"]["difference"] == "the dtype is float64 where the source's is float32"


# --- the variants an answer is graded on ------------------------------------------------------

DECK = """
[deck]
id = "g"
title = "grading"

[[card]]
id = "sum.torch"
section = "s"
backend = "torch"
kind = "code"
prompt = "Sum `x`."
code = "x = torch.arange(${n})"
answer = "x.sum()"
explain = "."
vars.n = { int = [1, 50] }

[[card]]
id = "tiny.torch"
section = "s"
backend = "torch"
kind = "code"
prompt = "?"
code = "x = ${b}"
answer = "x"
explain = "."
vars.b = { bool = true }

[[card]]
id = "fixed.torch"
section = "s"
backend = "torch"
kind = "code"
prompt = "?"
code = "x = 1"
answer = "x"
explain = "."
"""


@pytest.fixture
def cards() -> dict[str, Any]:
    deck, problems = parse_deck(DECK, "g.toml")
    assert deck is not None and not problems, problems
    return {c.id.split(".")[0]: c for c in deck.cards}


def test_further_variants_are_distinct_and_the_same_for_the_same_seed(cards: dict[str, Any]) -> None:
    c = cards["sum"]
    variants = grading_variants(c, draw_variant(c, 7))
    assert len(variants) == 4
    assert variants[0][0] == draw_variant(c, 7) and variants[0][1] is None
    assert len({v.values["n"] for v, _ in variants}) == 4
    again = grading_variants(c, draw_variant(c, 7))
    assert [v.values for v, _ in again] == [v.values for v, _ in variants]
    assert [v.values for v, _ in grading_variants(c, draw_variant(c, 8))] != [v.values for v, _ in variants]
    # Each further variant carries hypothesis' choices, which replay to its values.
    for v, choices in variants[1:]:
        assert choices is not None and draw_with_choices(c, v.seed) == (v.values, choices)


def test_a_small_variable_space_gives_what_it_has_and_no_vars_gives_one(cards: dict[str, Any]) -> None:
    tiny = grading_variants(cards["tiny"], draw_variant(cards["tiny"], 0))
    assert sorted(v.values["b"] for v, _ in tiny) == [False, True]
    assert len(grading_variants(cards["fixed"], draw_variant(cards["fixed"], 0))) == 1


def test_hypothesis_replays_a_known_failure_and_shrinks_it_the_same_way_each_time(
    cards: dict[str, Any],
) -> None:
    c = cards["sum"]
    seed = next(s for s in range(100) if draw_values(c, s)["n"] > 20)
    values, choices = draw_with_choices(c, seed)
    calls: list[int] = []

    def fails(v: dict[str, Any]) -> bool:
        calls.append(v["n"])
        return bool(v["n"] > 4)

    first = smallest_failing(c, fails, examples=0, known=choices, random=Random("r"), key=b"k")
    assert calls[0] == values["n"]  # the known failure runs first (no other example is generated)
    assert first == {"n": 5}
    seen, calls[:] = list(calls), []
    assert smallest_failing(c, fails, examples=0, known=choices, random=Random("r"), key=b"k") == first
    assert calls == seen


# --- array variables ----------------------------------------------------------------------------


def test_array_specs_are_checked_when_the_deck_loads() -> None:
    validate_spec("x", {"array": [2, 3]}, set())
    validate_spec("x", {"array": "s", "elements": [-1.0, 1.0], "places": 1}, {"s"})
    validate_spec("x", {"array": [2, "n"]}, {"n"})
    bad = [
        ({"array": "s"}, set(), "names no earlier"),
        ({"array": [300]}, set(), "from 0 to 256"),
        ({"array": [20, 20]}, set(), "more than 256 elements"),
        ({"array": [1] * 7}, set(), "at most 6"),
        ({"array": [2], "elements": [3, 1]}, set(), "empty"),
        ({"array": [2], "elements": [0, "inf"]}, set(), "finite numbers"),
        ({"array": [2], "places": 2}, set(), "float elements"),
        ({"array": [2], "elements": [0.0, 1.0], "places": 9}, set(), "0 to 6"),
        ({"array": [2], "step": 1}, set(), "unknown key step"),
    ]
    for spec, defined, message in bad:
        with pytest.raises(SpecError, match=message):
            validate_spec("x", spec, defined)


def array_card(vars_toml: str) -> Any:
    text = f"""
[deck]
id = "a"
title = "a"

[[card]]
id = "c"
section = "s"
backend = "torch"
kind = "value"
prompt = "?"
code = "x = torch.tensor(${{x}})"
answer = "x"
explain = "."
{vars_toml}
"""
    deck, problems = parse_deck(text, "a.toml")
    assert deck is not None and not problems, problems
    return deck.cards[0]


def test_arrays_draw_values_of_the_shape_reproducibly_and_render_as_literals() -> None:
    c = array_card(
        'vars.s = { shape = { rank = [1, 3], side = [1, 3] } }\nvars.x = { array = "s", elements = [-2.0, 2.0], places = 1 }'
    )
    for seed in range(20):
        values = draw_values(c, seed)
        shape, x = values["s"], values["x"]
        assert values == draw_values(c, seed)

        def walk(v: Any, dims: tuple[int, ...]) -> None:
            if not dims:
                assert isinstance(v, float) and -2.0 <= v <= 2.0 and round(v, 1) == v
                return
            assert isinstance(v, tuple) and len(v) == dims[0]
            for item in v:
                walk(item, dims[1:])

        walk(x, shape)
        assert eval(render("${x}", values)) == x  # a Python literal of the same nested values
    ints = array_card("vars.x = { array = [2, 2], elements = [0, 3] }")
    x = draw_values(ints, 1)["x"]
    assert all(isinstance(v, int) and 0 <= v <= 3 for row in x for v in row)


def test_an_array_drawn_too_large_is_a_card_bug_with_a_reason() -> None:
    c = array_card('vars.s = { shape = { rank = 2, side = [20, 30] } }\nvars.x = { array = "s" }')
    with pytest.raises(DrawError, match="more than 256"):
        draw_values(c, 0)


# --- the translate format ---------------------------------------------------------------------

TRANSLATE = """
[deck]
id = "t"
title = "t"

[[card]]
id = "sum.tensorflow"
section = "s"
backend = "tensorflow"
kind = "translate"
source_backend = "torch"
prompt = "Translate."
source_code = '''
x = torch.tensor(${x}, dtype=torch.float32)
y = x.sum()
'''
code = "x = tf.constant(${x}, dtype=tf.float32)"
answer = "y = tf.reduce_sum(x)"
result = "y"
explain = "."
vars.x = { array = [3] }
"""


def test_a_translate_card_loads_with_its_source(write_deck: Callable[..., Path]) -> None:
    deck, problems = load_deck(write_deck(TRANSLATE))
    assert deck is not None and not problems, problems
    c = deck.cards[0]
    assert c.kind == Kind.TRANSLATE and c.source_backend is not None and c.source_backend.value == "torch"
    assert c.backends == ("tensorflow", "torch") and c.runs_learner_code
    v = draw_variant(c, 3)
    assert v.source_code is not None and "torch.tensor((" in v.source_code
    assert v.code.split("(", 1)[1].split(")")[0] in v.source_code  # the same drawn values on both sides


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('source_backend = "torch"\n', ""), "needs `source_backend`"),
        (('source_backend = "torch"', 'source_backend = "tensorflow"'), "must be another"),
        (('source_backend = "torch"', 'source_backend = "jax"'), "unknown source_backend"),
        (('result = "y"\n', ""), "needs `result`"),
        (
            ("x = torch.tensor(${x}, dtype=torch.float32)\ny = x.sum()", "y = x.sum("),
            "`source_code` is not valid Python",
        ),
        (('answer = "y = tf.reduce_sum(x)"', 'answer = "y = = 1"'), "not a valid Python statement"),
        (("vars.x = { array = [3] }", 'vars.x = { array = [3] }\nrequires = { keras = ">=3" }'), None),
        (('kind = "translate"', 'kind = "value"'), "only 'translate' cards take"),
    ],
)
def test_translate_fields_are_checked(
    write_deck: Callable[..., Path], change: tuple[str, str], message: str | None
) -> None:
    text = TRANSLATE.replace(*change)
    assert text != TRANSLATE
    _, problems = load_deck(write_deck(text))
    if message is None:
        assert not problems  # keras may be required: the target is tensorflow
    else:
        assert any(message in p.message for p in problems), [p.message for p in problems]


def test_a_translation_is_read_as_a_statement_and_may_not_import(write_deck: Callable[..., Path]) -> None:
    deck, _ = load_deck(write_deck(TRANSLATE))
    assert deck is not None
    c = deck.cards[0]
    v = draw_variant(c, 0)
    assert read_answer(c, v, "y = tf.reduce_sum(x)").value == "y = tf.reduce_sum(x)"
    for cheat in (
        "import torch; y = tf.constant(torch.tensor(1.0).numpy())",
        "y = __import__('torch')",
        "y = tf.constant(eval('1'))",
        "y = x.__class__",
        "y = np.sys.modules",
        "from os import system",
    ):
        with pytest.raises(MalformedAnswer, match="no import"):
            read_answer(c, v, cheat)
    with pytest.raises(MalformedAnswer):
        read_answer(c, v, "y = (")
