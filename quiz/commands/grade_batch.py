"""`quiz grade --batch FILE.jsonl`: many answers graded in order on the same warm workers, one verdict a line.

Each input line is a JSON object `{"card": ID, "seed": N, "answer": TEXT}` with
optional `"backend"` (to pick a family's card) and `"device"`. Each output
line is the verdict `quiz grade --json` prints, on one line, in input order; a
line that cannot be graded gets a verdict whose `error` says why, and the
batch goes on. `-` reads stdin, line by line: a verdict is printed (and
flushed) as soon as its line is graded, so a script can drive it interactively.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from quiz.commands.common import CardNotFound, err, find_card, json_text, lent_or_own, library, say
from quiz.core.text import visible

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.decks import Library
    from quiz.runner.client import Runner

__all__ = ["grade_batch"]

LINE_KEYS = {"card", "seed", "answer", "backend", "device"}
DEVICES = ("auto", "cpu", "gpu")
MAX_LINE_BYTES = 1 << 20  # an answer is at most 64 KiB; a line far beyond that is not an answer


class BadLine(ValueError):
    """A line that is not a gradable request: its verdict says why, and nothing runs."""

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.fields = fields


@dataclass(frozen=True, slots=True)
class Outcome:
    """One line's verdict, and whether it was graded, bad input, or could not be run."""

    verdict: dict[str, Any]
    status: str  # "graded" | "bad" | "not-run"


def grade_batch(args: argparse.Namespace, settings: Settings) -> int:
    from quiz import paths
    from quiz.runner.client import Runner

    lib = library(settings, extra=args.deck)
    for problem in lib.problems:
        if args.deck and any(problem.path == d for d in args.deck):
            say(str(problem), file=sys.stderr)
    try:
        stream: IO[bytes] = sys.stdin.buffer if args.batch == "-" else open(args.batch, "rb")  # noqa: SIM115
    except OSError as exc:
        err(f"cannot read {args.batch}: {exc.strerror or exc}")
        return 2
    statuses: set[str] = set()
    with stream, lent_or_own(Runner.for_settings(settings, log_dir=paths.log_dir())) as runner:
        lines: Iterable[bytes] = stream
        if args.batch != "-":
            # A file is read at once, so the workers its cards need start while the first lines run.
            lines = list(stream)
            runner.prestart(_backends(lib, lines))
        for number, outcome in _graded(lib, runner, lines):
            statuses.add(outcome.status)
            # A verdict holds the line's own card id and answer, and what card code produced:
            # its control characters go out escaped (JSON) or made visible (text), never raw.
            line = json_text(outcome.verdict) if args.json else visible(_line_text(number, outcome.verdict))
            print(line, flush=True)
    if "bad" in statuses:
        return 2
    return 3 if "not-run" in statuses else 0


def _graded(lib: Library, runner: Runner, lines: Iterable[bytes]) -> Iterator[tuple[int, Outcome]]:
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            yield number, grade_line(lib, runner, raw, number)
        except Exception as exc:  # one line's failure never ends the batch
            verdict = {"correct": None, "error": f"line {number}: {type(exc).__name__}: {exc}"}
            yield number, Outcome(verdict, "not-run")


def grade_line(lib: Library, runner: Runner, raw: bytes, number: int) -> Outcome:
    """Grade one input line; a bad one gets a verdict with `error` (and `card`/`seed` when known)."""
    from quiz.core.variables import NoVariantError, draw_variant
    from quiz.session.grading import MalformedAnswer, grade, read_answer

    try:
        card_ref, seed, answer, backend, device = _request(raw, number)
        try:
            card = find_card(lib, card_ref, backend)
        except CardNotFound as exc:
            raise BadLine(f"line {number}: {exc}", card=card_ref, seed=seed) from None
        try:
            variant = draw_variant(card, seed)
        except NoVariantError as exc:
            raise BadLine(f"line {number}: {exc}", card=card.uid, seed=seed) from None
        try:
            reading = read_answer(card, variant, answer)
        except MalformedAnswer as exc:
            raise BadLine(
                f"malformed answer: {exc.hint}", given=answer.strip(), card=card.uid, seed=seed
            ) from None
    except BadLine as exc:
        return Outcome({"correct": None, "error": str(exc), **exc.fields}, "bad")
    verdict = grade(runner, card, variant, reading, device=device)
    out = {**verdict.to_dict(), "card": card.uid, "seed": seed}
    return Outcome(out, "graded" if verdict.correct is not None else "not-run")


def _request(raw: bytes, number: int) -> tuple[str, int, str, str | None, str | None]:
    if len(raw) > MAX_LINE_BYTES:
        raise BadLine(f"line {number}: longer than {MAX_LINE_BYTES // 1024} KiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadLine(f"line {number}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = getattr(exc, "msg", None) or "nested too deeply"
        raise BadLine(f"line {number}: not JSON ({reason})") from None
    if not isinstance(obj, dict):
        raise BadLine(f'line {number}: each line is a JSON object {{"card": ID, "seed": N, "answer": TEXT}}')
    card, seed = obj.get("card"), obj.get("seed", 0)
    known = {"card": card if isinstance(card, str) else None, "seed": seed if _is_int(seed) else None}
    unknown = sorted(set(obj) - LINE_KEYS)
    if unknown:
        raise BadLine(
            f"line {number}: unknown key {', '.join(map(repr, unknown))} (a line has {', '.join(sorted(LINE_KEYS))})",
            **known,
        )
    if not isinstance(card, str) or not card:
        raise BadLine(f'line {number}: "card" must be a card id (a string)', **known)
    if not _is_int(seed):
        raise BadLine(f'line {number}: "seed" must be a whole number', **known)
    answer = obj.get("answer")
    if not isinstance(answer, str):
        raise BadLine(f'line {number}: "answer" must be a string, as typed in the app', **known)
    backend = obj.get("backend")
    if backend is not None and backend not in ("torch", "tensorflow", "mxnet"):
        raise BadLine(f'line {number}: "backend" is torch, tensorflow or mxnet', **known)
    device = obj.get("device")
    if device is not None and device not in DEVICES:
        raise BadLine(f'line {number}: "device" is {", ".join(DEVICES)}', **known)
    return card, int(seed), answer, backend, device


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _backends(lib: Library, lines: list[bytes]) -> list[str]:
    """The backends the lines' cards run on, first needed first (unreadable lines are left to grading)."""
    out: list[str] = []
    for raw in lines:
        try:
            obj = json.loads(raw)
            card = find_card(lib, obj["card"], obj.get("backend"))
        except Exception:
            continue
        for b in card.backends:
            if b not in out:
                out.append(b)
        if len(out) == 3:
            break
    return out


def _line_text(number: int, verdict: dict[str, Any]) -> str:
    where = f"line {number}"
    if verdict.get("card"):
        where += f" {verdict['card']} seed {verdict.get('seed')}"
    if verdict.get("correct") is None:
        return f"{where}: not graded: {verdict.get('error')}"
    word = "correct" if verdict["correct"] else "incorrect"
    return f"{where}: {word} (you said {verdict.get('given')}; it gave {verdict.get('expected')})"
