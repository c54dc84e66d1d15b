"""CLI tests run the commands in this process (`quiz.cli.main`) on the session's warm runner, lent to them.

Each command that runs card code would otherwise start its own framework workers (seconds of CPU
each, per command). Tests elsewhere that run commands in-process import `lent` from here. A true
subprocess stays where the process boundary is the point (tests/cli/test_grade_batch.py reads
stdin through a pipe; tests/serve/test_apps.py kills a real server).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@contextlib.contextmanager
def lending(runner: Any) -> Iterator[Any]:
    """Lend `runner` to the commands run in this process (`lend_runner`), the CLI's device set to its own.

    A command takes it only where it would start the same workers itself (`lent_or_own`): so the
    device is set here (config.toml in the test's own QUIZ_HOME, added to what is there; "auto" and
    "cpu" are different runners), and a command whose opt-in, sandbox or device differs (a test that
    changes them) still starts its own.
    """
    from quiz.commands.common import lend_runner
    from quiz.config import config_file

    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(f'device = "{runner.device}"\n')
    with lend_runner(runner):
        yield runner


@pytest.fixture
def lent(runner: Any, isolated_home: Path) -> Iterator[Any]:
    """The session's warm runner, lent to the commands this test runs in-process (`lending`).

    The canary checks it after the test, as it checks it after any test that used it.
    """
    with lending(runner):
        yield runner
