"""Which backends are installed, found without importing them (importing tensorflow takes seconds)."""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass

__all__ = ["BackendInfo", "installed_backends", "installed_versions", "backend_info", "INSTALL_HINTS"]

# (import name, distributions that provide it)
_DISTS = {
    "torch": ("torch", ("torch",)),
    "tensorflow": ("tensorflow", ("tensorflow-cpu", "tensorflow", "tensorflow-macos", "tf-nightly")),
    "mxnet": ("mxnet", ("mxnet", "mxnet-mkl", "mxnet-cu112")),
}

INSTALL_HINTS = {
    "torch": "pip install 'quiz[torch]'  (from a checkout: .venv/bin/pip install -e '.[torch]')",
    "tensorflow": "pip install 'quiz[tensorflow]'  (from a checkout: .venv/bin/pip install -e '.[tensorflow]')",
    "mxnet": "pip install 'quiz[mxnet]'  (from a checkout: .venv/bin/pip install -e '.[mxnet]'; needs numpy<2)",
}


@dataclass(frozen=True, slots=True)
class BackendInfo:
    name: str
    installed: bool
    version: str | None
    hint: str


def backend_info(name: str) -> BackendInfo:
    """Installed or not, and the version.

    QUIZ_HIDE_BACKENDS=mxnet,... makes quiz behave as if those were not
    installed: to study without one, and to test what learners without it see.
    """
    hidden = {b.strip() for b in os.environ.get("QUIZ_HIDE_BACKENDS", "").split(",") if b.strip()}
    if name in hidden:
        return BackendInfo(name, False, None, INSTALL_HINTS[name])
    return _detect(name)


@functools.cache
def _detect(name: str) -> BackendInfo:
    """Remembered: asked on every card, and the answer stays for the process."""
    module, dists = _DISTS[name]
    found = importlib.util.find_spec(module) is not None
    version = None
    if found:
        for dist in dists:
            try:
                version = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return BackendInfo(name, found, version, INSTALL_HINTS[name])


def installed_backends() -> list[str]:
    return [name for name in _DISTS if backend_info(name).installed]


@functools.cache
def installed_versions() -> dict[str, str | None]:
    """Backend (and keras) versions, for cards' `requires`; None when not installed."""
    versions: dict[str, str | None] = {name: backend_info(name).version for name in _DISTS}
    try:
        versions["keras"] = importlib.metadata.version("keras")
    except importlib.metadata.PackageNotFoundError:
        versions["keras"] = None
    return versions
