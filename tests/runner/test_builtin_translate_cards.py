"""Every built-in translate card on real workers, cheaply: on each variant grading uses (the shown
one and the extra ones drawn from its seed), its reference translation gives what the source code
gives, and the translation a learner typically gets wrong (the other axis convention, a default
dtype, a dropped keepdims) differs in the way named here. Each run is one request to the session's
warm workers: no probes and no shrinking (the grading path itself is tested in test_code_answers);
one near miss per target backend goes through the whole `grade` as a learner's answer would."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from quiz.core.cards import Card, Kind
from quiz.core.decks import load_library
from quiz.core.grading import RunResult, answer_as, tensor_difference
from quiz.core.variables import Variant, concrete, draw_variant
from quiz.runner.client import Runner
from quiz.session.grading import grade, grading_variants, read_answer, run_truth

ROOT = Path(__file__).resolve().parents[2]

# card id → (a typical wrong translation, what the failing variant must say differs). "shape",
# "dtype" and "value" are the words of `tensor_difference`; "error" means the learner's line raised.
WRONG: dict[str, tuple[str, str]] = {
    "permute.tensorflow": ("y = tf.transpose(x)", "shape"),
    "swapaxes.mxnet": ("y = x.transpose()", "shape"),
    "expand.tensorflow": ("y = tf.repeat(x, k)", "shape"),
    "tile.mxnet": ("y = x.repeat(r, axis=0).repeat(c, axis=1)", "value"),
    "unsqueeze.mxnet": ("y = x.unsqueeze(a)", "error"),
    "keras-reshape.torch": ("y = x.reshape(t)", "shape|error"),
    "flatten.tensorflow": ("y = tf.reshape(x, [-1])", "shape"),
    "reshape-codes.torch": ("y = x.reshape(x.shape[0], -1)", "shape"),
    "matmul-transpose-b.torch": ("y = a @ b.T", "error"),
    "bmm-transpose.mxnet": ("y = nd.dot(a, b, transpose_b=True)", "shape"),
    "batch-dot.torch": ("y = (a * b).sum(dim=1)", "shape"),
    "linear-weights.tensorflow": ("dense.set_weights([w, b]); y = dense(x)", "error"),
    "dense-activation.torch": (
        "with torch.no_grad():\n    lin.weight.copy_(k.T)\n    lin.bias.copy_(b)\ny = lin(x)",
        "value",
    ),
    "dense-flatten.mxnet": ("y = nd.FullyConnected(x, w, b, num_hidden=o)", "error"),
    "conv2d-nchw.tensorflow": (
        'y = tf.nn.conv2d(tf.transpose(x, [0, 2, 3, 1]), tf.transpose(w, [2, 3, 1, 0]), strides=1, padding="VALID")',
        "shape",
    ),
    "conv2d-same.torch": (
        'y = F.conv2d(x.permute(0, 3, 1, 2), k.permute(3, 2, 0, 1), padding="same")',
        "shape",
    ),
    "flatten-nhwc.torch": ("y = x.flatten(1)", "value"),
    "pad.tensorflow": ("y = tf.pad(x, [[0, 0], [0, 0], [l, r], [t, b]])", "shape|value"),
    "batchnorm-train.tensorflow": ("y = keras.layers.BatchNormalization()(x, training=True)", "value"),
    "gradient.tensorflow": (
        "with tf.GradientTape() as tape:\n    loss = tf.reduce_sum((x @ w) ** 2)\ng = tape.gradient(loss, x)",
        "error",
    ),
    "backward-head.torch": (
        "x.requires_grad_()\ny = torch.softmax(x, dim=-1) * w\ny.backward()\ng = x.grad",
        "error",
    ),
    "dense-init.torch": ("lin = nn.Linear(i, o)\nnn.init.constant_(lin.weight, c)\ny = lin(x)", "value"),
    "numpy-dtype.torch": ("y = torch.from_numpy(a)", "dtype"),
    "arange-dtype.tensorflow": ("y = tf.range(n) * k", "dtype"),
    "sum-keepdim.tensorflow": ("y = tf.reduce_sum(x, axis=d)", "shape"),
    "softmax.torch": ("y = F.softmax(x)", "value"),
    "std.tensorflow": ("y = tf.math.reduce_std(x, axis=d)", "value"),
    "max.torch": ("y = x.max(dim=d)", "shape"),
    "topk.tensorflow": ("y = tf.math.top_k(x, k).values", "shape"),
    "split.tensorflow": ("parts = tf.split(x, k, axis=d)", "shape"),
    "concat.mxnet": ("y = nd.concat(a, b)", "error"),
    "count-above.mxnet": ("y = (x > t).sum(axis=d)", "dtype"),
    "argmax.torch": ("y = x.argmax(dim=d)", "dtype"),
    "one-hot.torch": ("y = F.one_hot(i, n)", "dtype"),
    "gather.tensorflow": ("y = tf.gather(x, i, axis=1)", "shape"),
    "pick.torch": ("y = x.gather(1, i.unsqueeze(1))", "shape"),
    "take.mxnet": ("y = nd.take(x, i)", "shape"),
    "int-divide.tensorflow": ("y = a / b", "dtype"),
    "int-mean.torch": ("y = x.float().mean(dim=d)", "dtype"),
    "cross-entropy.tensorflow": (
        "y = keras.losses.SparseCategoricalCrossentropy()(labels, logits)",
        "value",
    ),
}

_LIBRARY = load_library([ROOT / "decks"])
CARDS: dict[str, Card] = {
    card.id: card for card in _LIBRARY.cards() if card.deck_id == "translate" and card.kind == Kind.TRANSLATE
}


def _param(card_id: str) -> Any:
    card = CARDS[card_id]
    backends = {card.backend.value} | ({card.source_backend.value} if card.source_backend else set())
    return pytest.param(card_id, marks=[getattr(pytest.mark, b) for b in sorted(backends)], id=card_id)


@pytest.fixture(scope="module", autouse=True)
def _warm(request: pytest.FixtureRequest, runner: Runner) -> None:
    """The selected cards' workers start together, so their framework imports overlap."""
    backends: set[str] = set()
    for item in request.session.items:
        card_id = getattr(item, "callspec", None) and item.callspec.params.get("card_id")
        if item.module is request.module and card_id in CARDS:
            card = CARDS[card_id]
            backends |= {card.backend.value} | ({card.source_backend.value} if card.source_backend else set())
    runner.prestart(sorted(backends))


def translated(runner: Runner, card: Card, variant: Variant, text: str) -> RunResult:
    """`text` as the learner's translation of this variant, run in the card's own backend."""
    read_answer(card, variant, text)  # a well-formed answer (one statement, no import), not a malformed one
    return runner.run(*answer_as(concrete(card, variant), variant, text))


def what_differs(got: RunResult, source: RunResult, card: Card) -> str | None:
    if not got.ok:
        return f"error: {got.error}"
    return tensor_difference(got.truth, source.truth, card.tolerance)


def test_every_translate_card_has_a_wrong_translation_here() -> None:
    assert len(CARDS) >= 20
    assert set(CARDS) == set(WRONG), "add the typical wrong translation of each new card to WRONG"


@pytest.mark.parametrize("card_id", [_param(c) for c in sorted(CARDS)])
def test_the_reference_agrees_on_every_variant_and_the_near_miss_does_not(
    runner: Runner, card_id: str
) -> None:
    card = CARDS[card_id]
    assert card.answer is not None
    variants = [v for v, _ in grading_variants(card, draw_variant(card, 0))]
    assert len(variants) >= 2, "a translation graded on one variant could be a hard-coded answer"
    text, says = WRONG[card_id]
    with ThreadPoolExecutor(1) as pool:  # the source's worker runs while the target's does
        sources = pool.submit(lambda: [run_truth(runner, card, v) for v in variants])
        rights = [translated(runner, card, v, card.answer) for v in variants]
        wrongs = [translated(runner, card, v, text) for v in variants]
    for variant, source, right, near_miss in zip(variants, sources.result(), rights, wrongs, strict=True):
        assert source.ok, (variant.values_json(), source.error)
        assert what_differs(right, source, card) is None, (variant.values_json(), right.error, right.truth)
        # On every variant, not only some: else an unlucky seed's variants could all let it pass.
        wrong = what_differs(near_miss, source, card)
        assert wrong is not None, (variant.values_json(), "the near miss agrees here")
        assert any(word in wrong for word in says.split("|")), (variant.values_json(), wrong)


# One near miss per target backend through the learner's whole path: probes, all variants, the shrink.
END_TO_END = ["numpy-dtype.torch", "int-divide.tensorflow", "count-above.mxnet"]


@pytest.mark.parametrize("card_id", [_param(c) for c in END_TO_END])
def test_a_near_miss_is_graded_incorrect_with_what_differs(runner: Runner, card_id: str) -> None:
    card = CARDS[card_id]
    variant = draw_variant(card, 0)
    text, says = WRONG[card_id]
    verdict = grade(runner, card, variant, read_answer(card, variant, text)).to_dict()
    assert verdict["correct"] is False, verdict
    assert verdict["variants_checked"] >= 2, verdict
    assert any(word in verdict["failing_variant"]["difference"] for word in says.split("|")), verdict
