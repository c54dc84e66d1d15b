"""TensorFlow with Keras 3: `tf`, `keras`, `np` and `device` in each card's namespace."""

from __future__ import annotations

import os
from typing import Any

from quiz.runner.adapters.base import Adapter


class TensorflowAdapter(Adapter):
    name = "tensorflow"

    def load(self) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras
        import numpy
        import tensorflow as tf

        self.tf = tf
        self.keras = keras
        self.np = numpy
        tf.get_logger().setLevel("ERROR")
        self._gpus = tf.config.list_physical_devices("GPU")

    @property
    def version(self) -> str:
        return str(self.tf.__version__)

    def devices(self) -> list[str]:
        return ["cpu", "gpu"] if self._gpus else ["cpu"]

    def reset(self, seed: int) -> None:
        super().reset(seed)
        # Layer names ("dense_3") and other Keras globals must not depend on
        # which cards ran earlier in this worker.
        self.keras.backend.clear_session()
        self.keras.utils.set_random_seed(seed)
        self.tf.config.run_functions_eagerly(False)

    def namespace(self, device: str) -> dict[str, Any]:
        return {
            "tf": self.tf,
            "keras": self.keras,
            "np": self.np,
            "device": "/GPU:0" if device == "gpu" else "/CPU:0",
        }

    def tensor_to_plain(self, value: Any) -> Any:
        tf = self.tf
        if isinstance(value, tf.TensorShape):
            return value.as_list() if value.rank is not None else None
        if isinstance(value, tf.DType):
            return value.name
        if isinstance(value, tf.Variable):
            return value.numpy()
        if tf.is_tensor(value):
            if hasattr(value, "numpy"):
                v = value.numpy()
                return v.decode() if isinstance(v, bytes) else v
            return repr(value)  # a symbolic Keras tensor has no value
        if isinstance(value, bytes):
            return value.decode(errors="replace")
        return NotImplemented

    def to_dtype(self, value: Any) -> str:
        if isinstance(value, self.tf.DType):
            return super().to_dtype(value.name)
        return super().to_dtype(value)


ADAPTER = TensorflowAdapter
