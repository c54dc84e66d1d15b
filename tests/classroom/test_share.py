"""Sharing decks: `quiz deck add` shows what a deck runs and asks; only trusted content ever runs."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from quiz.cli import main
from quiz.config import load_settings
from quiz.library import load

ROOT = Path(__file__).resolve().parents[2]

SHARED = """
[deck]
id = "week3"
title = "Week 3"
version = "1.0"
author = "Ms. Instructor"

[[card]]
id = "ones-sum.torch"
section = "autograd"
backend = "torch"
kind = "value"
prompt = "What is the sum?"
code = '''
x = torch.ones(${n})
s = int(x.sum())
'''
answer = "s"
explain = "Ones add up to n."
vars.n = { int = [2, 5] }

[[card]]
id = "zeros-shape.torch"
section = "reshape"
backend = "torch"
kind = "shape"
prompt = "What is the shape?"
code = "z = torch.zeros(2, 3)"
answer = "z.shape"
explain = "As given."
"""


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An instructor's deck somewhere outside the library, and an empty built-in library."""
    empty = tmp_path / "builtin"
    empty.mkdir()
    monkeypatch.setenv("QUIZ_BUILTIN_DECKS", str(empty))
    course = tmp_path / "course"
    course.mkdir()
    path = course / "week3.toml"
    path.write_text(textwrap.dedent(SHARED).lstrip())
    return path


def library_ids(profile: str = "default") -> tuple[list[str], list[str]]:
    lib = load(load_settings(profile=profile)).library
    return [d.id for d in lib.decks], [str(p) for p in lib.problems]


def deck_list(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, dict]:  # type: ignore[type-arg]
    assert main(["deck", "list", "--json", *extra]) == 0
    return {d["id"]: d for d in json.loads(capsys.readouterr().out)["decks"]}


def test_an_added_deck_waits_for_trust_and_never_loads_before(
    shared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deck", "add", str(shared), "--no-trust"]) == 0
    out = capsys.readouterr().out
    assert "waiting for your trust" in out
    ids, problems = library_ids()
    assert "week3" not in ids
    assert any("'week3'" in p and "quiz deck trust week3" in p for p in problems)
    listed = deck_list(capsys)["week3"]
    assert (listed["trust"], listed["origin"], listed["version"]) == ("not trusted", str(shared), "1.0")

    assert main(["deck", "trust", "week3", "--yes"]) == 0
    shown = capsys.readouterr().out
    assert "x = torch.ones(${n})" in shown and "answer (runs after the code)" in shown
    assert "n = { int = [2, 5] }" in shown  # the vars, too
    ids, problems = library_ids()
    assert "week3" in ids and problems == []
    assert deck_list(capsys)["week3"]["trust"] == "trusted"


def test_trust_is_per_learner(shared: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deck", "add", str(shared), "--yes", "--profile", "ada"]) == 0
    assert "week3" in library_ids("ada")[0]
    assert "week3" not in library_ids("bob")[0]
    capsys.readouterr()
    assert deck_list(capsys, "--profile", "bob")["week3"]["trust"] == "not trusted"


def test_changed_code_is_left_out_until_trusted_again(
    shared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deck", "add", str(shared), "--yes"]) == 0
    copy = Path(capsys.readouterr().out.split("→ ")[1].split(":")[0])
    assert copy.exists() and copy != shared
    # Someone edits the copy in the library: its content is no longer what was trusted.
    copy.write_text(copy.read_text().replace("z = torch.zeros(2, 3)", "import os; z = torch.zeros(2, 3)"))
    ids, problems = library_ids()
    assert "week3" not in ids
    assert any("content changed since you trusted it" in p for p in problems)
    assert deck_list(capsys)["week3"]["trust"] == "changed"


def test_a_new_version_shows_only_the_cards_that_changed(
    shared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deck", "add", str(shared), "--yes"]) == 0
    capsys.readouterr()
    shared.write_text(
        shared.read_text()
        .replace('version = "1.0"', 'version = "1.1"')
        .replace("z = torch.zeros(2, 3)", "z = torch.zeros(3, 2)")
    )
    assert main(["deck", "add", str(shared), "--no-trust"]) == 0
    assert "week3" not in library_ids()[0]  # the update waits
    assert main(["deck", "add", str(shared), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "zeros-shape.torch" in out and "torch.zeros(3, 2)" in out
    assert "ones-sum.torch" not in out and "(1 card(s) the same as the version you trusted" in out
    assert "week3" in library_ids()[0]
    assert deck_list(capsys)["week3"]["version"] == "1.1"


def test_a_deck_may_not_shadow_a_builtin_one(
    shared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (Path(os.environ["QUIZ_BUILTIN_DECKS"]) / "w.toml").write_text(textwrap.dedent(SHARED).lstrip())
    assert main(["deck", "add", str(shared), "--yes"]) == 1
    assert "already has a deck 'week3'" in capsys.readouterr().err


def test_a_broken_deck_is_not_added(tmp_path: Path, shared: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[deck]\nid = "bad"\ntitle = "Bad"\n[[card]\nid = 1\n')
    assert main(["deck", "add", str(bad), "--yes"]) == 1
    err = capsys.readouterr().err
    assert "invalid TOML" in err and "not added" in err
    assert "bad" not in library_ids()[0]


def test_the_prompt_asks_on_a_terminal(shared: Path, tmp_path: Path) -> None:
    """A real terminal: the code is printed, the question asked, and `y` trusts."""
    env = {**os.environ, "COLUMNS": "100"}
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "quiz", "deck", "add", str(shared)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=tmp_path,
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(master, b"y\n")
            answered = True
        if proc.poll() is not None and not ready:
            break
    proc.wait(timeout=30)
    os.close(master)
    text = seen.decode(errors="replace")
    assert answered, text
    assert "torch.ones" in text and "Trust deck 'week3'" in text
    assert proc.returncode == 0 and "trusted" in text
    assert "week3" in library_ids()[0]


@pytest.mark.torch
def test_untrusted_code_never_runs_but_an_explicit_file_does(
    shared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deck", "add", str(shared), "--no-trust"]) == 0
    capsys.readouterr()
    # From the library: the card is not there to run.
    assert main(["grade", "week3/zeros-shape.torch", "--answer", "(2, 3)", "--json"]) == 2
    assert "no card" in json.loads(capsys.readouterr().out)["error"]
    # Named on the command line: the learner's own act, no prompt, it runs.
    assert main(["grade", "zeros-shape.torch", "--deck", str(shared), "--answer", "(2, 3)", "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["correct"] is True and verdict["expected"] == "(2, 3)"


def test_list_reads_the_deck_check_records(shared: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from quiz.checking.records import Records
    from quiz.core.decks import load_deck

    assert main(["deck", "add", str(shared), "--yes"]) == 0
    capsys.readouterr()
    assert deck_list(capsys)["week3"]["check"] == "not checked"
    deck, _ = load_deck(shared)
    assert deck is not None
    records = Records.load()
    records.record(deck.cards[0], {"torch": "2.13.0"}, {0: 4})
    records.save()
    assert deck_list(capsys)["week3"]["check"].startswith("partly checked (1/2, ")
    records.record(deck.cards[1], {"torch": "2.13.0"}, {0: [2, 3]})
    records.save()
    assert deck_list(capsys)["week3"]["check"].startswith("checked ")
