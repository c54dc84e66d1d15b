"""TensorFlow with Keras 3: `tf`, `keras`, `np` and `device` in each card's namespace.

Keras 3 is reached both as `keras` and as `tf.keras` (TensorFlow 2.16+ points
`tf.keras` at Keras 3 when `tf_keras` is not installed).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import Any

from quiz.runner.adapters.base import Adapter
from quiz.runner.pristine import Policy, Setting

KERAS_CONFIG = "keras.src.backend.config"


class TensorflowAdapter(Adapter):
    name = "tensorflow"
    # tensorflow.saved_model.experimental: what Keras' model.export() imports as it writes.
    preload = (*Adapter.preload, "keras.layers", "tensorflow.saved_model.experimental")

    def load(self, threads: int | None = None) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras
        import numpy
        import tensorflow as tf

        self.tf = tf
        self.keras = keras
        self.np = numpy
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

    def exercise(self) -> None:
        tf, keras = self.tf, self.keras
        x = tf.ones((4, 4))
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(tf.matmul(x, x))
        tape.gradient(y, x)
        # First uses that load modules or fill registries: a tf.function, a dataset, a Keras model
        # built, called, compiled and fitted for a step.
        tf.function(lambda t: t * 2)(x)
        for _ in tf.data.Dataset.from_tensor_slices(tf.range(4)).batch(2):
            pass
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, tf.ones((4, 1)), epochs=1, verbose=0)
        model.predict(x, verbose=0)
        model(x)
        repr(x)
        # Keras imports some modules on first use (saving to .h5 imports h5py through a LazyModule).
        from keras.src.utils import module_utils

        with contextlib.suppress(Exception):
            module_utils.h5py.available  # noqa: B018 - the lookup is the point
        # tf.data.Dataset's methods import their op's module on first call (`.filter()` imports
        # filter_op, `.skip()` skip_op): all of them now (about 80 ms), not one worker restart each.
        import pkgutil

        from tensorflow.python.data import ops as data_ops

        for info in pkgutil.iter_modules(data_ops.__path__):
            if info.name.endswith("_op"):
                with contextlib.suppress(ImportError):
                    importlib.import_module(f"{data_ops.__name__}.{info.name}")
        # A protobuf message class makes its nested enums and messages on first access and keeps
        # them in its namespace (saving a model reads `FunctionSpec.JitCompile`): every loaded one now
        # (about 20 ms).
        for name, module in list(sys.modules.items()):
            descriptor = getattr(module, "DESCRIPTOR", None) if name.endswith("_pb2") else None
            for message in getattr(descriptor, "message_types_by_name", {}):
                with contextlib.suppress(Exception):
                    _touch_nested(getattr(module, message))

    def policy(self) -> Policy:
        tf, keras = self.tf, self.keras
        from tensorflow.python.eager import context, record
        from tensorflow.python.framework import config as tf_config
        from tensorflow.python.framework import op_callbacks, ops

        ctx = context.context()
        experimental = tf.config.experimental
        settings = [
            Setting("TensorFlow eager execution", tf.executing_eagerly),
            Setting(
                "tf.config.run_functions_eagerly",
                tf.config.functions_run_eagerly,
                tf.config.run_functions_eagerly,
            ),
            Setting(
                "TensorFlow soft device placement",
                tf.config.get_soft_device_placement,
                tf.config.set_soft_device_placement,
            ),
            Setting(
                "TensorFlow op determinism",
                tf_config.is_op_determinism_enabled,
                lambda on: tf_config.enable_op_determinism() if on else tf_config.disable_op_determinism(),
            ),
            Setting(
                "TensorFlow TF32 execution",
                experimental.tensor_float_32_execution_enabled,
                experimental.enable_tensor_float_32_execution,
            ),
            Setting(
                "TensorFlow device policy", experimental.get_device_policy, experimental.set_device_policy
            ),
            Setting(
                "TensorFlow synchronous execution",
                experimental.get_synchronous_execution,
                experimental.set_synchronous_execution,
            ),
            Setting("TensorFlow JIT compilation", tf.config.optimizer.get_jit, tf.config.optimizer.set_jit),
            Setting(
                "TensorFlow graph optimizer options",
                tf.config.optimizer.get_experimental_options,
                tf.config.optimizer.set_experimental_options,
            ),
            Setting(
                "TensorFlow threads",
                lambda: (
                    tf.config.threading.get_intra_op_parallelism_threads(),
                    tf.config.threading.get_inter_op_parallelism_threads(),
                ),
            ),
            Setting(
                "TensorFlow numpy behavior",
                lambda: (ops.is_numpy_style_type_promotion(), str(ops.get_dtype_conversion_mode())),
            ),
            Setting("TensorFlow device scope", lambda: (ctx.device_name, ctx.scope_name)),
            Setting("TensorFlow gradient tapes", record.could_possibly_record),
            Setting("TensorFlow op callbacks", op_callbacks.should_invoke_op_callbacks),
            Setting(
                "Keras dtype policy",
                lambda: keras.config.dtype_policy().name,
                keras.config.set_dtype_policy,
            ),
            Setting(
                "Keras traceback filtering",
                keras.config.is_traceback_filtering_enabled,
                lambda on: (
                    keras.config.enable_traceback_filtering()
                    if on
                    else keras.config.disable_traceback_filtering()
                ),
            ),
            Setting(
                "Keras interactive logging",
                keras.config.is_interactive_logging_enabled,
                lambda on: (
                    keras.config.enable_interactive_logging()
                    if on
                    else keras.config.disable_interactive_logging()
                ),
            ),
        ]
        known = {
            f"{KERAS_CONFIG}._FLOATX": "Keras floatx",
            f"{KERAS_CONFIG}._EPSILON": "Keras epsilon",
            f"{KERAS_CONFIG}._IMAGE_DATA_FORMAT": "Keras image data format",
            f"{KERAS_CONFIG}._MAX_EPOCHS": "Keras max epochs",
            f"{KERAS_CONFIG}._MAX_STEPS_PER_EPOCH": "Keras max steps per epoch",
        }
        caches = frozenset(
            {
                "tensorflow.python.checkpoint.checkpoint._END_TIME_OF_LAST_WRITE",  # a timer
                # Keras' model.export() quiets absl's logger as it writes: a log level, no truth of
                # any card depends on it. Put back, never blamed on the card that exported.
                "absl.logging._absl_logger.level",
            }
        )
        return super().policy() | Policy(
            settings=tuple(settings),
            known=known,
            churn=CHURN,
            caches=caches,
            scratch_modules=("__autograph_generated_file",),
        )

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


def _touch_nested(cls: Any) -> None:
    """Look up a protobuf message class's nested enums and messages (each made and kept on first use)."""
    descriptor = cls.DESCRIPTOR
    for enum in descriptor.enum_types:
        getattr(cls, enum.name)
    for nested in descriptor.nested_types:
        _touch_nested(getattr(cls, nested.name))


# What `reset` replaces before every card (a fresh Keras session, the seeds): changes there are the
# worker's own, not a card's. The state they hold is read through the settings above.
CHURN = frozenset(
    {
        ("keras.src.backend.common.global_state", "GLOBAL_STATE_TRACKER"),
        ("keras.src.backend.common.global_state", "GLOBAL_SETTINGS_TRACKER"),
        ("tensorflow.python.eager.context._context", "_seed"),  # tf.random.set_seed
        ("tensorflow.python.eager.context._context", "_rng"),
    }
)

ADAPTER = TensorflowAdapter
