"""A backend that is not installed: its cards are unavailable with the install hint, never a crash."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from quiz.cli import main
from tests.cli.test_cli import DECK


@pytest.fixture
def no_mxnet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUIZ_HIDE_BACKENDS", "mxnet")


def test_grading_a_card_of_a_missing_backend_says_how_to_install_it(
    no_mxnet: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deck = tmp_path / "cli.toml"
    deck.write_text(textwrap.dedent(DECK).lstrip())
    code = main(["grade", "expand.mxnet", "--answer", "(2, 3)", "--deck", str(deck), "--json"])
    verdict = json.loads(capsys.readouterr().out)
    assert code == 3
    assert verdict["correct"] is None
    assert "not installed" in verdict["error"] and "pip install" in verdict["error"]


@pytest.mark.torch
def test_study_skips_the_missing_backends_cards(
    no_mxnet: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: Any
) -> None:
    from quiz.config import load_settings
    from quiz.session.compose import build_study

    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "cli.toml").write_text(textwrap.dedent(DECK).lstrip())
    monkeypatch.setenv("QUIZ_BUILTIN_DECKS", str(decks))
    # The session's warm runner: a hidden backend is hidden from whoever asks (QUIZ_HIDE_BACKENDS).
    settings = load_settings(db_url=f"sqlite:///{tmp_path / 'q.db'}", device="cpu")
    study = build_study(settings, None, runner=runner)
    seen = []
    try:
        while (card := study.next_card()) is not None and len(seen) < 5:
            seen.append(card.backend.value)
            answered = study.grade(card, study.prepare(card), "(1, 1)", study.clock())
            study.rate(answered, 4)
    finally:
        study.store.dispose()
    assert "mxnet" not in seen and set(seen) == {"torch", "tensorflow"}
