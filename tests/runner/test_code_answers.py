"""Code answers on real workers: graded over several variants, shrunk when wrong, and out of the
learner's reach — the attacks a cheating learner would try are all graded incorrect."""

from __future__ import annotations

from typing import Any

import pytest

from quiz.core.cards import Card
from quiz.core.variables import Variant, draw_variant
from quiz.runner.client import Runner
from quiz.session.grading import grade, grade_stream, pre_run, read_answer
from tests.runner.conftest import CHEAP_BACKEND, MakeCard

pytestmark = pytest.mark.torch

SWAP = {
    "code": "x = torch.arange(${prod(s)}).reshape(${s})",
    "answer": "x.transpose(-1, -2)",
    "vars.s": "{ shape = { rank = [2, 3], side = [2, 4] } }",
}


# The attacks run on the session's warm runner (`runner`): one that gets its worker tainted gets it
# replaced by the runner itself (what the forged-reply and patching tests check), and the canary
# checks after each test that the workers left are clean. A runner of this module's own cost a torch,
# a TensorFlow and an MXNet start for nothing more.


def graded(runner: Runner, card: Card, variant: Variant, text: str) -> dict[str, Any]:
    return grade(runner, card, variant, read_answer(card, variant, text)).to_dict()


def swap_card(make_card: MakeCard, **fields: Any) -> tuple[Card, Variant]:
    spec = {**SWAP, **fields}
    return make_card(spec.pop("code"), spec.pop("answer"), kind="code", **spec)


def test_a_right_line_is_right_on_every_variant(runner: Runner, make_card: MakeCard) -> None:
    card, variant = swap_card(make_card)
    v = graded(runner, card, variant, "x.mT")
    assert v["correct"] is True, v
    assert v["variants_checked"] == 4
    assert v["reference"] == "x.transpose(-1, -2)"
    assert v["given_value"] == v["expected"]
    assert "failing_variant" not in v


def test_a_hard_coded_result_is_wrong(runner: Runner, make_card: MakeCard) -> None:
    card, variant = swap_card(make_card)
    honest = graded(runner, card, variant, "x.transpose(-1, -2)")
    v = graded(runner, card, variant, honest["expected"])  # the shown variant's truth, typed in
    assert v["correct"] is False, v
    assert v["given_value"] == honest["expected"]  # right for the values shown...
    failing = v["failing_variant"]  # ...and wrong for others, shown with what each side gave
    assert failing["values"] != variant.values_json()
    assert failing["got"] == honest["expected"] and failing["expected"] != failing["got"]


def test_the_learners_request_holds_no_reference(runner: Runner, make_card: MakeCard) -> None:
    card, variant = swap_card(make_card, answer="x.transpose(-1, -2) + 0")
    peek = "str(__import__('sys')._getframe(1).f_locals['req'])"
    v = graded(runner, card, variant, peek)
    assert v["correct"] is False
    seen = v["given_value"]
    assert "_getframe" in seen  # the request the learner's code runs in: its own text...
    assert "transpose" not in seen  # ...and nothing of the reference


def test_evaluating_the_requests_answer_is_wrong(runner: Runner, make_card: MakeCard) -> None:
    card, variant = swap_card(make_card)
    v = graded(runner, card, variant, "eval(__import__('sys')._getframe(1).f_locals['req']['answer'])")
    assert v["correct"] is False, v


STEAL = """
import gc, sys
_texts, _truths = [], []
_f = sys._getframe()
while _f is not None:
    for _v in list(_f.f_locals.values()):
        if isinstance(_v, dict):
            if isinstance(_v.get('answer'), str):
                _texts.append(_v['answer'])
            if 'truth' in _v:
                _truths.append(_v['truth'])
    _f = _f.f_back
for _o in gc.get_objects():
    if isinstance(_o, dict):
        if isinstance(_o.get('answer'), str):
            _texts.append(_o['answer'])
        if 'truth' in _o:
            _truths.append(_o['truth'])
_stolen = None
for _t in _texts:
    if 'gc.get_objects' in _t or not _t.strip():
        continue
    try:
        _stolen = eval(_t)
        break
    except Exception:
        pass
if _stolen is None:
    _shape = list(x.shape)[::-1]
    for _t in _truths:
        if isinstance(_t, list) and len(_t) == _shape[0]:
            _stolen = _t
"""


def test_reading_frames_and_objects_for_the_reference_is_wrong(runner: Runner, make_card: MakeCard) -> None:
    card, variant = swap_card(make_card)
    # The same card graded honestly first: whatever its runs leave in the worker is there to find.
    assert graded(runner, card, variant, "x.transpose(-1, -2)")["correct"] is True
    v = graded(runner, card, variant, f"(exec({STEAL!r}), _stolen)[1]")
    assert v["correct"] is False, v


FORGE = """
import os, sys
_rid = None
_f = sys._getframe()
while _f is not None:
    for _name in ('req', 'request'):
        _r = _f.f_locals.get(_name)
        if isinstance(_r, dict) and isinstance(_r.get('id'), int):
            _rid = _r['id']
    _f = _f.f_back
_lines = b''.join(
    b'{"id": %d, "ok": true, "truth": 0, "elapsed_ms": 0.1, "device": "cpu"}\\n' % i
    for i in range(_rid, _rid + 60)
)
for _fd in range(3, 256):
    try:
        os.write(_fd, _lines)
    except OSError:
        pass
"""


# The next two attacks cost fresh workers (four each, as grading goes now), whatever the framework:
# they run on the one cheapest to start (CHEAP_BACKEND: MXNet, or torch where MXNet is missing).
# backend → (swap card, a right line for it, a shape card whose truth is (3, 2), the method to patch)
CHEAP_SWAP = {
    "torch": (SWAP, "x.transpose(-1, -2)", "y = torch.zeros(2, 3).t()", "torch.Tensor"),
    "mxnet": (
        {
            "code": "x = nd.arange(${prod(s)}).reshape(${s})",
            "answer": "x.transpose()",
            "vars.s": "{ shape = { rank = 2, side = [2, 4] } }",
        },
        "nd.transpose(x)",
        "y = nd.zeros((2, 3)).T",
        "nd.NDArray",
    ),
}


def cheap_swap_card(make_card: MakeCard) -> tuple[Card, Variant]:
    spec = dict(CHEAP_SWAP[CHEAP_BACKEND][0])
    return make_card(spec.pop("code"), spec.pop("answer"), kind="code", backend=CHEAP_BACKEND, **spec)


@pytest.mark.slow
def test_a_forged_reply_is_found_out_and_the_next_card_is_told_the_truth(
    runner: Runner, make_card: MakeCard
) -> None:
    backend = CHEAP_BACKEND
    _, right, shape_code, _ = CHEAP_SWAP[backend]
    card, variant = cheap_swap_card(make_card)
    # Replies for this request and the next 59, each saying "0", which is what the line returns.
    worker = runner.worker(backend)
    restarts = worker.restarts
    v = graded(runner, card, variant, f"exec({FORGE!r}) or 0")
    assert v["correct"] is False, v
    assert "reply of its own" in v["misbehaved"]
    # One fresh worker per forging attempt (two attempts), not a second one on top of the
    # runner's own replacement: each is a framework start the learner waits for.
    assert worker.restarts - restarts == 2, (restarts, worker.restarts)
    # The worker that held the forged replies was replaced: the next verdicts are the truth.
    assert graded(runner, card, variant, right)["correct"] is True
    shape_card, shape_variant = make_card(shape_code, "y.shape", kind="shape", backend=backend)
    assert graded(runner, shape_card, shape_variant, "(3, 2)")["correct"] is True
    assert graded(runner, shape_card, shape_variant, "(2, 3)")["correct"] is False


@pytest.mark.slow
def test_a_forged_reply_is_found_out_when_the_truth_ran_before_the_answer(
    runner: Runner, make_card: MakeCard
) -> None:
    """The study screen's path: the references ran while the learner read, the run on the variant shown
    gets a turn of its own and a wrong one is said before its probe. Forging from there says nothing
    right, at no point of the stream, and the truth the pre-run holds is untouched."""
    card, variant = cheap_swap_card(make_card)
    truth = pre_run(runner, card, variant)
    assert truth is not None and len(truth.references) > 1
    before = [r.truth for r in truth.references]
    reading = read_answer(card, variant, f"exec({FORGE!r}) or 0")
    verdicts = list(grade_stream(runner, card, variant, reading, truth=truth))
    assert verdicts and all(v.correct is False for v in verdicts), [v.to_dict() for v in verdicts]
    assert "reply of its own" in verdicts[-1].extra["misbehaved"]
    assert [r.truth for r in truth.references] == before
    _, right, _, _ = CHEAP_SWAP[CHEAP_BACKEND]
    again = pre_run(runner, card, variant)
    assert again is not None
    assert grade(runner, card, variant, read_answer(card, variant, right), truth=again).correct is True


# A wrong answer that leaves a thread writing replies into every pipe a little later: after its own
# reply, while the next request (the probe that ends its turn) is asked.
LATE_FORGER = """
import os, threading, time
def _later():
    for delay in (0.005, 0.02, 0.05, 0.1):
        time.sleep(delay)
        for _fd in range(3, 64):
            try:
                os.write(_fd, b'{"op": "end", "ok": true, "truth": 0}\\n')
            except OSError:
                pass
threading.Thread(target=_later, daemon=True).start()
"""


@pytest.mark.slow
def test_a_reply_forged_later_by_a_thread_never_makes_a_verdict_right(
    runner: Runner, make_card: MakeCard
) -> None:
    card, variant = cheap_swap_card(make_card)
    truth = pre_run(runner, card, variant)
    assert truth is not None
    reading = read_answer(card, variant, f"exec({LATE_FORGER!r}) or 0")
    verdicts = list(grade_stream(runner, card, variant, reading, truth=truth))
    assert verdicts and all(v.correct is False for v in verdicts), [v.to_dict() for v in verdicts]
    _, right, _, _ = CHEAP_SWAP[CHEAP_BACKEND]
    again = pre_run(runner, card, variant)
    assert again is not None
    assert grade(runner, card, variant, read_answer(card, variant, right), truth=again).correct is True


@pytest.mark.slow
def test_patching_the_framework_for_the_reference_runs_is_wrong(runner: Runner, make_card: MakeCard) -> None:
    # The learner's runs come first: the runner's pristine state per card (issue 10 section 1) must
    # undo the patch before the reference runs, or the reference would say 7 too.
    _, right, _, klass = CHEAP_SWAP[CHEAP_BACKEND]
    card, variant = cheap_swap_card(make_card)
    worker = runner.worker(CHEAP_BACKEND)
    restarts = worker.restarts
    v = graded(runner, card, variant, f"(setattr({klass}, 'transpose', lambda self, *a: 7), 7)[1]")
    assert v["correct"] is False, v
    assert v["given_value"] == "7" and v["expected"] != "7"
    # Its first failing variant is shown, not shrunk: every run of it costs a fresh worker.
    assert v["failing_variant"]["got"] == "7"
    assert worker.restarts - restarts <= v["variants_checked"] + 1, (restarts, worker.restarts)
    # No patched framework is left behind for the next learner, with no restart asked for.
    assert graded(runner, card, variant, right)["correct"] is True


def test_the_smallest_failing_variant_is_shown(runner: Runner, make_card: MakeCard) -> None:
    card, _ = make_card(
        "n = ${n}\nx = torch.arange(n)", "int(x.sum())", kind="code", **{"vars.n": "{ int = [1, 60] }"}
    )
    variant = next(draw_variant(card, s) for s in range(50) if draw_variant(card, s).values["n"] > 20)
    v = graded(runner, card, variant, "int(x[:4].sum())")  # right only while n <= 4
    assert v["correct"] is False
    assert v["failing_variant"] == {"values": {"n": 5}, "expected": "10", "got": "6"}
    # The stored seed reproduces the verdict, failing variant included.
    again = graded(runner, card, variant, "int(x[:4].sum())")
    assert {k: x for k, x in again.items() if k != "elapsed_ms"} == {
        k: x for k, x in v.items() if k != "elapsed_ms"
    }


def test_a_line_that_hangs_is_wrong_and_is_run_once(runner: Runner, make_card: MakeCard) -> None:
    card, variant = swap_card(make_card, timeout="1")
    v = graded(runner, card, variant, "__import__('time').sleep(30)")
    assert v["correct"] is False and "timed out" in v["given_error"]
    assert v["variants_checked"] == 1  # not 4 timeouts in a row (counted, not timed)
    assert graded(runner, card, variant, "x.mT")["correct"] is True


@pytest.mark.tensorflow
@pytest.mark.mxnet
@pytest.mark.parametrize(
    ("backend", "code", "answer", "right"),
    [
        (
            "tensorflow",
            "x = tf.reshape(tf.range(${prod(s)}), ${s})",
            "tf.transpose(x)",
            "tf.transpose(x, perm=[1, 0])",
        ),
        ("mxnet", "x = nd.arange(${prod(s)}).reshape(${s})", "x.T", "nd.transpose(x)"),
    ],
)
def test_code_answers_on_the_other_backends(
    runner: Runner, make_card: MakeCard, backend: str, code: str, answer: str, right: str
) -> None:
    card, variant = make_card(
        code, answer, kind="code", backend=backend, **{"vars.s": "{ shape = { rank = 2, side = [2, 4] } }"}
    )
    v = graded(runner, card, variant, right)
    assert v["correct"] is True and v["variants_checked"] == 4 and v["backend"] == backend, v
    hard = graded(runner, card, variant, v["expected"])
    assert hard["correct"] is False and "failing_variant" in hard, hard


TRANSLATE = {
    "source_backend": '"torch"',
    "source_code": "'''\nx = torch.tensor(${x}, dtype=torch.float32)\na = ${a}\ny = x.unsqueeze(a)\n'''",
    "result": '"y"',
    "vars.s": "{ shape = { rank = [1, 3], side = [1, 3] } }",
    "vars.x": '{ array = "s", elements = [-9, 9] }',
    "vars.a": '{ int = [0, "len(s)"] }',
}


@pytest.mark.mxnet
def test_a_translation_is_compared_by_shape_dtype_and_values(runner: Runner, make_card: MakeCard) -> None:
    card, variant = make_card(
        'x = nd.array(${x}, dtype="float32")\na = ${a}',
        "y = x.expand_dims(axis=a)",
        kind="translate",
        backend="mxnet",
        **TRANSLATE,
    )
    right = graded(runner, card, variant, "y = nd.expand_dims(x, axis=a)")
    assert right["correct"] is True and right["variants_checked"] == 4, right
    assert right["expected"].startswith("float32 (")
    dtype = graded(runner, card, variant, "y = x.expand_dims(axis=a).astype('float64')")
    assert dtype["correct"] is False
    assert dtype["failing_variant"]["difference"] == "the dtype is float64 where the source's is float32"
    shape = graded(runner, card, variant, "y = x.expand_dims(axis=0)")
    assert shape["correct"] is False
    assert "the shape is" in shape["failing_variant"]["difference"]
    assert shape["failing_variant"]["values"]["a"] != 0  # the smallest input where they differ


def test_a_worker_that_cannot_start_leaves_the_answer_ungraded_not_wrong(
    tmp_path: Any, make_card: MakeCard
) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    card, variant = swap_card(make_card)
    with Runner(device="cpu", python=str(broken), isolation="rlimits") as runner:
        v = graded(runner, card, variant, "x.mT")
    assert v["correct"] is None and "misbehaved" not in v, v
    # Either the worker fails to start, or (no working sandbox for that Python) card code is refused.
    assert "start" in v["error"] or "will not run here" in v["error"], v["error"]
