"""TensorFlow specifics: AutoGraph finds the source of card code, and Keras state does not leak between cards."""

from __future__ import annotations

from pathlib import Path

import pytest

from quiz.runner.client import Runner
from quiz.runner.config import WorkerConfig
from tests.runner.conftest import MakeCard

pytestmark = pytest.mark.tensorflow

AUTOGRAPH_CARD = """
tf.autograph.set_verbosity(0, alsologtostdout=True)

@tf.function
def absolute(x):
    if x > 0:          # a Python `if` on a tensor: only AutoGraph turns it into tf.cond
        return x
    else:
        return -x

y = absolute(tf.constant(-3.0))
"""


def test_autograph_converts_card_code_without_source_warnings(make_card: MakeCard, tmp_path: Path) -> None:
    # Its own runner, to read the worker's log afterwards.
    with Runner(WorkerConfig(log_dir=tmp_path), device="cpu") as runner:
        card, variant = make_card(AUTOGRAPH_CARD, "y", backend="tensorflow")
        result = runner.run(card, variant)
        assert result.ok, result.error  # unconverted, `if x > 0` on a graph tensor raises
        assert result.truth == 3.0
        assert "could not" not in result.stdout.lower()
        assert "autograph" not in result.stdout.lower()
    log = (tmp_path / "worker-tensorflow.log").read_text(errors="replace").lower()
    assert "could not get source" not in log and "could not transform" not in log


def test_layer_names_do_not_depend_on_earlier_cards(runner: Runner, make_card: MakeCard) -> None:
    code = "model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])"
    answer = "[layer.name for layer in model.layers]"
    card, variant = make_card(code, answer, backend="tensorflow")
    first = runner.run(card, variant)
    assert first.ok, first.error
    assert first.truth == ["dense", "dense_1"]
    # Cards in between that create layers of their own, and ask for uids.
    busy, busy_variant = make_card(
        "for _ in range(5):\n    keras.layers.Dense(1)\nu = keras.backend.get_uid('dense')",
        "u",
        backend="tensorflow",
    )
    assert runner.run(busy, busy_variant).ok
    again = runner.run(card, variant)
    assert again.truth == ["dense", "dense_1"]
    uid, uid_variant = make_card("u = keras.backend.get_uid('dense')", "u", backend="tensorflow")
    assert runner.run(uid, uid_variant).truth == 1


def test_keras_settings_a_card_changes_are_put_back(runner: Runner, make_card: MakeCard) -> None:
    changer, v1 = make_card(
        "keras.config.set_floatx('float64')\nkeras.config.set_image_data_format('channels_first')\n"
        "keras.mixed_precision.set_global_policy('mixed_float16')",
        "keras.config.floatx()",
        backend="tensorflow",
    )
    assert runner.run(changer, v1).truth == "float64"
    check, v2 = make_card(
        "layer = keras.layers.Dense(2)\nlayer.build((None, 3))",
        "[keras.config.floatx(), keras.config.image_data_format(), layer.dtype_policy.name]",
        backend="tensorflow",
    )
    assert runner.run(check, v2).truth == ["float32", "channels_last", "float32"]


def test_random_values_are_reproducible_per_seed(runner: Runner, make_card: MakeCard) -> None:
    card, variant = make_card(
        "x = tf.random.uniform((3,))\ny = keras.random.normal((2,))", "[x, y]", backend="tensorflow"
    )
    a = runner.run(card, variant)
    b = runner.run(card, variant)
    assert a.ok and a.truth == b.truth
