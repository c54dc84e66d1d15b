"""What a test does when something it needs is not on this machine: skip with the reason, but fail in CI.

CI (`.ci/run`, CI=true) installs PostgreSQL and bubblewrap, so there a missing
one means a broken CI set-up, which must be loud; on a developer's machine the
test skips and says what to install.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable_plan(reason: str, ci: bool) -> tuple[str, str]:
    """("fail", message) in CI, else ("skip", message)."""
    return ("fail", f"{reason} (CI=true: .ci/run must provide it)") if ci else ("skip", reason)


def unavailable(reason: str) -> NoReturn:
    """Skip the test with `reason`, or fail it in CI."""
    plan, message = unavailable_plan(reason, in_ci())
    if plan == "fail":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
