"""Shared fixtures: keep tests out of the learner's own files, share warm workers, skip missing backends."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from quiz.runner.backends import backend_info
from tests.classroom.pg import db_url, pg_server, pg_url

# PostgreSQL for any test that asks: `pg_server` (session), `pg_url` and `db_url` (tests/classroom/pg.py).
__all__ = ["db_url", "pg_server", "pg_url"]
# `canary` (autouse): after each test, the shared warm workers it used still give a known truth.
pytest_plugins = ["tests.canary"]

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("torch", "tensorflow", "mxnet")


@pytest.fixture(scope="session", autouse=True)
def added_decks_run() -> Iterator[None]:
    """Tests run decks written to temporary folders: let them run without bubblewrap too.

    Before any runner is built. The opt-in's own tests remove it (tests/cli/test_isolation_notice.py).
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QUIZ_ALLOW_UNISOLATED", "1")
        yield


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own QUIZ_HOME: data, config and caches never touch real user dirs."""
    home = tmp_path_factory.mktemp("quiz-home")
    monkeypatch.setenv("QUIZ_HOME", str(home))
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(home / "cache" / "hypothesis"))
    for var in ("QUIZ_DB", "QUIZ_PROFILE", "QUIZ_HEADLESS", "QUIZ_EXIT_AFTER_FIRST_CARD"):
        monkeypatch.delenv(var, raising=False)
    return home


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (pyproject's default): one test process per core, at most four.

    Each holds the session's warm workers of every framework (about 1.5 GB); past four, the
    framework imports they all pay cost more than the parallelism brings.
    """
    return max(1, min(os.cpu_count() or 1, 4))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = {b for b in BACKENDS if not backend_info(b).installed}
    for item in items:
        for backend in missing:
            if backend in item.keywords:
                item.add_marker(pytest.mark.skip(reason=f"{backend} is not installed"))


@pytest.fixture(scope="session")
def runner() -> Iterator[object]:
    """One warm Runner for the whole session (framework imports are slow); the canary watches it."""
    from quiz.runner.client import Runner

    # Never idle out: a test process can go ten minutes without a card on one backend, and each
    # restart is a framework start (torch ~6 CPU-s) that tests nothing.
    r = Runner(device=os.environ.get("QUIZ_TEST_DEVICE", "cpu"), idle_s=0)
    yield r
    r.close()


@pytest.fixture
def write_deck(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a deck file from TOML text (dedented); returns its path."""

    def write(text: str, name: str = "deck.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def builtin_library():  # type: ignore[no-untyped-def]
    from quiz.core.decks import load_library

    return load_library([ROOT / "decks"])
