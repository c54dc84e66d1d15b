"""Where quiz keeps its data, settings, caches and logs; created when first asked for, not at import.

`QUIZ_HOME` puts everything under one directory (tests use it to stay out of
the learner's own files); otherwise the platform's user dirs (platformdirs).
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "quiz"


def _home() -> Path | None:
    home = os.environ.get("QUIZ_HOME")
    return Path(home).expanduser() if home else None


def _dir(kind: str) -> Path:
    home = _home()
    if home is not None:
        path = home / kind
    else:
        import platformdirs

        path = Path(
            {
                "data": platformdirs.user_data_dir,
                "config": platformdirs.user_config_dir,
                "cache": platformdirs.user_cache_dir,
            }[kind](APP, appauthor=False)
        )
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    return _dir("data")


def config_dir() -> Path:
    return _dir("config")


def cache_dir() -> Path:
    return _dir("cache")


def log_dir() -> Path:
    path = cache_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / 'quiz.db'}"


def builtin_decks_dir() -> Path:
    """The decks shipped with quiz: `decks/` of the checkout (editable installs) or the package's copy."""
    override = os.environ.get("QUIZ_BUILTIN_DECKS")
    if override:
        return Path(override)
    checkout = Path(__file__).resolve().parent.parent / "decks"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parent / "decks"


def use_hypothesis_cache() -> None:
    """Point hypothesis' storage at our cache instead of `./.hypothesis` in whatever the cwd is."""
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(cache_dir() / "hypothesis"))
