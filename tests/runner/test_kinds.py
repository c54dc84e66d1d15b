"""Every card kind on every backend, through a real warm worker: the truth the worker normalises, graded as a learner would."""

from __future__ import annotations

from typing import Any

import pytest

from quiz.core.answers import parse_answer
from quiz.core.grading import judge
from quiz.runner.client import Runner
from quiz.session.grading import grade, read_answer
from tests.runner.conftest import MakeCard, expected_device

# backend → kind → (code, answer, expected truth, what a learner types that is right, and wrong)
CASES: dict[str, dict[str, tuple[str, str | None, Any, str, str]]] = {
    "torch": {
        "shape": (
            "y = torch.zeros(2, 1, 3).expand(2, 4, 3)",
            "y.shape",
            [2, 4, 3],
            "torch.Size([2, 4, 3])",
            "2x1x3",
        ),
        "dtype": ("y = torch.arange(3) / 2", "y.dtype", "float32", "torch.float32", "int64"),
        "bool": ("x = torch.zeros(2, 3)\ny = x.t()", "y.is_contiguous()", False, "no", "yes"),
        "grad_is_none": (
            "x = torch.ones(2, requires_grad=True)\ny = (x * 2).detach().sum()",
            "x.grad",
            True,
            "none",
            "not none",
        ),
        "value": ("y = torch.tensor([[1., 2.], [3., 4.]]).sum(0)", "y", [4.0, 6.0], "[4, 6]", "[3, 7]"),
        "raises": ("x = torch.zeros(2, 3)\nx.view(3, 3)", None, "RuntimeError", "RuntimeError", "ValueError"),
        "choice": (
            "x = torch.zeros(2, 3)\ny = x.t()",
            '"shares memory" if y.data_ptr() == x.data_ptr() else "copies"',
            "shares memory",
            "a",
            "b",
        ),
        "code": (
            "x = torch.arange(6)",
            "x.view(2, 3)",
            [[0, 1, 2], [3, 4, 5]],
            "x.reshape(2, 3)",
            "x.view(3, 2)",
        ),
    },
    "tensorflow": {
        "shape": ("y = tf.reshape(tf.range(6), (3, 2))", "y.shape", [3, 2], "TensorShape([3, 2])", "(2, 3)"),
        "dtype": ("y = tf.constant([1, 2]) / 2", "y.dtype", "float64", "tf.float64", "float32"),
        "bool": ("v = tf.Variable(1.0)", "v.trainable", True, "yes", "no"),
        "grad_is_none": (
            "x = tf.Variable(2.0)\nz = tf.Variable(1.0)\nwith tf.GradientTape() as tape:\n    y = x * x\ng = tape.gradient(y, z)",
            "g",
            True,
            "none",
            "not none",
        ),
        "value": ("y = tf.reduce_sum(tf.ones((2, 3)), axis=0)", "y", [2.0, 2.0, 2.0], "[2, 2, 2]", "[3, 3]"),
        "raises": (
            "a = tf.ones((2, 3))\nb = tf.ones((2, 3))\ntf.matmul(a, b)",
            None,
            "InvalidArgumentError",
            "tf.errors.InvalidArgumentError",
            "ValueError",
        ),
        "choice": (
            "layer = keras.layers.Dense(4)\nlayer.build((None, 3))",
            '"(3, 4)" if tuple(layer.kernel.shape) == (3, 4) else "(4, 3)"',
            "(3, 4)",
            "a",
            "b",
        ),
        "code": (
            "x = tf.range(6)",
            "tf.reshape(x, (2, 3))",
            [[0, 1, 2], [3, 4, 5]],
            "tf.reshape(x, (2, -1))",
            "x",
        ),
    },
    "mxnet": {
        "shape": ("y = nd.zeros((2, 3)).T", "y.shape", [3, 2], "(3, 2)", "(2, 3)"),
        "dtype": ("y = nd.array([1, 2])", "y.dtype", "float32", "np.float32", "int64"),
        "bool": ("x = nd.ones((2,))\nx.attach_grad()", "x.grad is not None", True, "yes", "no"),
        "grad_is_none": ("x = nd.ones((2,))", "x.grad", True, "none", "not none"),
        "value": ("y = nd.array([[1, 2], [3, 4]]).sum(axis=1)", "y", [3.0, 7.0], "[3, 7]", "[4, 6]"),
        "raises": (
            "x = nd.ones((2, 3))\nnd.dot(x, x).wait_to_read()",
            None,
            "MXNetError",
            "MXNetError",
            "ValueError",
        ),
        "choice": (
            "net = nn.Dense(4)\nnet.initialize()\nnet(nd.ones((1, 3)))",
            "str(net.weight.shape)",
            "(4, 3)",
            "b",
            "a",
        ),
        "code": ("x = nd.arange(6)", "x.reshape((2, 3))", [[0, 1, 2], [3, 4, 5]], "x.reshape((2, -1))", "x"),
    },
}
CHOICES = {
    "torch": '["shares memory", "copies"]',
    "tensorflow": '["(3, 4)", "(4, 3)"]',
    "mxnet": '["(3, 4)", "(4, 3)"]',
}
PARAMS = [
    pytest.param(backend, kind, marks=getattr(pytest.mark, backend))
    for backend, kinds in CASES.items()
    for kind in kinds
]


@pytest.mark.parametrize(("backend", "kind"), PARAMS)
def test_kind_on_backend(runner: Runner, make_card: MakeCard, backend: str, kind: str) -> None:
    code, answer, expected, right, wrong = CASES[backend][kind]
    extra = {"choices": CHOICES[backend]} if kind == "choice" else {}
    device = expected_device(runner, backend)
    card, variant = make_card(code, answer, kind=kind, backend=backend, **extra)
    result = runner.run(card, variant)
    assert result.ok, result.error
    assert result.backend == backend and result.device == device and result.version
    if kind == "raises":
        assert result.truth["type"] == expected
    else:
        assert result.truth == expected
    if kind == "code":  # a code answer runs apart from the reference (quiz.session.grading)
        assert grade(runner, card, variant, read_answer(card, variant, right)).correct is True
        assert grade(runner, card, variant, read_answer(card, variant, wrong)).correct is False
        return
    assert judge(card, right, parse_answer(card, right), result).correct is True
    bad_result = runner.run(card, variant)
    assert judge(card, wrong, parse_answer(card, wrong), bad_result).correct is False


@pytest.mark.torch
def test_bool_card_whose_answer_is_not_one_truth_value_is_a_card_error(
    runner: Runner, make_card: MakeCard
) -> None:
    card, variant = make_card("x = torch.zeros(3)", "x == 0", kind="bool")
    result = runner.run(card, variant)
    assert not result.ok and result.error_kind == "card-error"
    assert "one truth value" in (result.error or "")


@pytest.mark.torch
def test_a_learners_code_line_that_fails_is_wrong_not_a_crash(runner: Runner, make_card: MakeCard) -> None:
    card, variant = make_card("x = torch.arange(6)", "x.view(2, 3)", kind="code")
    verdict = grade(runner, card, variant, read_answer(card, variant, "x.view(4, 4)"))
    assert verdict.correct is False and "RuntimeError" in verdict.extra["given_error"]


@pytest.mark.torch
def test_system_exit_from_card_code_is_an_exception_like_any_other(
    runner: Runner, make_card: MakeCard
) -> None:
    pid_before = runner.worker("torch").host_pids()
    for code in ("raise SystemExit(2)", "import sys\nsys.exit('bye')"):
        card, variant = make_card(code, "1")
        result = runner.run(card, variant)
        assert not result.ok and result.error_kind == "card-error"
        assert (result.error or "").startswith("SystemExit")
    raising, variant = make_card("import sys\nsys.exit(3)", kind="raises")
    result = runner.run(raising, variant)
    assert result.ok and result.truth["type"] == "SystemExit"
    if pid_before:
        assert runner.worker("torch").host_pids()[0] == pid_before[0]  # the same worker carried on


@pytest.mark.torch
def test_output_is_captured_and_capped(runner: Runner, make_card: MakeCard) -> None:
    card, variant = make_card("print('hello')\nprint('x' * 100_000)", "1")
    result = runner.run(card, variant)
    assert result.ok and result.stdout.startswith("hello\n")
    assert len(result.stdout) < 5000 and "more characters" in result.stdout


@pytest.mark.mxnet
def test_an_mxnet_error_reads_as_its_reason_not_its_cpp_traceback(
    runner: Runner, make_card: MakeCard
) -> None:
    card, variant = make_card("x = nd.ones((2, 3))\ny = nd.dot(x, x)", "y", backend="mxnet")
    result = runner.run(card, variant)
    assert not result.ok and (result.error or "").startswith("MXNetError: Check failed")
    assert "(line 2)" in (result.error or "")


@pytest.mark.torch
def test_the_worker_never_reads_the_terminal(runner: Runner, make_card: MakeCard) -> None:
    card, variant = make_card("x = input('your name? ')", "x")
    result = runner.run(card, variant)
    assert not result.ok and (result.error or "").startswith("EOFError")
