"""Poison cards: a card that leaves its worker changed never changes a later card's verdict.

Each poison runs on a worker, then, on the same runner (the same worker
unless the runner replaced it), the honest cards it would fool: their
results must be the results on a fresh worker, and the poison must be
reported in the words a learner would read. Each poison is also shown to
bite: run in one card together with an honest card's code (one namespace,
no check in between), the honest answer comes out differently, so a watch
that missed the poison would fail these tests.

The same pairs go through the other ways cards are graded in
`test_poison_paths.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from quiz.core.grading import RunResult
from quiz.runner.client import Runner
from quiz.runner.config import WorkerConfig
from tests.runner.conftest import CHEAP_BACKEND, MakeCard


@dataclass(frozen=True)
class Honest:
    code: str
    answer: str
    kind: str = "value"


@dataclass(frozen=True)
class Poison:
    code: str
    says: str  # what state_changed must mention
    fools: tuple[str, ...]  # honest cards whose truth it would change
    answer: str = "1"


# Cards whose truth does not depend on the framework: the same on every backend.
PROCESS_HONEST = {
    "sum": Honest("x = [1, 2, 3]", "sum(x)"),
    "recursion": Honest("def f(n):\n    return 0 if n == 0 else 1 + f(n - 1)\ny = f(300)", "y"),
    "warn": Honest("import warnings\nwarnings.warn('careful')\ny = 1", "y"),
    "cwd": Honest("import os\ny = sorted(os.listdir('.'))", "y"),
    "env": Honest("import os\ny = os.environ.get('QUIZ_POISON')", "y"),
    "signal": Honest("import signal\ny = signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL", "y", "bool"),
    "npprint": Honest("y = np.array([1.23456])", "str(y)"),
    "nperr": Honest("y = np.array([1.0]) / 0", "y"),
    "nperr-bool": Honest("y = np.array([1.0]) / 0", "bool(np.isinf(y[0]))", "bool"),
    "cwd-count": Honest("import os\ny = len(os.listdir('.'))", "y"),
}
PROCESS_POISONS = {
    "builtins": Poison("import builtins\nbuiltins.sum = lambda *a, **k: 42", "builtins.sum", ("sum",)),
    "recursion-limit": Poison("import sys\nsys.setrecursionlimit(120)", "recursion limit", ("recursion",)),
    "warnings": Poison("import warnings\nwarnings.simplefilter('error')", "warnings filters", ("warn",)),
    "cwd": Poison("import os\nos.chdir('/')", "working directory", ("cwd", "cwd-count")),
    "environ": Poison("import os\nos.environ['QUIZ_POISON'] = '1'", "QUIZ_POISON", ("env",)),
    "signal": Poison(
        "import signal\nsignal.signal(signal.SIGUSR1, lambda *a: None)", "signal handlers", ("signal",)
    ),
    "np-printoptions": Poison("np.set_printoptions(precision=1)", "numpy print options", ("npprint",)),
    "np-seterr": Poison("np.seterr(all='raise')", "numpy error state", ("nperr", "nperr-bool")),
    "quiz-runner": Poison(
        "from quiz.runner.adapters import base\nbase.Adapter.normalise = lambda self, kind, value: 42",
        "quiz.runner.adapters.base.Adapter.normalise",
        ("sum",),
    ),
}

HONEST: dict[str, dict[str, Honest]] = {
    "torch": {
        **PROCESS_HONEST,
        "zeros": Honest("y = torch.zeros(3)", "y.sum()"),
        "grad": Honest("x = torch.ones(2, requires_grad=True)\ny = x * 2", "y.requires_grad", "bool"),
        "print": Honest("x = torch.tensor([1.23456])", "str(x)"),
        "print-len": Honest("x = torch.tensor([1.23456])", "len(str(x))"),
        "add": Honest("y = torch.ones(2).add(torch.ones(2))", "y.sum()"),
        "relu": Honest("y = F.relu(torch.tensor([-1.0, 2.0]))", "y"),
        "dtype": Honest("y = torch.ones(1)", "y.dtype", "dtype"),
    },
    "tensorflow": {
        **PROCESS_HONEST,
        "zeros": Honest("y = tf.zeros(3)", "float(tf.reduce_sum(y))"),
        "eager": Honest(
            "f = tf.function(lambda: tf.constant(tf.executing_eagerly()))\ny = bool(f())", "y", "bool"
        ),
        "floatx": Honest("d = keras.layers.Dense(1)\nd.build((None, 2))", "d.kernel.dtype", "dtype"),
        "policy": Honest("y = keras.layers.Dense(2)(tf.ones((1, 2)))", "y.dtype", "dtype"),
        "add": Honest("y = tf.ones(2) + tf.ones(2)", "y"),
        "numpy-behavior": Honest("y = hasattr(tf.constant([1.0]), 'ravel')", "y", "bool"),
    },
    "mxnet": {
        **PROCESS_HONEST,
        "zeros": Honest("y = nd.zeros((3,))", "y.sum().asscalar()"),
        "record": Honest("x = nd.ones((2,))\nx.attach_grad()\ny = (x * 2).sum()\ny.backward()", "x.grad"),
        "training": Honest("y = autograd.is_training()", "y", "bool"),
        "np-shape": Honest("y = nd.zeros((2, 0))", "y.shape", "shape"),
        "sum-method": Honest("y = nd.ones((2,)).sum()", "y"),
    },
}

POISONS: dict[str, dict[str, Poison]] = {
    "torch": {
        **PROCESS_POISONS,
        "zeros": Poison("torch.zeros = torch.ones", "torch.zeros", ("zeros",)),
        "grad-mode": Poison("torch.set_grad_enabled(False)", "torch grad mode", ("grad",)),
        "printoptions": Poison(
            "torch.set_printoptions(precision=1)", "torch print options", ("print", "print-len")
        ),
        "thread": Poison(
            "import _thread, time\n"
            "def patch():\n"
            "    while True:\n"
            "        torch.zeros = torch.ones\n"
            "        time.sleep(0.001)\n"
            "_thread.start_new_thread(patch, ())\n"
            "time.sleep(0.05)",
            "thread",
            ("zeros",),
        ),
        "class-attribute": Poison(
            "torch.Tensor.add = lambda self, other: self", "torch.Tensor.add", ("add",)
        ),
        "code-swap": Poison(
            "F.relu.__code__ = (lambda input, inplace=False: input).__code__", "relu.__code__", ("relu",)
        ),
        "default-dtype": Poison("torch.set_default_dtype(torch.float64)", "torch default dtype", ("dtype",)),
    },
    "tensorflow": {
        **PROCESS_POISONS,
        "zeros": Poison("tf.zeros = tf.ones", "tensorflow.zeros", ("zeros",)),
        "run-eagerly": Poison("tf.config.run_functions_eagerly(True)", "run_functions_eagerly", ("eager",)),
        "floatx": Poison("keras.config.set_floatx('float64')", "Keras floatx", ("floatx",)),
        "dtype-policy": Poison(
            "keras.config.set_dtype_policy('mixed_float16')", "Keras dtype policy", ("policy",)
        ),
        "class-attribute": Poison("tf.Tensor.__add__ = lambda a, b: a", "__add__", ("add",)),
        "numpy-behavior": Poison(
            "tf.experimental.numpy.experimental_enable_numpy_behavior()",
            "TensorFlow numpy behavior",
            ("numpy-behavior",),
        ),
    },
    "mxnet": {
        **PROCESS_POISONS,
        "zeros": Poison("nd.zeros = nd.ones", "mxnet.ndarray.zeros", ("zeros",)),
        "recording": Poison("autograd.set_recording(True)", "MXNet autograd recording", ("record",)),
        "training": Poison("autograd.set_training(True)", "MXNet autograd training mode", ("training",)),
        "np-shape": Poison("mx.util.set_np_shape(True)", "MXNet numpy shape semantics", ("np-shape",)),
        "class-attribute": Poison(
            "nd.NDArray.sum = lambda self, *a, **k: self", "mxnet.ndarray.NDArray.sum", ("sum-method",)
        ),
    },
}

# The process poisons are caught by `process_policy()` and the base adapter's numpy settings, the same
# code on every backend (each adapter only adds to that policy): they run on one backend, the one whose
# worker is cheapest to replace (MXNet; torch where MXNet is not installed, so that they always run).
# The framework poisons keep their own backend.
PROCESS_BACKEND = CHEAP_BACKEND

PAIRS = [
    pytest.param(backend, name, marks=getattr(pytest.mark, backend), id=f"{backend}-{name}")
    for backend, poisons in POISONS.items()
    for name in poisons
    if name not in PROCESS_POISONS or backend == PROCESS_BACKEND
]
PAIR_KEYS = [tuple(p.values) for p in PAIRS]


def outcome(r: RunResult) -> tuple[Any, ...]:
    """What decides a verdict: the truth, or that there was none and why."""
    return (r.ok, r.truth, r.error_kind, (r.error or "").split(":")[0])


@pytest.fixture(scope="module")
def runners() -> Iterator[dict[str, Runner]]:
    made: dict[str, Runner] = {}
    yield made
    for r in made.values():
        r.close()


@pytest.fixture(scope="module")
def fresh() -> dict[tuple[str, str], tuple[Any, ...]]:
    """The honest cards' outcomes on a worker no poison ever ran on (filled in per backend)."""
    return {}


def honest_card(make_card: MakeCard, backend: str, name: str) -> Any:
    h = HONEST[backend][name]
    return make_card(h.code, h.answer, kind=h.kind, backend=backend)


def runner_for(
    runners: dict[str, Runner],
    fresh: dict[tuple[str, str], tuple[Any, ...]],
    make_card: MakeCard,
    backend: str,
) -> Runner:
    """The module's runner for `backend`. Its first worker runs the honest cards this module's poisons
    would fool, before any poison runs there: their outcomes are those of a worker no poison touched
    (one worker start per backend instead of a second, honest-only runner)."""
    if backend not in runners:
        runner = runners[backend] = Runner(WorkerConfig(), device="cpu")
        fooled = dict.fromkeys(n for b, name in PAIR_KEYS if b == backend for n in POISONS[b][name].fools)
        for name in fooled:
            r = runner.run(*honest_card(make_card, backend, name))
            assert not r.state_changed, f"the honest card {name} leaves state changed: {r.state_changed}"
            fresh[(backend, name)] = outcome(r)
        assert runner.worker(backend).restarts == 0  # the outcomes all came from that first worker
    return runners[backend]


@pytest.mark.parametrize(("backend", "name"), PAIRS)
def test_a_poison_is_caught_and_the_next_honest_card_gets_its_fresh_verdict(
    runners: dict[str, Runner],
    fresh: dict[tuple[str, str], tuple[Any, ...]],
    make_card: MakeCard,
    backend: str,
    name: str,
) -> None:
    """Poison and honest card in one card first: what the honest card would see if the watch missed
    the poison (so the poison matters, and this test can fail); then the honest card alone, on the
    same runner, gets the verdict a worker no poison touched gives. One taint per poison: each costs
    a worker restart, the suite's largest single cost."""
    poison = POISONS[backend][name]
    runner = runner_for(runners, fresh, make_card, backend)
    for honest_name in poison.fools:
        honest = HONEST[backend][honest_name]
        combined = f"{poison.code}\n{honest.code}"
        card, variant = make_card(combined, honest.answer, kind=honest.kind, backend=backend)
        poisoned = runner.run(card, variant)
        assert any(poison.says in change for change in poisoned.state_changed), poisoned.state_changed
        expected = fresh[(backend, honest_name)]
        assert outcome(poisoned) != expected, honest_name
        after = runner.run(*honest_card(make_card, backend, honest_name))
        assert outcome(after) == expected, honest_name
        assert not after.state_changed


@pytest.fixture
def torch_runner(
    runners: dict[str, Runner], fresh: dict[tuple[str, str], tuple[Any, ...]], make_card: MakeCard
) -> Runner:
    """The module's torch runner, for a test that needs a clean warm worker, not a new one."""
    return runner_for(runners, fresh, make_card, "torch")


@pytest.fixture
def process_runner(
    runners: dict[str, Runner], fresh: dict[tuple[str, str], tuple[Any, ...]], make_card: MakeCard
) -> Runner:
    """The module's runner for PROCESS_BACKEND, for the attacks on the watch itself below: they patch
    the interpreter and quiz.runner, whatever the framework, and each gets its worker replaced. The
    runner replaces any worker a card tainted (what these tests, and the canary after them, check), so
    each test still starts on a clean worker without paying for a runner of its own."""
    return runner_for(runners, fresh, make_card, PROCESS_BACKEND)


# A framework function a broken check must still see patched: (patch, honest code, its answer).
ZEROS = {
    "torch": ("torch.zeros = torch.ones", "y = torch.zeros(3)", "y.sum()"),
    "mxnet": ("nd.zeros = nd.ones", "y = nd.zeros((3,))", "y.sum().asscalar()"),
}


@getattr(pytest.mark, PROCESS_BACKEND)
def test_a_card_that_patches_the_state_check_itself_is_still_caught(
    process_runner: Runner, make_card: MakeCard
) -> None:
    code = (
        "import quiz.runner.pristine as p, quiz.runner.worker as w\n"
        "from quiz.runner.pristine import Findings\n"
        "p.StateWatch.check = lambda self: Findings()\n"
        "p._diff = lambda now, snap: ([], [])\n"
        "p._Gather.read = lambda self: self.mem[self.idx] * 0\n"
        "p.Findings.recycle = property(lambda self: None)\n"
        "w.Worker._tidy = lambda self: None\n"
        "import builtins\n"
        "builtins.sum = lambda *a, **k: 42"
    )
    result = process_runner.run(*make_card(code, "1", backend=PROCESS_BACKEND))
    assert any("builtins.sum" in c for c in result.state_changed), result.state_changed
    assert any("quiz.runner" in c for c in result.state_changed), result.state_changed
    after = process_runner.run(*make_card("x = [1, 2]", "sum(x)", backend=PROCESS_BACKEND))
    assert after.ok and after.truth == 3 and not after.state_changed


@pytest.mark.torch
def test_state_the_worker_puts_back_keeps_the_same_worker(torch_runner: Runner, make_card: MakeCard) -> None:
    """Known state is reset in place: no restart (and no lost warm-up) for a print option."""
    torch_runner.run(*make_card("x = 1", "x"))
    pid = torch_runner.worker("torch").host_pids()[0]
    result = torch_runner.run(
        *make_card("torch.set_printoptions(precision=1)", "str(torch.tensor([1.23456]))")
    )
    assert result.truth == "tensor([1.2])"
    assert result.state_changed == ("leaves torch print options changed",)
    assert torch_runner.worker("torch").host_pids()[0] == pid
    after = torch_runner.run(*make_card("x = torch.tensor([1.23456])", "str(x)"))
    assert after.truth == "tensor([1.2346])" and not after.state_changed


@getattr(pytest.mark, PROCESS_BACKEND)
def test_importing_a_module_the_worker_had_not_loaded_is_not_the_cards_fault(
    process_runner: Runner, make_card: MakeCard
) -> None:
    worker = process_runner.worker(PROCESS_BACKEND)
    process_runner.run(*make_card("x = 1", "x", backend=PROCESS_BACKEND))
    pid = worker.host_pids()[0]
    card = make_card(
        "import graphlib",
        "list(graphlib.TopologicalSorter({1: [2]}).static_order())",
        backend=PROCESS_BACKEND,
    )
    result = process_runner.run(*card)
    assert result.ok and result.truth == [2, 1]
    assert not result.state_changed  # not reported as the card's doing...
    assert worker.host_pids()[0] != pid  # ...but the worker was replaced


@getattr(pytest.mark, PROCESS_BACKEND)
def test_a_card_that_breaks_the_builtins_the_check_uses_still_loses_its_worker(
    process_runner: Runner, make_card: MakeCard
) -> None:
    worker = process_runner.worker(PROCESS_BACKEND)
    patch, honest, answer = ZEROS[PROCESS_BACKEND]
    process_runner.run(*make_card("x = 1", "x", backend=PROCESS_BACKEND))
    pid = worker.host_pids()[0]
    code = (
        "import builtins\n"
        "builtins.any = lambda it: False\n"
        "builtins.set = lambda *a: frozenset()\n"
        "builtins.sorted = lambda it, **k: []\n"
        f"{patch}"
    )
    process_runner.run(*make_card(code, "1", backend=PROCESS_BACKEND))
    assert worker.host_pids()[0] != pid
    after = process_runner.run(*make_card(honest, answer, backend=PROCESS_BACKEND))
    assert after.ok and after.truth == 0.0 and not after.state_changed
