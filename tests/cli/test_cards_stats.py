"""`quiz cards` and `quiz stats` as a learner and a script use them: filters, --json, operations that ask
first, --history with the variants shown, --edit, and deck text that tries to write to the terminal."""

from __future__ import annotations

import io
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from quiz.cli import main
from tests.decks_for_study import Clock, make_study, rate

pytestmark = [pytest.mark.torch, pytest.mark.tensorflow]


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The two study decks as the built-in library, and a database with a little history."""
    clock = Clock()
    study = make_study(tmp_path, clock)
    mm = study.cards["beta/mm.torch"]
    rate(study, mm, 1, correct=False)
    clock.advance(minutes=2)
    rate(study, mm, 3)
    study.store.dispose()
    monkeypatch.setenv("QUIZ_BUILTIN_DECKS", str(tmp_path / "decks"))
    return study.settings.db_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code, out, _ = run(capsys, *argv, "--json")
    return code, json.loads(out)


def test_list_and_filters(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "cards", "--db", db)
    assert code == 0 and data["total"] == 6 and len(data["cards"]) == 6
    assert data["counts"]["new"] == 5 and data["counts"]["learning"] == 1
    code, data = run_json(capsys, "cards", "--db", db, "--tag", "interview", "--backend", "torch")
    assert [c["uid"] for c in data["cards"]] == ["alpha/detach.torch", "beta/mm.torch"]
    code, data = run_json(capsys, "cards", "shape", "--db", db, "--deck", "beta,alpha", "--kind", "shape")
    assert {c["uid"] for c in data["cards"]} == {"alpha/zeros.torch", "beta/mm.torch", "beta/bmm.torch"}
    code, data = run_json(capsys, "cards", "--db", db, "--state", "learning")
    (row,) = data["cards"]
    assert (row["uid"], row["reviews"], row["correct"], row["graded"]) == ("beta/mm.torch", 2, 1, 2)
    code, data = run_json(capsys, "cards", "--db", db, "--limit", "2", "--offset", "5")
    assert (data["total"], len(data["cards"])) == (6, 1)
    code, out, _ = run(capsys, "cards", "--db", db, "--section", "matmul")
    assert code == 0 and "beta/mm.torch" in out and "learning" in out and "2 of 2 card(s)" in out


def test_bad_filters_are_one_line_errors(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "cards", "--db", db, "--state", "forgotten")
    assert code == 2 and err.strip().count("\n") == 0 and "suspended" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exit_:
        main(["cards", "--db", db, "--no-such-option"])
    assert exit_.value.code == 2
    code, out, err = run(capsys, "cards", "nothing-matches-this", "--db", db)
    assert code == 1 and "no card matches" in out


def test_suspend_asks_for_several_then_unsuspend_brings_them_back(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # a script: nobody to ask
    code, _, err = run(capsys, "cards", "--db", db, "--tag", "interview", "--suspend")
    assert code == 2 and "3 cards match; add --yes" in err
    code, data = run_json(capsys, "cards", "--db", db, "--state", "suspended")
    assert data["total"] == 0  # nothing was changed
    code, data = run_json(capsys, "cards", "--db", db, "--tag", "interview", "--suspend", "--yes")
    assert (code, data["action"], data["matched"], data["changed"]) == (0, "suspend", 3, 3)
    code, data = run_json(capsys, "cards", "--db", db, "--state", "suspended")
    assert data["total"] == 3 and data["counts"]["suspended"] == 3
    code, data = run_json(capsys, "cards", "--db", db, "--state", "suspended", "--unsuspend", "--yes")
    assert data["changed"] == 3
    code, data = run_json(capsys, "cards", "--db", db, "--state", "suspended")
    assert data["total"] == 0
    code, _, err = run(capsys, "cards", "--db", db, "--suspend", "--yes")  # no search: every card
    assert code == 2 and "needs a search" in err


def test_one_card_needs_no_confirmation_and_reset_keeps_the_history(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "cards", "bmm", "--db", db, "--bury")
    assert code == 0 and "1 of 1 card(s) buried until tomorrow" in out
    code, data = run_json(capsys, "cards", "--db", db, "--state", "buried")
    assert [c["uid"] for c in data["cards"]] == ["beta/bmm.torch"] and data["cards"][0]["buried_until"]
    code, data = run_json(capsys, "cards", "--db", db, "--state", "buried", "--unbury")
    assert data["changed"] == 1
    code, data = run_json(capsys, "cards", "--db", db, "--state", "learning", "--reset")
    assert (data["matched"], data["changed"], data["cards"]) == (1, 1, ["beta/mm.torch"])
    code, data = run_json(capsys, "cards", "--db", db, "--history", "beta/mm.torch")
    assert len(data["reviews"]) == 2
    code, data = run_json(capsys, "cards", "mm.torch", "--db", db)
    assert data["cards"][0]["state"] == "new" and data["cards"][0]["reviews"] == 2


def test_history_shows_each_variant(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "cards", "--db", db, "--history", "mm.torch")
    assert data["card"] == "beta/mm.torch"
    newest, oldest = data["reviews"]
    assert (newest["rating_name"], oldest["rating_name"]) == ("Good", "Again")
    assert (oldest["correct"], oldest["seed"], oldest["answer"]) == (False, 1, "True")
    assert "variables" in oldest and oldest["backend"] == "torch"
    code, out, _ = run(capsys, "cards", "--db", db, "--history", "beta/mm.torch")
    assert code == 0 and "Again (1)" in out and "variant: seed 1" in out
    code, out, err = run(capsys, "cards", "--db", db, "--history", "no-such-card")
    assert code == 2 and "no card" in err


def test_edit_opens_the_deck_file_at_the_cards_line(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "editor-args.json"
    editor = tmp_path / "fake-editor"
    editor.write_text(
        f"#!{sys.executable}\nimport json, sys\njson.dump(sys.argv[1:], open({str(log)!r}, 'w'))\n"
    )
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.delenv("VISUAL", raising=False)
    code, _, _ = run(capsys, "cards", "--db", db, "--edit", "alpha/zeros.torch")
    assert code == 0
    path = tmp_path / "decks" / "alpha.toml"
    args = json.loads(log.read_text())
    line = int(args[0].lstrip("+"))
    assert args == [f"+{line}", str(path)]
    assert path.read_text().splitlines()[line - 1].strip() == "[[card]]"
    assert 'id = "zeros.torch"' in path.read_text().splitlines()[line]
    code, data = run_json(capsys, "cards", "--db", db, "--edit", "alpha/zeros.torch")
    assert data["command"] == [str(editor), f"+{line}", str(path)]


def test_deck_text_cannot_write_to_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    decks = tmp_path / "hostile"
    decks.mkdir()
    (decks / "evil.toml").write_text(
        textwrap.dedent(
            r"""
            [deck]
            id = "evil"
            title = "Evil"

            [[card]]
            id = "esc.torch"
            section = "s"
            backend = "torch"
            kind = "shape"
            prompt = "Shape?\u001b]0;pwned\u0007\u001b[2J gone"
            code = "y = torch.zeros(2)"
            answer = "y.shape"
            explain = "."
            """
        ).lstrip()
    )
    monkeypatch.setenv("QUIZ_BUILTIN_DECKS", str(decks))
    code, out, err = run(capsys, "cards", "--db", f"sqlite:///{tmp_path / 'q.db'}")
    assert "\x1b" not in out + err and "\x07" not in out + err
    if code == 0:  # the deck loaded: its prompt is shown with the escapes made visible
        assert "evil/esc.torch" in out and "\\x1b" in out


def test_stats_json(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "stats", "--db", db, "--forecast-days", "7")
    assert code == 0
    assert set(data) >= {"today", "heatmap", "forecast", "retention", "hardest", "streak", "total_reviews"}
    assert data["total_reviews"] == 2 and len(data["forecast"]) == 7 and len(data["heatmap"]["days"]) == 365
    assert [p["period"] for p in data["retention"]] == ["today", "yesterday", "week", "month", "year", "all"]
    assert data["hardest"][0]["uid"] == "beta/mm.torch" and data["hardest"][0]["file"].endswith("beta.toml")
    code, out, _ = run(capsys, "stats", "--db", db)
    assert code == 0 and "2 reviews" in out and "last 30 days" in out and "Hardest cards:" in out
