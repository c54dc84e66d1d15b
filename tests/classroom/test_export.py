"""Interop: an Anki package whose truths come from running the cards; review history as CSV; cards from CSV."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import textwrap
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from quiz.cli import main
from quiz.core.decks import load_deck
from tests.classroom.test_backup import add_reviews
from tests.cli.conftest import lent  # noqa: F401  (fixture)

DECK = """
[deck]
id = "mini"
title = "Mini"

[[card]]
id = "ones-sum.torch"
section = "autograd"
backend = "torch"
kind = "value"
prompt = "What is `int(torch.ones(${n}).sum())`?"
code = '''
s = int(torch.ones(${n}).sum())
'''
answer = "s"
explain = "Ones add up to **n**."
tags = ["difficulty:easy"]
vars.n = { int = [2, 9] }

[[card]]
id = "t-shape.torch"
section = "reshape"
backend = "torch"
kind = "shape"
prompt = "What is `y.shape`?"
code = '''
y = torch.zeros(${a}, 3).t()
'''
answer = "y.shape"
explain = "t() swaps the axes."
vars.a = { int = [1, 4] }
"""


def read_apkg(path: Path, tmp_path: Path) -> tuple[list[dict[str, str]], list[str], dict]:  # type: ignore[type-arg]
    with zipfile.ZipFile(path) as z:
        assert "collection.anki2" in z.namelist() and "media" in z.namelist()
        z.extract("collection.anki2", tmp_path)
    conn = sqlite3.connect(tmp_path / "collection.anki2")
    try:
        models = json.loads(conn.execute("SELECT models FROM col").fetchone()[0])
        (model,) = models.values()
        names = [f["name"] for f in model["flds"]]
        notes = [
            dict(zip(names, flds.split("\x1f"))) | {"_tags": tags, "_guid": guid}
            for flds, tags, guid in conn.execute("SELECT flds, tags, guid FROM notes ORDER BY id")
        ]
        guids = [n["_guid"] for n in notes]
        assert conn.execute("SELECT count(*) FROM cards").fetchone()[0] == len(notes)
    finally:
        conn.close()
    return notes, guids, model


@pytest.mark.torch
# On the session's warm runner (lent): --jobs 1 asks for the pool of one it stands in for.
@pytest.mark.usefixtures("lent")
def test_anki_package_holds_variants_with_executed_truths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deck = tmp_path / "mini.toml"
    deck.write_text(textwrap.dedent(DECK).lstrip())
    out = tmp_path / "mini.apkg"
    argv = [str(deck), "--variants", "4", "--device", "cpu", "--jobs", "1"]
    assert main(["export", "--anki", str(out), *argv, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["notes"] == 8 and summary["variants_failed"] == [] and summary["cards"] == 2
    notes, guids, model = read_apkg(out, tmp_path)
    assert model["name"] == "quiz card (truth by execution)"
    assert len(notes) == 8 and len(set(guids)) == 8
    sums = [n for n in notes if n["Card"] == "mini/ones-sum.torch"]
    assert sorted(n["Seed"] for n in sums) == ["0", "1", "2", "3"]
    for note in sums:
        n = int(note["Values"].split("=")[1])
        assert note["Truth"] == str(n)  # the truth came from running torch.ones(n).sum()
        assert f"torch.ones({n})" in note["Code"] and "<code>" in note["Prompt"]
        assert note["Versions"].startswith("torch 2.") and note["Backend"] == "torch"
        assert "<strong>n</strong>" in note["Explain"]
        assert "section::autograd" in note["_tags"] and "difficulty:easy" in note["_tags"]
    for note in (n for n in notes if n["Card"] == "mini/t-shape.torch"):
        a = int(note["Values"].split("=")[1])
        assert note["Truth"] == f"(3, {a})"
    # Exporting again gives the same note ids: Anki updates the notes instead of adding copies.
    again = tmp_path / "again.apkg"
    assert main(["export", "--anki", str(again), *argv]) == 0
    (tmp_path / "second").mkdir()
    assert read_apkg(again, tmp_path / "second")[1] == guids


def test_anki_export_of_an_unknown_deck_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--anki", "x.apkg", "no-such-deck"]) == 2
    err = capsys.readouterr().err
    assert "no deck 'no-such-deck'" in err and "no decks to export" in err


def test_review_history_as_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    add_reviews(url, 3, profile="ada")
    add_reviews(url, 2, profile="bob")
    out = tmp_path / "reviews.csv"
    assert main(["export", "--csv", str(out), "--db", url, "--profile", "ada"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 3 and {r["profile"] for r in rows} == {"ada"}
    first = rows[0]
    assert first["card"] == "d/c0" and first["deck"] == "d" and first["rating"] == "3"
    assert json.loads(first["variables"]) == {"i": 0} and first["correct"] == "true"
    assert datetime.fromisoformat(first["reviewed_at"]) == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    capsys.readouterr()
    assert main(["export", "--csv", "-", "--all-profiles", "--db", url]) == 0
    everyone = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(everyone) == 5 and len({r["uuid"] for r in everyone}) == 5


# Quotes, a TOML string delimiter and a backslash in card code must survive the trip.
QUOTES_CODE = "s = 'a' + \"'''\" + \"b\" + '\\\\'"
# A `raises` card's explanation must name what it raises (`quiz deck check`'s explain-raises).
VIEW_EXPLAIN = "After `t()` the layout is not contiguous, so `view` raises `RuntimeError`."
CARD_ROWS = [
    ["prompt", "code", "answer", "backend", "kind", "choices", "section", "explain"],
    [
        "What is `y.shape`?",
        "x = torch.zeros(2, 3)\ny = x.t()",
        "y.shape",
        "torch",
        "shape",
        "",
        "reshape",
        "",
    ],
    ["What dtype is `x`?", "x = torch.arange(3)", "x.dtype", "torch", "dtype", "", "", ""],
    [
        "Does the last line raise?",
        "x = torch.zeros(2, 3).t()\nx.view(-1)",
        "",
        "torch",
        "raises",
        "",
        "",
        VIEW_EXPLAIN,
    ],
    [
        "Is it a view?",
        "x = torch.zeros(4)\ny = x[:2]",
        "'view' if y.data_ptr() == x.data_ptr() else 'copy'",
        "torch",
        "choice",
        "view|copy",
        "",
        "",
    ],
    ["Quotes survive?", QUOTES_CODE, "len(s)", "torch", "value", "", "", ""],
]


@pytest.mark.torch
def test_cards_from_csv_make_a_deck_that_passes_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], runner: Any
) -> None:
    from quiz.checking.check import CheckOptions, run_check
    from quiz.commands.common import PoolOfOne

    src = tmp_path / "cards.csv"
    with src.open("w", newline="") as f:
        csv.writer(f).writerows(CARD_ROWS)
    out = tmp_path / "imported.toml"
    assert main(["import", "--csv", str(src), "--out", str(out), "--id", "imported", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cards"] == 5
    deck, problems = load_deck(out)
    assert problems == [] and deck is not None
    assert [c.kind.value for c in deck.cards] == ["shape", "dtype", "raises", "choice", "value"]
    assert deck.cards[0].section == "reshape" and deck.cards[1].section == "imported"
    assert deck.cards[4].code.strip() == QUOTES_CODE
    report = run_check(  # on the session's warm runner, as a pool of one
        [str(out)],
        CheckOptions(variants=1, search=0, backends=("torch",), device="cpu", record=False),
        pool=PoolOfOne(runner),
    )
    assert report.ok, [f.message for r in report.failed for f in r.flags]
    assert len(report.passed) == 5


def test_a_bad_table_writes_nothing_and_lists_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "bad.csv"
    src.write_text(
        "prompt,code,answer,backend,kind\nQ,x = 1,x,jax,value\n,x = 1,x,torch,shapes\nQ,x=1,,torch,value\n"
    )
    out = tmp_path / "bad.toml"
    assert main(["import", "--csv", str(src), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{src}:2: backend 'jax'" in err
    assert f"{src}:3: `prompt` is empty" in err and f"{src}:3: kind 'shapes'" in err
    assert f"{src}:4: `answer` is empty" in err and "nothing was written" in err
    assert not out.exists()
