"""Composite answers and `error` answers against real frameworks: the truth a worker sends for a pair
of shapes or dtypes, and a `may_raise` card whose code fails, graded as a learner would."""

from __future__ import annotations

from pathlib import Path

import pytest

from quiz.core.answers import MalformedAnswer, parse_answer
from quiz.core.grading import format_truth, judge
from quiz.core.variables import concrete, draw_variant
from quiz.runner.client import Runner
from tests.runner.conftest import MakeCard

# backend → (code, answer, truth) for a pair of dtypes and a pair of shapes
PAIRS = {
    "torch": (
        "a = torch.ones(2, 3, dtype=torch.float64)\nb = torch.arange(3)",
        ("(a.dtype, b.dtype)", ["float64", "int64"], "(torch.float64, torch.int64)", "(float64, float64)"),
        ("(a.shape, b.shape)", [[2, 3], [3]], "(torch.Size([2, 3]), torch.Size([3]))", "((2, 3), (1, 3))"),
    ),
    "tensorflow": (
        "a = tf.ones((2, 3), dtype=tf.float64)\nb = tf.range(3)",
        ("(a.dtype, b.dtype)", ["float64", "int32"], "(tf.float64, tf.int32)", "(float64, int64)"),
        ("(a.shape, b.shape)", [[2, 3], [3]], "(TensorShape([2, 3]), TensorShape([3]))", "((3, 2), (3,))"),
    ),
    "mxnet": (
        "a = nd.ones((2, 3), dtype='float64')\nb = nd.arange(3)",
        ("(a.dtype, b.dtype)", ["float64", "float32"], "(np.float64, np.float32)", "(float64, int64)"),
        ("(a.shape, b.shape)", [[2, 3], [3]], "((2, 3), (3,))", "((2, 3), ())"),
    ),
}


@pytest.mark.parametrize("backend", [pytest.param(b, marks=getattr(pytest.mark, b)) for b in PAIRS])
def test_a_pair_of_dtypes_and_of_shapes_on_each_backend(
    runner: Runner, make_card: MakeCard, backend: str
) -> None:
    code, *pairs = PAIRS[backend]
    for kind, (answer, truth, right, wrong) in zip(("dtype", "shape"), pairs, strict=True):
        card, variant = make_card(code, answer, kind=kind, backend=backend)
        result = runner.run(card, variant)
        assert result.ok, result.error
        assert result.truth == truth
        assert judge(card, right, parse_answer(card, right), result).correct is True
        verdict = judge(card, wrong, parse_answer(card, wrong), result)
        assert verdict.correct is False
        assert verdict.expected == format_truth(card, truth)
        with pytest.raises(MalformedAnswer, match="asks for 2"):
            parse_answer(card, "float32" if kind == "dtype" else "(2, 3)")


@pytest.mark.torch
def test_a_tuple_nested_deeper_than_a_pair_is_a_card_error(runner: Runner, make_card: MakeCard) -> None:
    card, variant = make_card("a = torch.ones(2)", "((a.dtype, a.dtype), a.dtype)", kind="dtype")
    result = runner.run(card, variant)
    assert not result.ok and result.error_kind == "card-error"


# The docs' example: an integer tensor cannot require gradients; a float one can.
INT_GRAD = """
x = torch.arange(3, dtype=torch.${dt}).requires_grad_()
(x * x).sum().backward()
"""


def int_grad(make_card: MakeCard, dt: str, **fields: str) -> tuple[object, object]:
    card, _ = make_card(
        INT_GRAD, "x.grad.dtype", kind="dtype", **{"vars.dt": '{ choice = ["int64", "float32"] }', **fields}
    )
    for seed in range(50):
        variant = draw_variant(card, seed)  # type: ignore[arg-type]
        if variant.values["dt"] == dt:
            return concrete(card, variant), variant  # type: ignore[arg-type]
    raise AssertionError(f"no variant drew {dt}")


@pytest.mark.torch
def test_error_on_a_may_raise_card_whose_code_raised(runner: Runner, make_card: MakeCard) -> None:
    card, variant = int_grad(make_card, "int64", may_raise="true")
    result = runner.run(card, variant)  # type: ignore[arg-type]
    assert not result.ok and result.raised and result.raised["type"] == "RuntimeError"
    for text, correct in [
        ("error", True),
        ("it fails", True),
        ("raises RuntimeError", True),
        ("torch.runtimeerror", True),
        ("raises ValueError", False),
        ("float32", False),
        ("int64", False),
    ]:
        verdict = judge(card, text, parse_answer(card, text), result)  # type: ignore[arg-type]
        assert verdict.correct is correct, text
        assert verdict.expected == "raises RuntimeError"


@pytest.mark.torch
def test_error_on_a_may_raise_card_whose_code_ran(runner: Runner, make_card: MakeCard) -> None:
    card, variant = int_grad(make_card, "float32", may_raise="true")
    result = runner.run(card, variant)  # type: ignore[arg-type]
    assert result.ok and result.truth == "float32"
    assert judge(card, "error", parse_answer(card, "error"), result).correct is False  # type: ignore[arg-type]
    assert judge(card, "float32", parse_answer(card, "float32"), result).correct is True  # type: ignore[arg-type]


@pytest.mark.torch
def test_without_may_raise_a_failing_card_is_still_not_graded(runner: Runner, make_card: MakeCard) -> None:
    card, variant = int_grad(make_card, "int64")
    with pytest.raises(MalformedAnswer, match="does not ask whether the code fails"):
        parse_answer(card, "error")  # type: ignore[arg-type]
    result = runner.run(card, variant)  # type: ignore[arg-type]
    verdict = judge(card, "float32", parse_answer(card, "float32"), result)  # type: ignore[arg-type]
    assert verdict.correct is None and "RuntimeError" in (verdict.error or "")


CHECKED = """
[deck]
id = "check"
title = "check"

[[card]]
id = "int-grad.torch"
section = "autograd"
backend = "torch"
kind = "dtype"
{may_raise}
prompt = "What is the dtype of `x.grad`? (type `error` if you think it fails)"
code = '''
x = torch.arange(3, dtype=torch.${{dt}}).requires_grad_()
(x * x).sum().backward()
'''
answer = "x.grad.dtype"
explain = "Only floating point tensors can require gradients."
vars.dt = {{ choice = ["int64", "float32"] }}
"""


@pytest.mark.torch
def test_deck_check_takes_the_raise_of_a_may_raise_card_for_its_truth(tmp_path: Path) -> None:
    from quiz.checking.check import CheckOptions, run_check
    from quiz.runner.pool import RunnerPool

    paths = []
    for name, field in (("inviting", "may_raise = true"), ("plain", "")):
        path = tmp_path / f"{name}.toml"
        path.write_text(CHECKED.format(may_raise=field).replace('id = "check"', f'id = "{name}"'))
        paths.append(str(path))
    pool = RunnerPool(1, device="cpu")
    try:
        options = CheckOptions(variants=6, search=3, backends=("torch",), device="cpu", record=False)
        report = run_check(paths, options, pool=pool)
    finally:
        pool.close()
    flags = {r.card.deck_id: [f.code for f in r.flags] for r in report.results}
    assert flags["inviting"] == []  # int64 raises, float32 runs: both are truths
    assert "raises" in flags["plain"]  # without `may_raise` a raise is a broken card
