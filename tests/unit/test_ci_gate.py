"""Missing PostgreSQL or bubblewrap: a skip with the reason on a developer's machine, a failure in CI."""

from __future__ import annotations

import pytest

from tests.ci import in_ci, unavailable_plan


def test_outside_ci_a_missing_tool_skips_with_its_reason() -> None:
    assert unavailable_plan("bubblewrap is not installed", ci=False) == ("skip", "bubblewrap is not installed")


def test_in_ci_a_missing_tool_fails_with_its_reason() -> None:
    plan, message = unavailable_plan("bubblewrap is not installed", ci=True)
    assert plan == "fail" and message.startswith("bubblewrap is not installed") and ".ci/run" in message


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("TRUE", True), ("1", True), ("yes", True), ("", False), ("0", False)]
)
def test_ci_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("CI", value)
    assert in_ci() is expected
