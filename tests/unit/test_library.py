"""quiz.library: the review lists every field, the cache is keyed by content and sealed, links are refused."""

from __future__ import annotations

import json
import os
import pickle
import textwrap
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

from quiz import library as L
from quiz import trust_review as R
from quiz.config import load_settings
from quiz.core.card_data import deck_data, deck_from_data, exact, variant_data, variant_from_data
from quiz.core.cards import Backend, Card, Deck, Kind, Location, Tolerance
from quiz.core.decks import DeckLimits, load_library, parse_deck
from quiz.core.variables import draw_variant
from quiz.sealed import read_sealed, write_sealed

ROOT = Path(__file__).resolve().parents[2]

DECK = """
[deck]
id = "shared"
title = "Shared"

[[card]]
id = "sum.torch"
section = "reductions"
backend = "torch"
kind = "value"
prompt = "What is `y`?"
code = "y = int(torch.arange(${n}).sum())"
answer = "y"
explain = "0 + 1 + ... + (n - 1)."
vars.n = { int = [2, 9] }
"""


def a_card(**kw: Any) -> Card:
    base: dict[str, Any] = dict(
        deck_id="d",
        id="c.torch",
        section="s",
        backend=Backend.TORCH,
        kind=Kind.VALUE,
        prompt="p",
        code="x = 1",
        answer="x",
        explain="e",
        family="c",
    )
    base.update(kw)
    return Card(**base)


def other_value(name: str, value: Any) -> Any:
    """A different value of the same type, for any field type a Card has (or will have)."""
    if name == "variables":
        return (*value, ("n", {"choice": ["1); import os; os.system('id'); (1"]}))
    if isinstance(value, bool):
        return not value
    if isinstance(value, Backend):
        return Backend.MXNET if value != Backend.MXNET else Backend.TORCH
    if isinstance(value, Kind):
        return Kind.SHAPE if value != Kind.SHAPE else Kind.VALUE
    if isinstance(value, str):
        return value + " + __import__('os').system('id')"
    if value is None:
        return "__import__('os').system('id')"
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, Tolerance):
        return Tolerance(rtol=value.rtol * 10)
    if isinstance(value, Location):
        return Location(value.path, (value.line or 0) + 7)
    if isinstance(value, dict):
        return {**value, "torch": ">=2.1"}
    if isinstance(value, tuple):
        return (*value, "import os; os.system('id')")
    raise AssertionError(f"no other value for {value!r}: teach this test the new field's type")


def test_every_card_field_is_listed_or_declared_irrelevant() -> None:
    names = {f.name for f in fields(Card)}
    assert not set(R.LISTED) & set(R.NOT_LISTED)
    undecided = names - set(R.LISTED) - set(R.NOT_LISTED)
    assert not undecided, f"decide whether the trust review lists {sorted(undecided)} (quiz.library.LISTED)"
    assert {f.name for f in fields(Deck)} <= set(R.DECK_LISTED) | set(R.DECK_NOT_LISTED)


@pytest.mark.parametrize("name", [f.name for f in fields(Card)])
def test_a_change_to_any_listed_field_is_shown_as_a_change(name: str) -> None:
    before = a_card()
    after = replace(before, **{name: other_value(name, getattr(before, name))})
    old = Deck("d", "D", "d.toml", (before,))
    new = Deck("d", "D", "d.toml", (after,))
    review = R.review(new, old)
    if name in R.NOT_LISTED:
        # Not a field of the card's content: a moved card is the same card; another id is another card.
        if name == "id":
            assert {c.status for c in review.cards} == {"new", "removed"}
        else:
            assert review.cards == () and review.unchanged == 1
        return
    (card,) = review.cards
    assert card.status == "changed"
    changed = [f for f in card.fields if f.changed]
    assert [f.name for f in changed] == [name]
    assert changed[0].before is not None and changed[0].diff()


def test_a_vars_only_change_is_in_the_review() -> None:
    """The attack: a new version changes only `vars`, whose strings go into the code unquoted."""
    deck, _ = parse_deck(textwrap.dedent(DECK), "a.toml")
    evil, _ = parse_deck(
        textwrap.dedent(DECK).replace(
            "vars.n = { int = [2, 9] }", """vars.n = { choice = ["3); __import__('os').system('id'); (1"] }"""
        ),
        "a.toml",
    )
    assert deck is not None and evil is not None
    review = R.review(evil, deck)
    (card,) = review.cards
    (vars_field,) = [f for f in card.fields if f.changed]
    assert vars_field.name == "variables"
    assert """+n = { choice = ["3); __import__('os').system('id'); (1"] }""" in vars_field.diff()
    # The code is listed too, so the learner sees where the vars go.
    assert any(f.name == "code" and "${n}" in f.text for f in card.fields)


def test_a_new_deck_lists_every_field_that_runs_or_is_told() -> None:
    deck, _ = parse_deck(textwrap.dedent(DECK), "a.toml")
    assert deck is not None
    (card,) = R.review(deck).cards
    listed = {f.name: f.text for f in card.fields}
    assert {"prompt", "code", "variables", "answer", "explain", "section"} <= set(listed)
    assert listed["variables"] == "n = { int = [2, 9] }"
    assert card.heading == "torch · value" and card.status == "new"


def test_only_comments_changed_lists_no_card() -> None:
    deck, _ = parse_deck(textwrap.dedent(DECK), "a.toml")
    moved, _ = parse_deck("# a comment\n\n" + textwrap.dedent(DECK), "a.toml")
    assert deck is not None and moved is not None
    review = R.review(moved, deck)
    assert review.cards == () and review.unchanged == 1 and review.deck == ()


# --- the cache: JSON, sealed, keyed by content ---------------------------------------------------


def test_every_builtin_deck_and_variant_comes_back_exactly_from_json() -> None:
    lib = load_library([ROOT / "decks"])
    for deck in lib.decks:
        assert exact(deck, deck_from_data(json.loads(json.dumps(deck_data(deck))))), deck.id
    for card in lib.cards()[:60]:
        v = draw_variant(card, 7)
        assert exact(v, variant_from_data(json.loads(json.dumps(variant_data(v))))), card.uid


def test_a_sealed_file_edited_or_written_without_the_key_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    assert write_sealed(path, {"code": "x = 1"})
    assert read_sealed(path) == {"code": "x = 1"}
    head, body = path.read_bytes().split(b"\n", 1)
    path.write_bytes(head + b"\n" + body.replace(b"x = 1", b"x = 2"))
    assert read_sealed(path) is None
    path.write_bytes(b'quiz-sealed-json 1 0000\n{"code": "x = 2"}')
    assert read_sealed(path) is None
    path.write_bytes(pickle.dumps({"code": "x = 2"}))
    assert read_sealed(path) is None


def _builtin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str = DECK) -> Path:
    folder = tmp_path / "builtin"
    folder.mkdir(exist_ok=True)
    monkeypatch.setenv("QUIZ_BUILTIN_DECKS", str(folder))
    path = folder / "shared.toml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_the_cache_is_keyed_by_content_not_size_and_mtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _builtin(tmp_path, monkeypatch)
    settings = load_settings()
    first = L.load(settings).library.cards()[0]
    st = os.stat(path)
    # Same size, same mtime, other bytes: a (size, mtime) cache would serve the old parse.
    path.write_text(path.read_text().replace("sum()", "max()"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_size == st.st_size
    second = L.load(settings).library.cards()[0]
    assert "max()" in second.code and first.code != second.code


def test_a_forged_cache_entry_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from quiz import paths

    _builtin(tmp_path, monkeypatch)
    settings = load_settings()
    L.load(settings)  # writes the cache
    cache = paths.cache_dir() / L.CACHE_FILE
    head, body = cache.read_bytes().split(b"\n", 1)
    # Someone without the key rewrites the parse of the very same file (its hash still matches).
    cache.write_bytes(
        head + b"\n" + body.replace(b"torch.arange", b"__import__('os').system('id') or torch.arange")
    )
    assert "__import__" not in L.load(settings).library.cards()[0].code
    # And an old pickle cache (what quiz used to write) is never read: loading it would run this.
    marker = tmp_path / "unpickled"

    class Boom:
        def __reduce__(self) -> Any:
            return (Path.touch, (marker,))

    (paths.cache_dir() / "library.pickle").write_bytes(pickle.dumps(("x", Boom())))
    cache.unlink()
    L.load(settings)
    assert not marker.exists()


# --- the added-decks folder ----------------------------------------------------------------------


def test_links_in_the_added_folder_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _builtin(tmp_path, monkeypatch, '[deck]\nid = "empty"\ntitle = "E"\n')
    outside = tmp_path / "evil.toml"
    outside.write_text(textwrap.dedent(DECK).replace('id = "shared"', 'id = "evil"'))
    folder = L.added_dir()
    (folder / "evil.toml").symlink_to(outside)
    other = tmp_path / "other.toml"
    other.write_text(textwrap.dedent(DECK).replace('id = "shared"', 'id = "linked"'))
    os.link(other, folder / "linked.toml")
    contents = L.load(load_settings(), pinned={})
    assert [d.id for d in contents.library.decks] == ["empty"]
    assert contents.pending == []  # not even offered for trust
    messages = " ".join(p.message for p in contents.library.problems)
    assert "symbolic link" in messages and "2 hard links" in messages
    states = {e.path.name: e.trust for e in contents.entries}
    assert states["evil.toml"] == states["linked.toml"] == L.Trust.REFUSED


def test_unreadable_pins_leave_every_added_deck_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _builtin(tmp_path, monkeypatch, '[deck]\nid = "empty"\ntitle = "E"\n')
    L.write_into_library(textwrap.dedent(DECK).encode(), "shared")
    (tmp_path / "not-a-db").write_bytes(b"garbage" * 1000)
    settings = load_settings(db_url=f"sqlite:///{tmp_path / 'not-a-db'}")
    contents = L.load(settings)
    assert [d.id for d in contents.library.decks] == ["empty"]
    assert any("cannot read which decks you trust" in p.message for p in contents.library.problems)


def test_the_limits_come_from_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from quiz import paths

    _builtin(tmp_path, monkeypatch)
    (paths.config_dir() / "config.toml").write_text("deck_max_cards = 1\ndeck_max_bytes = 200\n")
    settings = load_settings()
    assert L.limits(settings) == DeckLimits(max_bytes=200, max_cards=1)
    (problem,) = L.load(settings).library.problems
    assert "raise `deck_max_bytes` in config.toml" in problem.message
    (paths.config_dir() / "config.toml").write_text("deck_max_bytes = 0\n")
    with pytest.raises(ValueError, match="deck_max_bytes must be a whole number above 0"):
        load_settings()


def test_the_cache_is_used_for_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache quiz wrote (sealed with the key) serves a file whose bytes hash as recorded: no re-parse."""
    from quiz import paths

    _builtin(tmp_path, monkeypatch)
    settings = load_settings()
    L.load(settings)
    cache = paths.cache_dir() / L.CACHE_FILE
    data = read_sealed(cache)
    assert isinstance(data, dict)
    (entry,) = data["files"].values()
    entry["deck"]["title"] = "from the cache"
    write_sealed(cache, data)
    assert L.load(settings).library.decks[0].title == "from the cache"


def test_the_prepared_start_and_a_library_without_added_decks_import_no_database_layer(
    tmp_path: Path,
) -> None:
    """The first paint reads the prepared card and the fingerprint; neither needs SQLAlchemy or Textual."""
    import subprocess
    import sys

    code = (
        "import sys, json\n"
        "from datetime import datetime, UTC\n"
        "from quiz.config import load_settings\n"
        "from quiz import library\n"
        "from quiz.session.prepared import first_card\n"
        "s = load_settings()\n"
        "first_card(s, None, datetime.now(UTC))\n"
        "library.fingerprint(s)\n"
        "assert library.load(s).library.decks\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    env = {**os.environ, "QUIZ_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert {"sqlalchemy", "textual", "alembic", "torch"} & set(json.loads(out.stdout)) == set()


def test_a_key_others_could_read_or_a_linked_key_seals_nothing(tmp_path: Path) -> None:
    from quiz import paths
    from quiz.sealed import KEY_FILE

    path = tmp_path / "c.json"
    assert write_sealed(path, {"a": 1}) and read_sealed(path) == {"a": 1}
    key = paths.data_dir() / KEY_FILE
    assert key.stat().st_mode & 0o777 == 0o600
    key.chmod(0o644)
    assert read_sealed(path) is None and not write_sealed(path, {"a": 2})
    key.chmod(0o600)
    elsewhere = tmp_path / "their.key"
    elsewhere.write_bytes(key.read_bytes())
    elsewhere.chmod(0o600)
    key.unlink()
    key.symlink_to(elsewhere)
    assert read_sealed(path) is None
