"""Verdicts: the parsed answer against the normalised truth; ungradable runs are never 'wrong'."""

from __future__ import annotations

from quiz.core.answers import parse_answer
from quiz.core.cards import Kind, Tolerance
from quiz.core.grading import RunResult, format_given, format_truth, judge, same_value, suggest_rating
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


def test_a_pair_of_shapes_or_dtypes_is_compared_item_by_item() -> None:
    shapes = card(Kind.SHAPE, answer="(a.shape, b.shape)")
    given = parse_answer(shapes, "((2, 3), (3,))")
    assert judge(shapes, "", given, run([[2, 3], [3]])).correct is True
    assert judge(shapes, "", given, run([[2, 3], [1, 3]])).correct is False
    assert judge(shapes, "", given, run([2, 3, 3])).correct is False
    assert format_truth(shapes, [[2, 3], [3]]) == "((2, 3), (3,))"
    assert format_truth(shapes, [[None, 3], []]) == "((None, 3), ())"
    assert format_given(shapes, given) == "((2, 3), (3,))"
    dtypes = card(Kind.DTYPE, answer="(a.dtype, b.dtype)")
    pair = parse_answer(dtypes, "(torch.float64, int64)")
    assert judge(dtypes, "", pair, run(["float64", "int64"])).correct is True
    assert judge(dtypes, "", pair, run(["int64", "float64"])).correct is False
    v = judge(dtypes, "", pair, run(["float64", "float32"]))
    assert v.correct is False and v.expected == "(float64, float32)"


def test_a_single_shape_still_compares_with_a_list_truth() -> None:
    c = card(Kind.SHAPE)
    assert judge(c, "(None, 36)", parse_answer(c, "(None, 36)"), run([None, 36])).correct is True
    assert format_truth(c, [4]) == "(4,)"


RAISED = {"type": "RuntimeError", "module": "builtins", "message": "only floating point tensors..."}


def failed(raised: object = RAISED, error_kind: str = "card-error") -> RunResult:
    return RunResult(
        ok=False,
        error="RuntimeError: only floating point tensors... (line 2)",
        error_kind=error_kind,
        backend="torch",
        device="cpu",
        version="2.13.0",
        raised=raised,  # type: ignore[arg-type]
    )


def test_error_is_right_when_a_may_raise_card_raised() -> None:
    c = card(Kind.DTYPE, may_raise=True)
    for text in ("error", "fails", "raises RuntimeError", "runtimeerror", "torch.RuntimeError"):
        v = judge(c, text, parse_answer(c, text), failed())
        assert v.correct is True, text
        assert v.expected == "raises RuntimeError"
        assert v.to_dict()["raised"]["type"] == "RuntimeError"
    assert judge(c, "ValueError", parse_answer(c, "ValueError"), failed()).correct is False


def test_a_typed_prediction_is_wrong_when_the_code_raised() -> None:
    c = card(Kind.DTYPE, may_raise=True)
    v = judge(c, "float32", parse_answer(c, "float32"), failed())
    assert v.correct is False and v.expected == "raises RuntimeError"
    assert format_truth(c, v.truth) == "raises RuntimeError"  # as the siblings panel redraws it


def test_error_is_wrong_when_the_code_ran() -> None:
    c = card(Kind.VALUE, may_raise=True)
    v = judge(c, "error", parse_answer(c, "error"), run(1.0))
    assert v.correct is False and v.expected == "1.0"
    assert format_given(c, parse_answer(c, "raises KeyError")) == "raises KeyError"


def test_without_may_raise_a_failing_card_is_not_graded() -> None:
    c = card(Kind.DTYPE)
    v = judge(c, "float32", parse_answer(c, "float32"), failed())
    assert v.correct is None and v.expected is None and "RuntimeError" in (v.error or "")


def test_only_a_raise_of_the_cards_code_is_a_truth() -> None:
    c = card(Kind.DTYPE, may_raise=True)
    error = parse_answer(c, "error")
    not_graded = [
        failed(error_kind="timeout"),
        failed(error_kind="memory"),
        failed(raised=None),
        failed(raised={"type": 3}),
        failed(raised={"type": "Runtime Error; rm -rf"}),
        failed(raised="RuntimeError"),
        failed(raised={"type": "SyntaxError", "module": "builtins", "message": "invalid syntax"}),
    ]
    for result in not_graded:
        assert judge(c, "error", error, result).correct is None, result


def test_what_deck_code_raised_is_shown_visibly() -> None:
    c = card(Kind.VALUE, may_raise=True)
    evil = {"type": "RuntimeError", "module": "x\x1b[2J", "message": "\x9b31mgreen\x07" + "m" * 10_000}
    v = judge(c, "error", parse_answer(c, "error"), failed(raised=evil))
    raised = v.to_dict()["raised"]
    assert v.correct is True and "\\x1b" in raised["module"] and "\\x9b" in raised["message"]
    assert not any(ch in raised["message"] + raised["module"] for ch in "\x1b\x9b\x07")
    assert len(raised["message"]) < 600
