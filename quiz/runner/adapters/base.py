"""What every backend adapter provides, and the conversions they share."""

from __future__ import annotations

from typing import Any

from quiz.core.answers import canonical_dtype


class Adapter:
    """Import a framework once; then, per card: reset state, build a namespace, normalise."""

    name = "base"

    def load(self, threads: int | None = None) -> None:
        """Import the framework (slow: done once, before the worker says ready).

        `threads`: intra-op threads for the framework (None: its default). A
        pool of workers on one machine gives each worker one.
        """

    def warm_up(self) -> None:
        """Run one tiny op so the framework's lazy start-up (thread pools, kernels) is not the first card's."""

    @property
    def version(self) -> str:
        return ""

    def devices(self) -> list[str]:
        return ["cpu"]

    def gpu_count(self) -> int:
        return 0

    def is_out_of_memory(self, exc: BaseException) -> bool:
        """Whether `exc` is the framework's allocator running out (Python's MemoryError is handled apart)."""
        return False

    def resolve_device(self, requested: str) -> str:
        """`cpu`, `gpu` or `auto` → the device this worker will use; raises if impossible."""
        have = self.devices()
        if requested in ("auto", ""):
            return "gpu" if "gpu" in have else "cpu"
        if requested not in have:
            raise DeviceUnavailable(
                f"{self.name} sees no {requested.upper()} here (devices: {', '.join(have)})"
            )
        return requested

    def reset(self, seed: int) -> None:
        """Seed RNGs and undo global state a previous card may have changed."""
        import random

        random.seed(seed)
        try:
            import numpy as np

            np.random.seed(seed % 2**32)
        except ImportError:  # pragma: no cover - numpy comes with every backend
            pass

    def namespace(self, device: str) -> dict[str, Any]:
        return {}

    # --- normalisation to plain JSON data --------------------------------------

    def to_plain(self, value: Any, depth: int = 0) -> Any:
        """Tensors, arrays, shapes and containers → nested lists, numbers, strings."""
        if depth > 50:
            raise ValueError("value is nested too deeply")
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            return value
        if isinstance(value, complex):
            return {"complex": [value.real, value.imag]}
        converted = self.tensor_to_plain(value)
        if converted is not NotImplemented:
            return self.to_plain(converted, depth + 1)
        if isinstance(value, (list, tuple)):
            return [self.to_plain(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return {str(k): self.to_plain(v, depth + 1) for k, v in value.items()}
        if isinstance(value, (set, frozenset)):
            return sorted((self.to_plain(v, depth + 1) for v in value), key=repr)
        if hasattr(value, "dtype") and hasattr(value, "tolist"):
            return self.to_plain(value.tolist(), depth + 1)
        return repr(value)

    def tensor_to_plain(self, value: Any) -> Any:
        """Framework-specific conversion; NotImplemented when `value` is not ours."""
        return NotImplemented

    def to_shape(self, value: Any) -> list[int | None]:
        if hasattr(value, "as_list"):  # tf.TensorShape
            return list(value.as_list())
        if not isinstance(value, (tuple, list)) and hasattr(value, "shape"):
            value = value.shape
            if hasattr(value, "as_list"):
                return list(value.as_list())
        dims = list(value)
        out: list[int | None] = []
        for d in dims:
            if d is None:
                out.append(None)
            else:
                out.append(int(d))
        return out

    def to_dtype(self, value: Any) -> str:
        if not isinstance(value, (str, type)) and hasattr(value, "dtype") and hasattr(value, "shape"):
            value = value.dtype  # a tensor or an array: its dtype
        name = getattr(value, "name", None) if not isinstance(value, str) else value
        for candidate in (name, str(value)):
            if isinstance(candidate, str):
                canon = canonical_dtype(candidate)
                if canon:
                    return canon
        try:
            import numpy as np

            canon = canonical_dtype(np.dtype(value).name)
            if canon:
                return canon
        except TypeError:
            pass
        raise TypeError(f"{value!r} is not a dtype")

    def to_bool(self, value: Any) -> bool:
        """A truth value: a bool, 0/1, or a tensor/array holding exactly one of them."""
        if isinstance(value, bool):
            return value
        plain = self.to_plain(value)
        while isinstance(plain, list) and len(plain) == 1:
            plain = plain[0]
        if isinstance(plain, bool) or (isinstance(plain, int) and plain in (0, 1)):
            return bool(plain)
        raise TypeError(f"a bool card's answer must be one truth value, not {_short_repr(value)}")

    def to_tensor(self, value: Any) -> dict[str, Any]:
        """A tensor, array or number as `{shape, dtype, values}`: what a translation is compared on
        (the same in every framework: a list of ints, a canonical dtype name, nested lists)."""
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            shape, dtype = self.to_shape(value), self.to_dtype(value)
        else:
            import numpy as np

            array = np.asarray(value)  # a Python number or list: numpy's reading of it
            shape, dtype = list(array.shape), self.to_dtype(array.dtype)
        return {"shape": shape, "dtype": dtype, "values": self.to_plain(value)}

    def normalise(self, kind: str, value: Any) -> Any:
        if kind == "translate":
            return self.to_tensor(value)
        if kind in ("shape", "dtype") and _is_pair(kind, value):
            # A tuple of shapes or dtypes, `(a.shape, b.shape)`: a list of them, one level deep.
            one = self.to_shape if kind == "shape" else self.to_dtype
            return [one(v) if not _is_pair(kind, v) else _too_deep(v) for v in value]
        if kind == "shape":
            return self.to_shape(value)
        if kind == "dtype":
            return self.to_dtype(value)
        if kind == "bool":
            return self.to_bool(value)
        if kind == "grad_is_none":
            return value is None
        if kind == "choice":
            return str(value)
        return self.to_plain(value)


def _is_pair(kind: str, value: Any) -> bool:
    """A tuple of shapes (some item is a shape itself) or of dtypes (any tuple)."""
    if not isinstance(value, (tuple, list)):
        return False
    return kind == "dtype" or any(isinstance(v, (tuple, list)) or hasattr(v, "as_list") for v in value)


def _too_deep(value: Any) -> Any:
    raise TypeError(f"a tuple of shapes or dtypes holds shapes or dtypes, not {_short_repr(value)}")


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


class DeviceUnavailable(RuntimeError):
    """The requested device does not exist for this backend on this machine."""
