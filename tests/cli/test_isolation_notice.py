"""Isolation never degrades silently: one line on stderr with the fix, added decks only when the learner opts in.

The fallback is forced with QUIZ_ISOLATION=rlimits (what a machine without
bubblewrap gets); where bubblewrap runs, its mode is checked to stay quiet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from quiz.cli import main
from quiz.config import config_file
from quiz.runner import isolation
from quiz.runner.isolation import FIX_INSTALL, Sandbox, sandbox_for
from tests.cli.conftest import lending

ADDED = """
[deck]
id = "added"
title = "someone else's deck"

[[card]]
id = "sum.torch"
section = "s"
backend = "torch"
kind = "value"
prompt = "value?"
code = "x = torch.arange(4)"
answer = "int(x.sum())"
explain = "."
"""


@pytest.fixture
def fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """No bubblewrap, and the learner has not opted in to run added decks."""
    monkeypatch.setenv("QUIZ_ISOLATION", "rlimits")
    monkeypatch.delenv("QUIZ_ALLOW_UNISOLATED", raising=False)


@pytest.fixture(scope="module")
def opted_in_runner() -> Iterator[object]:
    """One warm torch worker for this module's runs with the opt-in, in the fallback.

    Lent to each command (tests/cli/conftest.py), which takes it only where it would start the
    same workers itself: in the fallback (rlimits), with the opt-in, on the CPU. A command without
    the opt-in (a refusal, or the partial-isolation line for a built-in deck) starts its own.
    """
    from quiz.runner.client import Runner

    r = Runner(device="cpu", allow_unisolated=True)
    yield r
    r.close()


@pytest.fixture
def opted_in(fallback: None, opted_in_runner: object, isolated_home: Path) -> Iterator[object]:
    with lending(opted_in_runner):
        yield opted_in_runner


@pytest.fixture
def added(tmp_path: Path) -> Path:
    path = tmp_path / "added.toml"
    path.write_text(ADDED)
    return path


def notice_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "isolat" in line or "card code" in line]


@pytest.mark.torch
def test_grade_says_in_one_line_that_isolation_is_partial_and_how_to_fix_it(
    fallback: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["grade", "expand-shape.torch", "--seed", "3", "--answer", "(3, 3, 2, 3)", "--json"])
    out, err = capsys.readouterr()
    verdict = json.loads(out)
    # Built-in decks still run: the answer is graded (right or wrong), not refused.
    assert code == (0 if verdict["correct"] else 1) and isinstance(verdict["correct"], bool), out
    assert verdict.get("expected"), out
    lines = notice_lines(err)
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("quiz: card code is only partly isolated here (bubblewrap not asked for")
    assert FIX_INSTALL in line and "--allow-unisolated" in line and "allow_unisolated = true" in line


@pytest.mark.torch
def test_added_deck_does_not_run_without_the_opt_in(
    fallback: None, added: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["grade", "added/sum.torch", "--deck", str(added), "--answer", "6", "--json"])
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert code == 3 and result["correct"] is None
    assert str(added) in result["error"] and "is not a built-in deck" in result["error"]
    assert "--allow-unisolated" in result["error"] and "allow_unisolated = true" in result["error"]
    assert FIX_INSTALL in result["error"]
    assert len(notice_lines(err)) == 1


@pytest.mark.torch
def test_added_deck_runs_with_the_flag(
    opted_in: object, added: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["grade", "added/sum.torch", "--deck", str(added), "--answer", "6", "--json"]
    assert main([*argv, "--allow-unisolated"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["correct"] is True
    assert "added decks run anyway (--allow-unisolated)" in err


@pytest.mark.torch
def test_added_deck_runs_with_the_setting(
    opted_in: object, added: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with config_file().open("a") as f:  # after the device line `opted_in` wrote
        f.write("allow_unisolated = true\n")
    assert main(["grade", "added/sum.torch", "--deck", str(added), "--answer", "6", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["correct"] is True


def test_a_bad_setting_is_one_clear_error(fallback: None, capsys: pytest.CaptureFixture[str]) -> None:
    config_file().write_text('allow_unisolated = "yes please"\n')
    assert main(["grade", "x", "--answer", "1"]) == 2
    assert "allow_unisolated must be true or false" in capsys.readouterr().err


def test_deck_check_refuses_an_added_deck_without_the_opt_in(
    fallback: None, added: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deck", "check", str(added), "--json"]) == 2
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["ok"] is False and "nothing was checked" in report["error"]
    assert "--allow-unisolated" in report["error"]
    assert len(notice_lines(err)) == 1


@pytest.mark.torch
def test_deck_check_runs_an_added_deck_with_the_flag(
    opted_in: object, added: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["deck", "check", str(added), "--variants", "1", "--search", "0", "--no-record", "--json"]
    argv += ["--jobs", "1"]  # the pool of one worker the lent runner stands in for
    code = main([*argv, "--allow-unisolated"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert report["summary"]["passed"] == 1


def test_with_bubblewrap_nothing_is_said(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("QUIZ_ISOLATION", raising=False)
    if not sandbox_for("bwrap").full:
        pytest.skip("bubblewrap cannot run here")
    from quiz.commands.common import isolation_notice
    from quiz.config import load_settings

    assert isolation_notice(load_settings()) is True
    assert capsys.readouterr().err == ""


@pytest.fixture
def fresh_detection() -> Iterator[None]:
    """Detect the sandbox again (and forget it afterwards): the tests below change what the machine offers."""
    saved = dict(isolation._cache)
    isolation._cache.clear()
    yield
    isolation._cache.clear()
    isolation._cache.update(saved)


def test_no_landlock_and_no_other_uid_refuses_to_run_card_code(
    fallback: None, fresh_detection: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(isolation, "_is_root", lambda: False)
    monkeypatch.setattr(isolation.landlock, "abi_version", lambda: 0)
    sandbox = sandbox_for()
    assert "no Landlock and there is no other uid" in sandbox.refused
    code = main(["grade", "expand-shape.torch", "--seed", "3", "--answer", "(3, 3, 2, 3)", "--json"])
    out, err = capsys.readouterr()
    assert code == 3 and json.loads(out)["correct"] is None
    assert "card code will not run here" in json.loads(out)["error"]
    lines = notice_lines(err)
    assert len(lines) == 1 and lines[0].startswith("quiz: card code will not run here:")
    assert lines[0].endswith(f"fix: {FIX_INSTALL}")


def test_root_that_cannot_hand_card_code_another_uid_refuses(
    fallback: None, fresh_detection: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(isolation, "_is_root", lambda: True)
    monkeypatch.setattr(isolation, "_probe_confined", lambda probe, python: "Permission denied: python3")
    sandbox = sandbox_for()
    assert sandbox.refused.endswith("the fallback cannot wall card code in (Permission denied: python3)")
    from quiz.runner.client import WorkerCrashed, WorkerProcess

    with pytest.raises(WorkerCrashed, match="card code will not run here"):
        WorkerProcess("torch").start()


def test_notice_texts() -> None:
    full = Sandbox("bwrap", "/usr/bin/bwrap")
    assert isolation.notice(full) is None and isolation.header_notice(full) is None
    partial = Sandbox("rlimits", reason="bubblewrap is not installed", landlock=7)
    line = isolation.notice(partial)
    assert line is not None and "\n" not in line
    assert line.startswith("card code is only partly isolated here (bubblewrap is not installed)")
    assert isolation.header_notice(partial) == f"partial isolation: {FIX_INSTALL}"
