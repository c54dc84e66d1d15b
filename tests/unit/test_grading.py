"""Verdicts: the parsed answer against the normalised truth; ungradable runs are never 'wrong'."""

from __future__ import annotations

from quiz.core.answers import parse_answer
from quiz.core.cards import Kind, Tolerance
from quiz.core.grading import RunResult, format_truth, judge, same_value, suggest_rating
from tests.factories import card


def run(truth: object, **kw: object) -> RunResult:
    return RunResult(
        ok=True, truth=truth, backend="torch", device="cpu", version="2.13.0", elapsed_ms=0.5, **kw
    )  # type: ignore[arg-type]


def test_shape_exact_no_broadcasting() -> None:
    c = card(Kind.SHAPE)
    assert judge(c, "2,3", parse_answer(c, "2,3"), run([2, 3])).correct is True
    assert judge(c, "1,3", parse_answer(c, "1,3"), run([2, 3])).correct is False
    assert judge(c, "3", parse_answer(c, "3"), run([1, 3])).correct is False


def test_value_tolerance() -> None:
    c = card(Kind.VALUE, tolerance=Tolerance(rtol=1e-3, atol=0))
    assert judge(c, "[1.0, 2.0]", [1.0, 2.0], run([1.0004, 2.0])).correct is True
    assert judge(c, "[1.0, 2.0]", [1.0, 2.0], run([1.01, 2.0])).correct is False
    assert same_value(float("nan"), float("nan"))
    assert not same_value([1, 2], [1, 2, 3])


def test_raises_matches_class_name_case_insensitively() -> None:
    c = card(Kind.RAISES, answer=None)
    truth = {"type": "RuntimeError", "module": "builtins", "message": "view size..."}
    assert judge(c, "runtimeerror", "runtimeerror", run(truth)).correct is True
    assert judge(c, "no error", None, run(truth)).correct is False
    assert judge(c, "no error", None, run(None)).correct is True
    assert format_truth(c, None) == "no error"


def test_not_gradable_has_no_verdict_and_says_why() -> None:
    c = card(Kind.SHAPE)
    v = judge(
        c,
        "2,3",
        (2, 3),
        RunResult(ok=False, error="timed out after 5 s", error_kind="timeout", backend="torch"),
    )
    assert v.correct is None
    assert "timed out" in (v.error or "")
    assert v.to_dict()["correct"] is None


def test_suggested_rating() -> None:
    assert suggest_rating(False, 1000) == 1
    assert suggest_rating(True, 3000) == 3
    assert suggest_rating(True, 60_000) == 2
    assert suggest_rating(None, 1000) is None


def test_complex_values_compare_with_the_runners_encoding() -> None:
    c = card(Kind.VALUE)
    assert judge(c, "1+2j", 1 + 2j, run({"complex": [1.0, 2.0]})).correct is True
    assert judge(c, "[1j]", [1j], run([{"complex": [0.0, 1.0]}])).correct is True
    assert judge(c, "2j", 2j, run({"complex": [0.0, 1.0]})).correct is False
