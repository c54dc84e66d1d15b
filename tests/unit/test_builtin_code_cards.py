"""The write-code deck, graded on real workers, card by card (#12 §4).

For every `code` card in decks/write-code.toml: its reference answer is graded correct over all
the variants an answer is graded on; a line hard-coded for the variant shown (that variant's
numbers or result copied in) is right on the shown variant and wrong on another one; and the
classic near miss the card teaches (the mistake its explanation warns about) is graded wrong.
All of it through `quiz.session.grading.grade`, the path the study screen and `quiz grade` use,
on the session's one warm runner. By default a representative subset per backend is graded
(REPRESENTATIVE); QUIZ_TEST_ALL_CODE_CARDS=1 grades every card. Every card's wrong answers are
still required here, so the full run stays complete.
"""

from __future__ import annotations

import ast
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from quiz.core.cards import Card, Kind
from quiz.core.variables import Variant, draw_variant
from quiz.session import grading
from quiz.session.grading import grade, read_answer

DECK = Path(__file__).resolve().parents[2] / "decks" / "write-code.toml"
SEED = 0

# Per card: (hard-coded, near miss).
# hard-coded: what a learner who copies the shown variant's numbers would type, a `str.format`
#   template filled with the variant's values (`{s}`, `{x}`...), `{expected}` (the reference's
#   result as shown) and `{truth}` (that result as data). `{expected}` alone: for an expression
#   card, typing the shown result. It must be right on the shown variant and fail on another.
# near miss: the mistake the card's explanation names, typed literally; it must be graded wrong.
WRONG: dict[str, tuple[str, str]] = {
    # variable-tensor
    "numpy-of-tracked.torch": ("a = np.array({x})", "a = x.numpy()"),
    "numpy-of-tracked.tensorflow": ("a = np.array({x})", "a = v.value()"),
    "numpy-of-tracked.mxnet": ("a = np.array({x})", "a = x.numpy()"),
    "tracked-weight.torch": (
        "w = torch.full({s}, {c}, requires_grad=True)",
        "w = torch.ones(s, requires_grad=True) * c",
    ),
    "tracked-weight.tensorflow": ("w = tf.Variable(tf.fill({s}, {c}))", "w = tf.Variable(tf.ones(s)) * c"),
    "tracked-weight.mxnet": ("w = nd.full({s}, {c}); w.attach_grad()", "w = nd.full(s, c)"),
    # autograd
    "record-grad.torch": ("x.requires_grad_(); y = (x * torch.tensor({expected})).sum()", "y = f(x)"),
    "record-grad.tensorflow": (
        "with tf.GradientTape() as tape: tape.watch(x); y = tf.reduce_sum(x * tf.constant({expected}))",
        "with tf.GradientTape() as tape: y = f(x)",
    ),
    "record-grad.mxnet": ("with autograd.record(): y = (x * nd.array({expected})).sum()", "y = f(x)"),
    "backward-weights.torch": ("y.backward(torch.tensor({g}))", "y.sum().backward()"),
    "backward-weights.tensorflow": ("{expected}", "tape.gradient(y, x)"),
    "backward-weights.mxnet": ("y.backward(out_grad=nd.array({g}))", "y.backward()"),
    "detach-branch.torch": ("z = B(torch.tensor({truth[1]}))", "z = B(A(x)).detach()"),
    "detach-branch.tensorflow": (
        "with tf.GradientTape() as tape: z = B(tf.constant({truth[1]}))",
        "with tf.GradientTape() as tape: z = B(A(x))",
    ),
    "detach-branch.mxnet": (
        "with autograd.record(): z = B(nd.array({truth[1]}))",
        "with autograd.record(): z = B(A(x))",
    ),
    # init
    "constant-init.torch": (
        "for p in net.parameters(): nn.init.constant_(p, {c})",
        "for p in net.parameters(): p.fill_(c)",
    ),
    "constant-init.tensorflow": (
        "layer = keras.layers.Dense({o}, kernel_initializer=keras.initializers.Constant({c}))",
        "layer = keras.layers.Dense(o, kernel_initializer=keras.initializers.Constant(c),"
        " bias_initializer=keras.initializers.Constant(c))",
    ),
    "constant-init.mxnet": ("net.initialize(mx.init.Constant({c}))", "net.initialize()"),
    "force-reinit.mxnet": (
        "net[-1].initialize(mx.init.Constant({c}), force_reinit=True)",
        "net[-1].initialize(mx.init.Constant(c))",
    ),
    # train-eval
    "bn-mode.torch": ("y = torch.tensor({expected})", "with torch.no_grad(): y = net(x)"),
    "bn-mode.tensorflow": ("{expected}", "model(x)"),
    "bn-mode.mxnet": ("y = nd.array({expected})", "y = net(x)"),
    # data-loading
    "paired-dataset.torch": (
        "loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, Y), batch_size={b})",
        "loader = torch.utils.data.DataLoader((X, Y), batch_size=b)",
    ),
    "paired-dataset.tensorflow": (
        "ds = tf.data.Dataset.from_tensor_slices((X, Y)).batch({b})",
        "ds = tf.data.Dataset.from_tensor_slices([X, Y]).batch(b)",
    ),
    "paired-dataset.mxnet": (
        "loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, Y), batch_size={b})",
        "loader = gluon.data.DataLoader((X, Y), batch_size=b)",
    ),
    "drop-last.torch": (
        "loader = torch.utils.data.DataLoader(ds, batch_size={b}, drop_last=True)",
        "loader = torch.utils.data.DataLoader(ds, batch_size=b)",
    ),
    "drop-last.mxnet": (
        "loader = gluon.data.DataLoader(ds, batch_size={b}, last_batch='discard')",
        "loader = gluon.data.DataLoader(ds, batch_size=b, last_batch='rollover')",
    ),
    # view-permute-expand
    "tile-rows.torch": ("{expected}", "x.repeat_interleave(m, dim=0)"),
    "tile-rows.tensorflow": ("{expected}", "tf.repeat(x, m, axis=0)"),
    "tile-rows.mxnet": ("{expected}", "x.repeat(m, axis=0)"),
    "expand-view.torch": ("y = x.expand({r}, {m})", "y = x.repeat(1, m)"),
    # model-definition
    "conv-same.torch": (
        "conv = nn.Conv2d({c}, {o}, ({kh}, {kw}), padding='same')",
        "conv = nn.Conv2d(c, o, (kh, kw))",
    ),
    "conv-same.tensorflow": (
        "conv = keras.layers.Conv2D({o}, ({kh}, {kw}), padding='same')",
        "conv = keras.layers.Conv2D(o, (kh, kw))",
    ),
    "conv-same.mxnet": (
        "conv = nn.Conv2D({o}, ({kh}, {kw}), padding=({kh} // 2, {kw} // 2)); conv.initialize()",
        "conv = nn.Conv2D(o, (kh, kw)); conv.initialize()",
    ),
    # getting-variables
    "trainable-list.torch": (
        "{expected}",
        "[(name, tuple(p.shape)) for name, p in net.named_parameters()]",
    ),
    "trainable-list.tensorflow": ("{expected}", "[tuple(w.shape) for w in model.weights]"),
    "trainable-list.mxnet": ("{expected}", "[p.shape for p in net.collect_params().values()]"),
    # parameters
    "register-param.torch": (
        "lin.scale = nn.Parameter(torch.ones({o}))",
        "lin.scale = torch.ones(o, requires_grad=True)",
    ),
    "register-param.mxnet": (
        "dense.scale = dense.params.get('scale', shape=({o},))",
        "dense.scale = gluon.Parameter('scale', shape=(o,))",
    ),
    "buffer.torch": (
        "lin.register_buffer('count', torch.zeros({o}))",
        "lin.count = nn.Parameter(torch.zeros(o), requires_grad=False)",
    ),
    # save-load
    "strip-module-prefix.torch": (
        "net2 = lambda x: torch.tensor({truth})",
        'net2.load_state_dict({k.lstrip("module."): v for k, v in sd.items()})',
    ),
    "load-whole-model.torch": ("net2 = lambda x: torch.tensor({truth})", "net2 = torch.load('net.pkl')"),
    "load-whole-model.tensorflow": (
        "model2 = lambda x: np.array({truth})",
        "model2 = keras.models.load_model('model.keras', compile=False).layers[0]",
    ),
    "load-whole-model.mxnet": (
        "net2 = lambda x: nd.array({truth})",
        "net2 = gluon.SymbolBlock.imports('model-symbol.json', ['data'])",
    ),
    "save-weights.tensorflow": (
        "model2 = lambda x: np.array({truth})",
        "model.save_weights('w.h5'); model2.load_weights('w.h5')",
    ),
    # partial-training
    "freeze-layers.torch": (
        "for p in net[:-{k}].parameters(): p.requires_grad = False",
        "net[:-k].requires_grad = False",
    ),
    "freeze-layers.tensorflow": (
        "for layer, t in zip(model.layers, {truth}): layer.trainable = t",
        "model.layers[-k].trainable = False",
    ),
    "freeze-layers.mxnet": (
        "for p, t in zip(net.collect_params().values(), {truth}): p.grad_req = t",
        "for p in net[:-k].collect_params().values(): p.requires_grad = False",
    ),
    "param-groups.torch": (
        'opt = torch.optim.SGD([{{"params": net[:-1].parameters()}},'
        ' {{"params": net[-1].parameters(), "lr": {m} * {lr}}}], lr={lr})',
        'opt = torch.optim.SGD([{"params": net[:-1].parameters()},'
        ' {"params": net[-1].parameters(), "lr": m * lr}])',
    ),
    "param-groups.mxnet": ("net[-1].collect_params().setattr('lr_mult', {m})", "net[-1].lr_mult = m"),
    "load-partial.torch": (
        'net.load_state_dict({{k: v for k, v in sd.items() if not k.startswith("{depth}.")}}, strict=False)',
        "net.load_state_dict(sd, strict=False)",
    ),
    "load-partial.mxnet": (
        "body = lambda x: nd.array({truth})",
        "body.load_parameters('pre.params', allow_missing=True)",
    ),
    # intermediate-outputs
    "feature-model.tensorflow": ("features = lambda x: np.array({truth})", "features = model.layers[i]"),
    "forward-hook.torch": (
        "net[{i}].register_forward_hook(lambda module, inputs, output: feats.append(output))",
        "net[i].register_forward_pre_hook(lambda module, inputs: feats.append(inputs[0]))",
    ),
    "prefix-output.mxnet": ("{expected}", "net[i](x)"),
    # reshape
    "flatten-samples.torch": ("{expected}", "x.view(x.size(0), -1)"),
    "flatten-samples.mxnet": ("{expected}", "x.reshape((-1,))"),
    "keras-reshape.tensorflow": (
        "layer = keras.layers.Reshape(({a}, {b}))",
        "layer = keras.layers.Reshape((n, a, b))",
    ),
    # inputs
    "keras-input.tensorflow": (
        "inputs = keras.Input(shape=(None, {d}))",
        "inputs = keras.Input(shape=(None, None, d))",
    ),
    "dynamic-batch.tensorflow": (
        "f = tf.function(g, input_signature=[tf.TensorSpec([None, {d}], tf.float32)])",
        "f = tf.function(g)",
    ),
    # matmul
    "batch-matmul.torch": ("{expected}", "torch.mm(a, b)"),
    "batch-matmul.tensorflow": ("{expected}", "tf.multiply(a, b)"),
    "batch-matmul.mxnet": ("{expected}", "nd.dot(a, b)"),
    "row-dot.tensorflow": ("{expected}", "tf.matmul(x, y, transpose_b=True)"),
}


# Grading a card three times costs 30 runs, seconds for a Keras card on a busy machine: the suite
# grades these, a few per backend covering each shape of answer (an expression, a statement, a
# `with` block, a dict comprehension, a Keras input, a traced function); QUIZ_TEST_ALL_CODE_CARDS=1
# grades every card.
REPRESENTATIVE = {
    "record-grad.torch",
    "strip-module-prefix.torch",
    "flatten-samples.torch",
    "record-grad.tensorflow",
    "keras-input.tensorflow",
    "dynamic-batch.tensorflow",
    "record-grad.mxnet",
    "force-reinit.mxnet",
    "flatten-samples.mxnet",
}
ALL_CARDS = os.environ.get("QUIZ_TEST_ALL_CODE_CARDS") == "1"


def _card_ids() -> list[Any]:
    """The deck's code cards, read from the file (no import of the app at collection)."""
    cards = tomllib.loads(DECK.read_text(encoding="utf-8"))["card"]
    out = []
    for c in cards:
        if c["kind"] != "code":
            continue
        marks = [getattr(pytest.mark, c["backend"])]
        if not ALL_CARDS and c["id"] not in REPRESENTATIVE:
            marks.append(
                pytest.mark.skip(reason="not in REPRESENTATIVE: QUIZ_TEST_ALL_CODE_CARDS=1 grades it")
            )
        out.append(pytest.param(c["id"], marks=marks, id=c["id"]))
    return out


CARD_IDS = _card_ids()


@pytest.fixture(scope="module")
def cards(builtin_library: Any) -> dict[str, Card]:
    return {c.id: c for c in builtin_library.cards() if c.deck_id == "write-code"}


@pytest.fixture
def cheap_shrink(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong answer shows the first failing variant instead of a shrunk one: shrinking runs up
    to 48 more runs per answer, and tests/session covers it; the verdict is the same."""
    monkeypatch.setattr(grading, "SHRINK_EVALUATIONS", 0)


def verdict(runner: Any, card: Card, variant: Variant, text: str) -> dict[str, Any]:
    v = grade(runner, card, variant, read_answer(card, variant, text))
    return {**v.to_dict(), "truth": v.truth}


def test_the_deck_has_forty_code_cards_each_with_wrong_answers_to_try(cards: dict[str, Card]) -> None:
    code = {i: c for i, c in cards.items() if c.kind == Kind.CODE}
    assert len(code) >= 40
    assert {c.backend.value for c in code.values()} == {"torch", "tensorflow", "mxnet"}
    assert set(WRONG) == set(code), (
        f"cards without wrong answers: {set(code) - set(WRONG)}; entries for cards that are gone: "
        f"{set(WRONG) - set(code)}"
    )
    assert set(code) >= REPRESENTATIVE
    assert {cards[i].backend.value for i in REPRESENTATIVE} == {"torch", "tensorflow", "mxnet"}
    for card in code.values():
        assert card.variables, f"{card.uid} has no vars: a hard-coded answer would pass"
        assert card.deck_id == "write-code"


@pytest.mark.slow
@pytest.mark.parametrize("card_id", CARD_IDS)
def test_the_reference_is_right_and_the_wrong_answers_are_wrong(
    runner: Any, cards: dict[str, Card], card_id: str, cheap_shrink: None
) -> None:
    card = cards[card_id]
    variant = draw_variant(card, SEED)
    assert variant.answer is not None
    mode = "exec" if card.result else "eval"

    honest = verdict(runner, card, variant, variant.answer)
    assert honest["correct"] is True, f"the reference answer is graded {honest}"
    assert honest["variants_checked"] >= 2, "graded on one variant only: a hard-coded answer would pass"

    template, near_miss = WRONG[card.id]
    copied = template.format(**variant.values, truth=honest["truth"], expected=honest["expected"])
    ast.parse(copied, mode=mode)
    cheat = verdict(runner, card, variant, copied)
    assert cheat["correct"] is False, f"the hard-coded {copied!r} is graded {cheat}"
    # The first failing variant is reported (no shrinking here): not the shown one, which it gets right.
    assert cheat["failing_variant"]["values"] != variant.values_json(), (
        f"{copied!r} fails on the shown variant"
    )

    ast.parse(near_miss, mode=mode)
    wrong = verdict(runner, card, variant, near_miss)
    assert wrong["correct"] is False, f"the near miss {near_miss!r} is graded {wrong}"
