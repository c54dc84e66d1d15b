"""`answer_parse_us`: p50 time to read a typical answer; `answer_parse_worst_ms`: the slowest answer of up to
64 KiB built to hurt the reader (deep brackets, `1+1+…`, `not not …`, long digits, many strings), any kind."""

from __future__ import annotations

from typing import Any

from benchmarks.util import p50_ms

TYPICAL = {
    "shape": ["(2, 3)", "torch.Size([4, 1, 3])", "2x3", "((2, 3), (3,))"],
    "dtype": ["float32", "torch.int64", "(float64, int64)"],
    "value": ["[[1.0, 2.0], [3.0, 4.0]]", "tensor([1., 2.], dtype=torch.float64)", "nan", "(4, 2)"],
    "raises": ["RuntimeError", "no error"],
    "bool": ["yes"],
}
NASTY_UNITS = ["(", "[", "()", "1+", "not ", "-", "'a'", "'\\", "9", "(1),", "f(", ".b", "[1,"]


def run(args: Any) -> dict[str, Any]:
    from quiz.core.answers import MAX_ANSWER_BYTES, MAX_CODE_BYTES, MalformedAnswer, parse_answer
    from quiz.core.cards import Backend, Card, Kind

    def card(kind: Kind) -> Card:
        return Card("d", "c", "s", Backend.TORCH, kind, "p", "x = 1", "x", "e", "c", choices=("a", "b"))

    def read(c: Card, text: str) -> None:
        try:
            parse_answer(c, text)
        except MalformedAnswer:
            pass

    cards = {kind.value: card(kind) for kind in Kind}
    reps = 20 if args.quick else 200
    typical = [
        p50_ms(lambda c=cards[kind], t=text: read(c, t), reps) * 1000  # type: ignore[misc]
        for kind, texts in TYPICAL.items()
        for text in texts
    ]
    worst, worst_case = 0.0, ""
    for kind in Kind:
        limit = MAX_CODE_BYTES if kind == Kind.CODE else MAX_ANSWER_BYTES
        for unit in NASTY_UNITS:
            text = (unit * (limit // len(unit) + 1))[:limit]
            ms = p50_ms(lambda c=cards[kind.value], t=text: read(c, t), 3 if args.quick else 7, warmup=1)  # type: ignore[misc]
            if ms > worst:
                worst, worst_case = ms, f"{kind.value}: {unit!r} x {len(text) // len(unit)}"
    typical.sort()
    return {
        "answer_parse_us": round(typical[len(typical) // 2], 1),
        "answer_parse_worst_ms": round(worst, 1),
        "answer_parse_worst_case": worst_case,
    }
