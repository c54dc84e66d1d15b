"""A hostile deck author against the trust review and the library (issue 11 §1, §2 last bullet).

Each test is an attack that worked before: a change only to `vars`, an
escape sequence hiding a line, a symlink in the added-decks folder, old bytes
restored with an old mtime, a pickle in the cache. Each shows it contained.
"""

from __future__ import annotations

import json
import os
import pickle
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from quiz import library as L
from quiz.cli import main
from quiz.config import load_settings

DECK = """
[deck]
id = "week3"
title = "Week 3"

[[card]]
id = "ones-sum.torch"
section = "autograd"
backend = "torch"
kind = "value"
prompt = "What is the sum?"
code = "s = int(torch.ones(${n}).sum())"
answer = "s"
explain = "Ones add up to n."
vars.n = { choice = ["2", "3"] }
"""
PAYLOAD = """2); open('/tmp/quiz-pwned', 'w').write('x'); (1"""


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    empty = tmp_path / "builtin"
    empty.mkdir()
    monkeypatch.setenv("QUIZ_BUILTIN_DECKS", str(empty))
    path = tmp_path / "course" / "week3.toml"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(DECK).lstrip())
    return path


def library_codes() -> dict[str, str]:
    return {c.uid: c.code for c in L.load(load_settings()).library.cards()}


def test_a_new_version_that_changes_only_vars_is_shown_and_waits_for_trust(
    shared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deck", "add", str(shared), "--yes"]) == 0
    capsys.readouterr()
    # The code is the same; the variable's strings are substituted into it unquoted.
    shared.write_text(shared.read_text().replace('["2", "3"]', json.dumps([PAYLOAD])))
    assert main(["deck", "add", str(shared), "--no-trust"]) == 0
    assert "week3/ones-sum.torch" not in library_codes()  # the new version waits
    assert main(["deck", "trust", "week3", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "run the same code" not in out and "0 the same" in out
    assert "vars (drawn; substituted into code, answer and texts)  changed" in out
    assert f"+n = {{ choice = {json.dumps([PAYLOAD])} }}" in out
    assert '-n = { choice = ["2", "3"] }' in out


ESCAPED = '''
[deck]
id = "hidden"
title = "Hidden"

[[card]]
id = "hide.torch"
section = "s"
backend = "torch"
kind = "value"
prompt = "p"
code = """
x = 1  # a harmless comment\\u001b[2K\\u001b[1A
import os; os.system("id")
"""
answer = "x"
explain = "e"
'''


def test_an_escape_sequence_in_code_is_refused_with_file_line_and_card(
    shared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "hidden.toml"
    bad.write_text(textwrap.dedent(ESCAPED).lstrip())
    assert main(["deck", "add", str(bad), "--yes"]) == 1
    err = capsys.readouterr().err
    assert f"{bad.resolve()}:12: card 'hide.torch': `code` holds the control character U+001B (ESC)" in err
    assert "\x1b" not in err and "not added" in err

    # Put straight into the added-decks folder: never in the library, never offered for trust.
    L.write_into_library(bad.read_bytes(), "hidden")
    contents = L.load(load_settings())
    assert contents.pending == [] and contents.library.decks == []
    (problem,) = contents.library.problems
    assert (problem.line, problem.card_id) == (12, "hide.torch") and "U+001B (ESC)" in problem.message
    assert main(["deck", "trust", "--yes"]) == 0
    assert "every added deck is trusted" in capsys.readouterr().out


def test_a_symlink_in_the_added_folder_to_an_untrusted_deck_never_runs(
    shared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = tmp_path / "evil.toml"
    evil.write_text(textwrap.dedent(DECK).lstrip().replace('id = "week3"', 'id = "evil"'))
    (L.added_dir() / "evil.toml").symlink_to(evil)
    assert library_codes() == {}
    assert main(["deck", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["decks"] == []
    assert any("symbolic link" in p["message"] for p in listed["problems"])
    assert main(["grade", "evil/ones-sum.torch", "--answer", "2", "--json"]) == 2


def test_old_bytes_restored_with_an_old_mtime_cannot_bring_back_a_stale_parse(
    shared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deck", "add", str(shared), "--yes"]) == 0
    copy = L.added_dir() / "week3.toml"
    trusted = copy.read_bytes()
    assert library_codes() == {"week3/ones-sum.torch": "s = int(torch.ones(${n}).sum())"}
    # A same-size edit: untrusted, left out — but parsed (and, before, cached by size and mtime).
    evil = trusted.replace(b"torch.ones(${n}).sum()", b"__import__('os').getpid() * ${n}")
    extra = len(evil) - len(trusted)
    evil = evil.replace(b"Ones add up to n.", b"Ones add up to n."[: len(b"Ones add up to n.") - extra])
    assert len(evil) == len(trusted)
    copy.write_bytes(evil)
    assert library_codes() == {}
    (entry,) = L.load(load_settings()).entries
    assert entry.trust == L.Trust.CHANGED and entry.deck is not None and "getpid" in entry.deck.cards[0].code
    evil_mtime = os.stat(copy).st_mtime_ns
    # The trusted bytes come back, with the mtime of the edit: the same size and mtime as the untrusted parse.
    copy.write_bytes(trusted)
    os.utime(copy, ns=(evil_mtime, evil_mtime))
    assert library_codes() == {"week3/ones-sum.torch": "s = int(torch.ones(${n}).sum())"}


class Boom:
    """Unpickling this creates a file: what a pickle written by card code could do in the app."""

    marker = ""

    def __reduce__(self) -> Any:
        return (Path.touch, (Path(self.marker),))


def test_pickles_in_the_cache_are_never_read(
    shared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from quiz import paths
    from quiz.session.prepared import first_card

    marker = tmp_path / "unpickled"
    Boom.marker = str(marker)
    payload = pickle.dumps(("fingerprint", Boom()))
    for name in ("library.pickle", "next-start-default.pickle", "library.json", "next-start-default.json"):
        (paths.cache_dir() / name).write_bytes(payload)
    assert main(["decks", "--json"]) == 0
    assert first_card(load_settings(), None, datetime.now().astimezone()) is None
    assert not marker.exists()
