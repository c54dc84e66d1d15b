"""`quiz class report`: per learner and per section, from a class's real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from quiz.cli import main
from quiz.core.scheduling import Memory, make_scheduler, review
from quiz.store import repo
from quiz.store.classroom import commit_review
from quiz.store.db import open_store
from quiz.store.models import Exam, ExamAnswer, Profile

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

DECK = """
[deck]
id = "cls"
title = "Class deck"
[deck.sections]
autograd = "Automatic differentiation"
reshape = "Reshaping"

[[card]]
id = "a1.torch"
section = "autograd"
backend = "torch"
kind = "bool"
prompt = "p"
code = "x = 1"
answer = "x == 1"
explain = "e"

[[card]]
id = "r1.torch"
section = "reshape"
backend = "torch"
kind = "bool"
prompt = "p"
code = "x = 1"
answer = "x == 1"
explain = "e"
"""


@pytest.fixture
def decks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "decks"
    folder.mkdir()
    (folder / "cls.toml").write_text(textwrap.dedent(DECK).lstrip())
    monkeypatch.setenv("QUIZ_BUILTIN_DECKS", str(folder))
    return folder


def answer(store, profile: str, uid: str, rating: int, when: datetime, correct: bool | None) -> Memory:  # type: ignore[no-untyped-def]
    item = repo.ReviewInput(
        card_uid=uid,
        deck_id=uid.split("/")[0],
        seed=1,
        variables={},
        answer_given="yes",
        expected="yes",
        correct=correct,
        error=None if correct is not None else "timeout",
        rating=rating,
        backend="torch",
        device="cpu",
        framework_version="2.13.0",
        response_ms=2000,
        run_ms=0.2,
        shown_at=when,
        reviewed_at=when,
    )
    return commit_review(store, profile, item, lambda m: review(m, rating, when, make_scheduler()))[1]


def fill_class(url: str) -> None:
    """ada: autograd learned then one lapse and one recall; bob: reshape only; cy: enrolled, no work yet."""
    store = open_store(url)
    try:
        # ada / autograd: new → Good → Good (learning → review), then two reviews of a learned card.
        t = T0
        for rating in (3, 3, 4):
            answer(store, "ada", "cls/a1.torch", rating, t, True)
            t += timedelta(days=1)
        assert answer(store, "ada", "cls/a1.torch", 1, t + timedelta(days=9), False).lapses == 1  # forgot
        # ada / reshape: one new card, not gradable (timed out)
        answer(store, "ada", "cls/r1.torch", 3, T0, None)
        # bob / reshape: learned and recalled twice
        t = T0
        for rating in (4, 3, 3):
            answer(store, "bob", "cls/r1.torch", rating, t, rating != 4)
            t += timedelta(days=20)
        with store.session() as s:
            s.add_all(
                [
                    Profile(name="ada", display_name="Ada L.", created_at=T0),
                    Profile(name="cy", display_name=None, created_at=T0),
                ]
            )
            exam = Exam(
                uuid="e-1",
                profile="ada",
                started_at=T0,
                finished_at=T0 + timedelta(minutes=9),
                config={},
                score=3,
                total=4,
                report=None,
            )
            exam.answers = [
                ExamAnswer(
                    position=i,
                    card_uid=uid,
                    seed=i,
                    variables={},
                    section=sec,
                    backend="torch",
                    kind="bool",
                    answer_given="yes",
                    expected="yes",
                    correct=ok,
                    error=None,
                    time_ms=900,
                    answered_at=T0,
                )
                for i, (uid, sec, ok) in enumerate(
                    [
                        ("cls/a1.torch", "autograd", True),
                        ("cls/a1.torch", "autograd", True),
                        ("cls/r1.torch", "reshape", True),
                        ("cls/r1.torch", "reshape", False),
                    ]
                )
            ]
            s.add(exam)
            s.add(
                Exam(
                    uuid="e-2",
                    profile="bob",
                    started_at=T0,
                    finished_at=None,
                    config={},
                    score=None,
                    total=None,
                    report=None,
                )
            )  # abandoned: taken, not scored
            s.commit()
    finally:
        store.dispose()


def report_json(url: str, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:  # type: ignore[type-arg]
    assert main(["class", "report", "--db", url, "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_per_learner_and_per_section(db_url: str, decks: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill_class(db_url)
    r = report_json(db_url, capsys)
    learners = {x["profile"]: x for x in r["learners"]}
    assert sorted(learners) == ["ada", "bob", "cy"]
    ada, bob, cy = learners["ada"], learners["bob"], learners["cy"]
    assert ada["display_name"] == "Ada L."
    assert ada["reviews"] == 5 and bob["reviews"] == 3 and cy["reviews"] == 0
    # Retention counts reviews of learned cards: ada's autograd card was learned for 2 reviews
    # (the Easy one and the forgotten one), bob's reshape card for 2 (both recalled).
    assert ada["sections"]["autograd"]["learned_reviews"] == 2
    assert ada["sections"]["autograd"]["retention"] == 0.5
    assert bob["retention"] == 1.0 and bob["learned_reviews"] == 2
    assert cy["retention"] is None and cy["exams"]["taken"] == 0
    # Graded answers: ada 3 right of 4 graded (the timed-out one is not graded).
    assert (ada["graded"], ada["correct_rate"]) == (4, 0.75)
    assert ada["exams"] == {"taken": 1, "finished": 1, "mean_score": 0.75, "last_score": 0.75}
    assert bob["exams"] == {"taken": 1, "finished": 0, "mean_score": None, "last_score": None}
    assert ada["sections"]["reshape"]["exam_correct_rate"] == 0.5
    sections = {x["section"]: x for x in r["sections"]}
    assert sections["autograd"]["title"] == "Automatic differentiation"
    assert sections["reshape"]["learners"] == 2 and sections["reshape"]["reviews"] == 4
    assert sections["reshape"]["retention"] == 1.0
    assert r["class"]["reviews"] == 8 and r["class"]["learners"] == 3
    assert r["class"]["retention"] == 0.75  # 3 recalled of 4 learned reviews


def test_section_filter_and_since(db_url: str, decks: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill_class(db_url)
    r = report_json(db_url, capsys, "--section", "autograd")
    assert [x["profile"] for x in r["learners"]] == ["ada"]
    assert [x["section"] for x in r["sections"]] == ["autograd"]
    assert r["class"]["reviews"] == 4
    r = report_json(db_url, capsys, "--since", "2026-11-12")
    learners = {x["profile"]: x for x in r["learners"]}
    assert learners["ada"]["reviews"] == 1  # the lapse, on day 12
    assert learners["bob"]["reviews"] == 2


def test_markdown_tables(db_url: str, decks: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill_class(db_url)
    assert main(["class", "report", "--db", db_url, "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Class report")
    assert "| Ada L. (ada) | 5 | 50% | 75% | 1 | 75% | 75% | 2026-11-14 |" in out
    assert "| Automatic differentiation (`autograd`) | 1 | 4 | 50% | 75% | 100% |" in out
    assert "| bob | `reshape` | 3 | 100% | 67% | – |" in out


def test_an_unreachable_class_server_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["class", "report", "--db", f"postgresql://t@127.0.0.1:{port}/c"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the database server" in err and "Traceback" not in err
