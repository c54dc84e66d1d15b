"""TensorFlow with Keras 3: `tf`, `keras`, `np` and `device` in each card's namespace.

Keras 3 is reached both as `keras` and as `tf.keras` (TensorFlow 2.16+ points
`tf.keras` at Keras 3 when `tf_keras` is not installed).
"""

from __future__ import annotations

import os
from typing import Any

from quiz.runner.adapters.base import Adapter


class TensorflowAdapter(Adapter):
    name = "tensorflow"

    def load(self, threads: int | None = None) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras
        import numpy
        import tensorflow as tf
        from keras.src.backend import config as keras_config

        self.tf = tf
        self.keras = keras
        self.np = numpy
        self._keras_config = keras_config
        tf.get_logger().setLevel("ERROR")
        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            # Two at least: some ops wait on others (queues, tf.data) and one thread would deadlock.
            tf.config.threading.set_inter_op_parallelism_threads(max(2, threads))
        self._gpus = tf.config.list_physical_devices("GPU")
        for gpu in self._gpus:
            # Take GPU memory as cards need it, not all of it at the first op (other workers share the GPU).
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except (RuntimeError, ValueError):
                pass
        # Keras settings a card may change with keras.config.set_*: put back before the next card.
        self._config_names = ("_FLOATX", "_EPSILON", "_IMAGE_DATA_FORMAT")
        self._config = {name: getattr(keras_config, name) for name in self._config_names}

    def warm_up(self) -> None:
        tf = self.tf
        x = tf.ones((4, 4))
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(tf.matmul(x, x))
        tape.gradient(y, x)

    @property
    def version(self) -> str:
        return str(self.tf.__version__)

    def devices(self) -> list[str]:
        return ["cpu", "gpu"] if self._gpus else ["cpu"]

    def gpu_count(self) -> int:
        return len(self._gpus)

    def reset(self, seed: int) -> None:
        super().reset(seed)
        # Layer names ("dense_3") and the rest of Keras' global state must not
        # depend on which cards ran earlier in this worker. clear_session()
        # replaces that state in microseconds; its default `free_memory=True`
        # adds a full gc.collect() (about 110 ms with TensorFlow loaded), which
        # frees memory but changes no result: Python's own collector does that.
        self.keras.backend.clear_session(free_memory=False)
        self.keras.utils.set_random_seed(seed)
        self.tf.config.run_functions_eagerly(False)
        cfg = self._keras_config
        for name, value in self._config.items():
            if getattr(cfg, name) != value:
                setattr(cfg, name, value)

    def namespace(self, device: str) -> dict[str, Any]:
        return {
            "tf": self.tf,
            "keras": self.keras,
            "np": self.np,
            "device": "/GPU:0" if device == "gpu" else "/CPU:0",
        }

    def is_out_of_memory(self, exc: BaseException) -> bool:
        return isinstance(exc, self.tf.errors.ResourceExhaustedError)

    def tensor_to_plain(self, value: Any) -> Any:
        tf = self.tf
        if isinstance(value, tf.TensorShape):
            return value.as_list() if value.rank is not None else None
        if isinstance(value, tf.DType):
            return value.name
        if isinstance(value, tf.Variable):
            return value.numpy()
        if isinstance(value, tf.RaggedTensor):
            return value.to_list()
        if isinstance(value, tf.SparseTensor):
            return tf.sparse.to_dense(value).numpy()
        if tf.is_tensor(value):
            if hasattr(value, "numpy"):
                v = value.numpy()
                return v.decode() if isinstance(v, bytes) else v
            return repr(value)  # a symbolic Keras tensor has no value
        if isinstance(value, self.keras.Variable):
            return value.numpy()
        if isinstance(value, bytes):
            return value.decode(errors="replace")
        return NotImplemented

    def to_dtype(self, value: Any) -> str:
        if isinstance(value, self.tf.DType):
            return super().to_dtype(value.name)
        return super().to_dtype(value)


ADAPTER = TensorflowAdapter
