"""Load the deck library through a cache, so start-up does not re-parse every deck file.

The cache (a pickle in the cache dir) is keyed by a fingerprint of every deck
file (path, size, mtime) and of the loader's own source files, so editing a
deck or upgrading quiz re-parses. A missing, stale or unreadable cache just
means a normal parse; the cache is written by quiz only, in the user's own
cache directory.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterable
from pathlib import Path

from quiz.core.decks import Library, deck_files, load_library

__all__ = ["library_fingerprint", "load_library_cached"]

_LOADER_SOURCES = ("cards.py", "decks.py", "variables.py", "expr.py")
FORMAT = 1


def library_fingerprint(paths: Iterable[str | Path]) -> str:
    """A hash of what the library's content depends on: deck files and the loader's code."""
    h = hashlib.sha256(f"format {FORMAT}\n".encode())
    core = Path(__file__).resolve().parent / "core"
    for name in _LOADER_SOURCES:
        st = os.stat(core / name)
        h.update(f"{name} {st.st_size} {st.st_mtime_ns}\n".encode())
    for path in deck_files(paths):
        try:
            st = os.stat(path)
        except OSError:
            h.update(f"{path} missing\n".encode())
            continue
        h.update(f"{path} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def load_library_cached(paths: Iterable[str | Path], cache_dir: Path) -> Library:
    paths = list(paths)
    fingerprint = library_fingerprint(paths)
    cache = cache_dir / "library.pickle"
    try:
        with open(cache, "rb") as f:
            stored_fingerprint, library = pickle.load(f)
        if stored_fingerprint == fingerprint and isinstance(library, Library):
            return library
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
        pass
    library = load_library(paths)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump((fingerprint, library), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only cache dir only costs speed
    return library
