"""What every backend adapter provides, and the conversions they share."""

from __future__ import annotations

import importlib
from typing import Any

from quiz.core.answers import canonical_dtype
from quiz.runner.pristine import Policy, Setting


class Adapter:
    """Import a framework once; then, per card: seed, build a namespace, normalise.

    `policy()` tells the worker's state watch what this framework keeps in C
    (settings to read and put back), which of its Python state is known (put
    back and reported) and which is a cache (put back silently).
    """

    name = "base"
    # Modules the built-in decks' cards import, loaded before the snapshot: a card that imports a
    # module the worker had not loaded gets its worker replaced afterwards.
    # encodings.cp437: how zipfile reads a member's name (a .keras file, an .npz) when it is not UTF-8.
    preload: tuple[str, ...] = (
        "contextlib",
        "copy",
        "encodings.ascii",
        "encodings.cp437",
        "os",
        "tempfile",
        "warnings",
    )

    def load(self, threads: int | None = None) -> None:
        """Import the framework (slow: done once, before the worker says ready).

        `threads`: intra-op threads for the framework (None: its default). A
        pool of workers on one machine gives each worker one.
        """

    def warm_up(self) -> None:
        """Load what cards import and run a few ops, so the framework's lazy start-up (thread pools,
        kernels, registries filled on first use) happens before the snapshot, not in a card."""
        for module in self.preload:
            importlib.import_module(module)
        import logging
        import tempfile

        # tempfile finds its directory and makes its name generator on first use: do it now.
        tempfile.gettempdir()
        next(tempfile._get_candidate_names())  # type: ignore[attr-defined]
        # logging.warning() gives the root logger a handler on first use, bound to the sys.stderr of
        # that moment (one card's captured output). Give it now the one that writes to the current one.
        if not logging.root.handlers and logging.lastResort is not None:
            logging.root.addHandler(logging.lastResort)
        self.exercise()

    def exercise(self) -> None:
        """The framework's part of the warm-up: ops like the cards' own."""

    def policy(self) -> Policy:
        """What the state watch needs to know about this backend (numpy's state, for every backend)."""
        import numpy as np

        settings = [
            Setting("numpy error state", np.geterr, lambda v: np.seterr(**v)),
            Setting("numpy's error callback", np.geterrcall, np.seterrcall),
            Setting("numpy's buffer size", np.getbufsize, np.setbufsize),
        ]
        arrayprint = getattr(getattr(np, "core", None), "arrayprint", None)
        options = getattr(arrayprint, "_format_options", None)
        if isinstance(options, dict):  # numpy 1.x: a module-level dict, put back object for object
            settings.append(Setting("numpy print options", lambda: dict(options), refill(options)))
        else:
            settings.append(
                Setting("numpy print options", np.get_printoptions, lambda v: np.set_printoptions(**v))
            )
        if hasattr(np, "_get_promotion_state"):
            settings.append(
                Setting("numpy's type promotion", np._get_promotion_state, np._set_promotion_state)
            )
        if hasattr(np, "set_string_function"):
            # numpy 1.x can replace how arrays print from C; this reads what it prints (an empty
            # array: the printing function is called all the same, and costs microseconds).
            probe = np.zeros(0)
            settings.append(
                Setting(
                    "how numpy prints arrays",
                    lambda: (repr(probe), str(probe)),
                    _default_array_printing(np),
                )
            )
        return Policy(settings=tuple(settings))

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
        """Before each card: seed the RNGs (and start a fresh framework session where there is one).

        Other global state is the state watch's business: it finds and puts
        back what a card changed, after the card.
        """
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


def _default_array_printing(np: Any) -> Any:
    def restore(_value: Any) -> None:
        np.set_string_function(None, True)
        np.set_string_function(None, False)

    return restore


def refill(target: dict[str, Any]) -> Any:
    """A restore that puts a dict's snapshot back into the same dict (its readers hold that dict)."""

    def restore(snapshot: dict[str, Any]) -> None:
        target.clear()
        target.update(snapshot)

    return restore


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
