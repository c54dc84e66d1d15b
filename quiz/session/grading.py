"""Grading: an answer read once, run, judged — the one path of the study screen, the exam and `quiz grade`.

A prediction (shape, dtype, value, ...) is parsed once (`read_answer`; a
malformed one raises MalformedAnswer: ask again), the variant runs, and
`quiz.core.grading.judge` compares.

A code answer (`code` and `translate` cards) is run, and the learner's code
never runs where the reference can be read: each of its runs is a request of
its own that carries the learner's text and no reference answer, and all of
them run before any reference run of this answer. Around them, a probe with a
fresh random value (`_pipe_clean`): the one before makes the worker's last
reply a number nobody needs (not an earlier run's truth); the one after proves
that the pipe holds no reply the learner's code wrote itself (else the worker
is replaced and the answer runs once more; a second forgery is graded
incorrect). Then the reference runs (for a `translate` card: the working code
in its source framework's worker), and the results are compared here, in the
parent. The answer is graded on the shown variant and on `EXTRA_VARIANTS`
more drawn by hypothesis from the review's seed (the same seed gives the same
variants, so the stored seed reproduces the verdict); it is correct only if
all agree. When one fails, hypothesis shrinks it to the smallest failing
variant, which the verdict shows with expected vs got.

The truth does not depend on the answer, so the study screen runs it while the learner reads
(`pre_run`): a card's run, or a code answer's reference runs on all its grading variants, on a
pristine worker as any run. Grading takes that `Truth` only for its own card, variant and device
and only when every run in it ended normally (else it runs as without one). With a code answer's
references known, `grade_stream` yields a first verdict as soon as the shown variant (or, after
the other learner runs, another) is known to fail, marked `shrinking`, and the final one (all
variants, the smallest failing one) after: the same verdict `grade` returns, which the exam and
`quiz grade` use.

What a learner's run changes in the worker (a patched framework function, a
thread left running) is the runner's to undo or detect before the next run:
its pristine state per card is what keeps the reference runs honest.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from random import Random
from typing import TYPE_CHECKING, Any, TypeVar

from quiz.core.answers import MalformedAnswer, parse_answer
from quiz.core.cards import DEFAULT_TIMEOUT_S, Card, Kind
from quiz.core.grading import RunResult, VariantCheck, Verdict, answer_as, judge, judge_code, source_run
from quiz.core.variables import (
    DrawError,
    NoVariantError,
    Variant,
    build_variant,
    concrete,
    draw_with_choices,
    smallest_failing,
)

if TYPE_CHECKING:
    from quiz.runner.client import Runner

__all__ = [
    "Answered",
    "MalformedAnswer",
    "ParsedAnswer",
    "Truth",
    "grade",
    "grade_answer",
    "grade_answers",
    "grade_stream",
    "grading_variants",
    "pre_run",
    "read_answer",
    "run_truth",
    "why_unavailable",
]

_T = TypeVar("_T")

EXTRA_VARIANTS = 3  # a code answer is graded on the shown variant and this many more
DRAW_ATTEMPTS = 12  # seeds tried for them (a small variable space has fewer distinct variants)
SHRINK_EVALUATIONS = 24  # at most this many variants (two runs each) run to shrink a failure
MAX_SEED = 2**31 - 1
# A learner's run that ended like this is not run again on more variants, nor shrunk.
STOPPED = ("timeout", "crashed", "memory", "unavailable")
FORGED = (
    "your code wrote a reply of its own into the runner's pipe; the worker was replaced. Graded incorrect"
)


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """An answer read for one variant of one card: the text as typed, and its value."""

    card_uid: str
    seed: int
    text: str
    value: Any


@dataclass
class Answered:
    """A graded answer waiting for its rating."""

    card: Card
    variant: Variant
    answer: str
    verdict: Verdict
    shown_at: datetime
    answered_at: datetime
    response_ms: int
    parsed: Any = None  # the answer's value as read (an option's text for a choice card)


@dataclass(frozen=True, eq=False)
class Truth:
    """What a card's code gave for one variant, run before the answer came (`pre_run`).

    A prediction: its one run (`result`). A code answer: its grading variants and the reference's
    run on each, in that order (fewer when cancelled; none left out in between)."""

    card: Card
    variant: Variant
    device: str | None
    result: RunResult | None = None
    variants: tuple[tuple[Variant, tuple[Any, ...] | None], ...] = ()
    references: tuple[RunResult, ...] = ()
    # A code answer: the worker's mark (WorkerProcess.turn) after a clean probe that ended the pre-run.
    # While it still holds, nothing ran there since, and the answer's first probe is not needed.
    clean_turn: tuple[object, ...] | None = None

    def fits(self, card: Card, variant: Variant, device: str | None) -> bool:
        """Whether this is the truth of exactly this card (its text, not only its uid) and variant."""
        return self.device == device and self.card == card and self.variant == variant


def _usable(result: RunResult) -> bool:
    # Only a run that ended normally on a worker it left as it found: anything else (a timeout, a
    # crash, a replaced worker, a card error that might not repeat) runs again at the answer.
    return result.ok and not result.state_changed


def pre_run(
    runner: Runner,
    card: Card,
    variant: Variant,
    *,
    device: str | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Truth | None:
    """Run the truth of a card's variant before its answer (None: nothing usable to keep).

    Only the card's own code and reference run here, never an answer: nothing a learner types can
    reach it. `cancelled` is asked between runs (the card left the screen)."""
    if card.runs_learner_code:
        if why_unavailable(runner, card, device) is not None:
            return None
        variants = grading_variants(card, variant)
        references: list[RunResult] = []
        for v, _ in variants:
            if cancelled():
                break
            result = _reference_run(runner, card, v, device)
            if not _usable(result):
                break
            references.append(result)
        if not references:
            return None
        # The answer's runs start with a probe; here, while the learner reads, it costs nothing.
        clean = None if cancelled() else pipe_clean(runner, card, device)
        return Truth(
            card, variant, device, variants=tuple(variants), references=tuple(references), clean_turn=clean
        )
    if cancelled():
        return None
    result = runner.run(concrete(card, variant), variant, device=device)
    return Truth(card, variant, device, result=result) if _usable(result) else None


def pipe_clean(runner: Runner, card: Card, device: str | None) -> tuple[object, ...] | None:
    """Ask the card's worker for a random number nobody could know before: only the real reply has it.

    Every line in the pipe before that reply is read and dropped by the runner, so once this holds, no
    reply the learner's code wrote is left for a later request to take, and the worker's last reply
    is that number (nothing an earlier run left there, an earlier review of this very card say, is
    for the learner's code to read). Returns the worker's mark right after (WorkerProcess.turn), or
    None when the reply was not the number."""
    nonce = secrets.randbelow(2**62) + 1
    probe = replace(
        card,
        kind=Kind.VALUE,
        code="pass",
        answer=str(nonce),
        result=None,
        choices=(),
        timeout=DEFAULT_TIMEOUT_S,
        source_backend=None,
        source_code=None,
    )
    variant = Variant(card.uid, 0, {}, "", "pass", answer=str(nonce))
    try:
        result = runner.run(probe, variant, device=device)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if not (result.ok and result.truth == nonce):
        return None
    return runner.worker(card.backend.value).turn()


def _reference_run(runner: Runner, card: Card, variant: Variant, device: str | None) -> RunResult:
    shown = concrete(card, variant)
    if card.kind == Kind.TRANSLATE:
        shown, variant = source_run(shown, variant)
    return runner.run(shown, variant, device=device)


def read_answer(card: Card, variant: Variant, text: str) -> ParsedAnswer:
    """Read the answer as the card's kind asks; raises MalformedAnswer (ask again, never mark it wrong)."""
    shown = concrete(card, variant)
    if shown.kind == Kind.TRANSLATE:
        shown = replace(shown, kind=Kind.CODE)  # typed like a code answer: a statement that sets `result`
        value = parse_answer(shown, text)
        _check_translation(value)
        return ParsedAnswer(card.uid, variant.seed, text, value)
    return ParsedAnswer(card.uid, variant.seed, text, parse_answer(shown, text))


# A translation is written with what the card's code sets up. These would reach another framework
# (the source's, to run its code instead of translating it) or the worker's own machinery.
_NOT_IN_TRANSLATIONS = frozenset(
    {"__import__", "eval", "exec", "compile", "getattr", "setattr", "delattr", "globals", "locals"}
    | {"vars", "open", "breakpoint", "input", "help", "importlib"}
)
_MODULE_ATTRIBUTES = frozenset({"sys", "os", "modules", "importlib", "builtins", "subprocess"})


def _check_translation(source: str) -> None:
    """Refuse (ask again) a translation that imports or reaches for modules: it must translate.

    A deterrent, not a wall: code running in the worker can always find a way to another module,
    which is why the learner's runs never see the reference anyway."""
    hint = (
        "a translation uses only what the card's code sets up (and the framework's own names): "
        "no import, no names or attributes starting with _, no eval/exec/getattr"
    )
    for node in ast.walk(ast.parse(source.strip(), mode="exec")):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            raise MalformedAnswer(hint)
        if isinstance(node, ast.Name) and (node.id in _NOT_IN_TRANSLATIONS or node.id.startswith("_")):
            raise MalformedAnswer(hint)
        if isinstance(node, ast.Attribute) and (node.attr.startswith("_") or node.attr in _MODULE_ATTRIBUTES):
            raise MalformedAnswer(hint)


def grade_answer(
    runner: Runner,
    device: str,
    clock: Callable[[], datetime],
    card: Card,
    variant: Variant,
    answer: str | ParsedAnswer,
    shown_at: datetime,
    *,
    truth: Truth | None = None,
    answered_at: datetime | None = None,
) -> Answered:
    """Read the answer (unless it was read already; MalformedAnswer propagates), run, judge.

    Needs only the runner: the app can grade its first card before the database layer has loaded.
    """
    return _final(
        grade_answers(
            runner, device, clock, card, variant, answer, shown_at, truth=truth, answered_at=answered_at
        )
    )


def grade_answers(
    runner: Runner,
    device: str,
    clock: Callable[[], datetime],
    card: Card,
    variant: Variant,
    answer: str | ParsedAnswer,
    shown_at: datetime,
    *,
    truth: Truth | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    answered_at: datetime | None = None,
) -> Iterator[Answered]:
    """`grade_answer`, yielding each verdict of `grade_stream` (the last is the final one).

    `answered_at`: when the key was pressed (the study screen's grading may start later, after the
    card's pre-run); by default, now."""
    reading = answer if isinstance(answer, ParsedAnswer) else read_answer(card, variant, answer)
    if answered_at is None:
        answered_at = clock()
    response_ms = max(0, int((answered_at - shown_at).total_seconds() * 1000))
    for verdict in grade_stream(
        runner, card, variant, reading, device=device, truth=truth, cancelled=cancelled
    ):
        yield Answered(
            card, variant, reading.text, verdict, shown_at, answered_at, response_ms, reading.value
        )


def grade(
    runner: Runner,
    card: Card,
    variant: Variant,
    answer: ParsedAnswer,
    *,
    device: str | None = None,
    truth: Truth | None = None,
) -> Verdict:
    """The verdict on an answer read by `read_answer` for this card and variant."""
    return _final(grade_stream(runner, card, variant, answer, device=device, truth=truth))


def grade_stream(
    runner: Runner,
    card: Card,
    variant: Variant,
    answer: ParsedAnswer,
    *,
    device: str | None = None,
    truth: Truth | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[Verdict]:
    """The verdicts on an answer as they are known; the last is `grade`'s. Before it, a code answer
    may yield one marked `extra["shrinking"]`: incorrect on the failing variant it shows, while more
    variants and a smaller failing one are looked for. `cancelled` (asked between runs) ends it early:
    what it yielded last is then not the final verdict."""
    if (answer.card_uid, answer.seed) != (card.uid, variant.seed):
        raise ValueError(f"the answer was read for {answer.card_uid} seed {answer.seed}, not this variant")
    if truth is not None and not truth.fits(card, variant, device):
        truth = None  # another card's, or another variant's: never used
    if card.runs_learner_code:
        yield from _CodeAnswer(runner, card, variant, answer.text, device, truth, cancelled).verdicts()
        return
    shown = concrete(card, variant)  # the card with this variant's answer, choices and explanation
    started = time.perf_counter()
    result = truth.result if truth is not None else None
    if result is None:
        result = runner.run(shown, variant, device=device)
    verdict = judge(shown, answer.text, answer.value, result)
    if not result.elapsed_ms:
        verdict = replace(verdict, elapsed_ms=(time.perf_counter() - started) * 1000)
    yield verdict


def _final(items: Iterator[_T]) -> _T:
    """The last of what a grading stream yields: the final verdict."""
    last = deque(items, maxlen=1)
    if not last:
        raise RuntimeError("grading ended without a verdict")
    return last[0]


def run_truth(runner: Runner, card: Card, variant: Variant, *, device: str | None = None) -> RunResult:
    """What the card's code really does for this variant (a translate card: its source code's result)."""
    shown = concrete(card, variant)
    if card.kind == Kind.TRANSLATE:
        source_card, source_variant = source_run(shown, variant)
        return runner.run(source_card, source_variant, device=device)
    return runner.run(shown, variant, device=device)


def why_unavailable(runner: Runner, card: Card, device: str | None = None) -> str | None:
    """Why the card cannot be graded here, on its backend or (translate) its source's; None when it can."""
    reason = runner.why_unavailable(card, device)
    if reason is None and card.source_backend is not None and card.source_code is not None:
        source_card = replace(card, backend=card.source_backend, source_backend=None, source_code=None)
        reason = runner.why_unavailable(source_card, device)
    return reason


# --- code answers --------------------------------------------------------------------------


def grading_variants(
    card: Card, variant: Variant, extra: int = EXTRA_VARIANTS
) -> list[tuple[Variant, tuple[Any, ...] | None]]:
    """The shown variant and up to `extra` other ones, each with hypothesis' choice sequence (None
    where not known), drawn from seeds derived from the shown one's: the same every time."""
    out: list[tuple[Variant, tuple[Any, ...] | None]] = [(variant, None)]
    if not card.variables:
        return out
    seen = {_values_key(variant.values)}
    for i in range(1, DRAW_ATTEMPTS + 1):
        if len(out) > extra:
            break
        seed = derived_seed(card.uid, variant.seed, i)
        try:
            values, choices = draw_with_choices(card, seed)
            key = _values_key(values)
            if key in seen:
                continue
            other = build_variant(card, seed, values)
        except NoVariantError:  # DrawError too: a draw the card cannot show is no variant to grade on
            continue
        seen.add(key)
        out.append((other, choices))
    return out


def derived_seed(uid: str, seed: int, i: int) -> int:
    """The seed of the i-th further variant of a review (stable across processes and versions)."""
    digest = hashlib.sha256(f"grade:{uid}:{seed}:{i}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % MAX_SEED


def _values_key(values: dict[str, Any]) -> str:
    return json.dumps({k: values[k] for k in sorted(values)}, default=repr)


def _choices_for(card: Card, variant: Variant) -> tuple[Any, ...] | None:
    """Hypothesis' choice sequence for the shown variant, if drawing its seed gives its values."""
    try:
        values, choices = draw_with_choices(card, variant.seed)
    except NoVariantError:
        return None
    return choices if _values_key(values) == _values_key(variant.values) else None


class _CodeAnswer:
    """One code answer being graded: the learner's runs, the probe, the reference runs, the shrink."""

    def __init__(
        self,
        runner: Runner,
        card: Card,
        variant: Variant,
        text: str,
        device: str | None,
        truth: Truth | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> None:
        self.runner = runner
        self.card = card
        self.variant = variant
        self.text = text
        self.device = device
        self.truth = truth
        self.cancelled = cancelled
        # The worker's mark after our last clean probe (or the pre-run's): see _ensure_clean.
        self._clean_at = truth.clean_turn if truth is not None else None

    def verdicts(self) -> Iterator[Verdict]:
        card = self.card
        shown = concrete(card, self.variant)
        reason = why_unavailable(self.runner, card, self.device)
        if reason is not None:
            nothing = RunResult(ok=False, error=reason, error_kind="unavailable", backend=card.backend.value)
            yield judge_code(shown, self.text, [VariantCheck({}, nothing, nothing)])
            return
        truth = self.truth
        variants = list(truth.variants) if truth is not None else grading_variants(card, self.variant)
        known = list(truth.references) if truth is not None else []
        if known and len(variants) > 1:
            # The shown variant's reference ran before the answer: its learner run gets a turn of its
            # own, so that a failure there is a verdict at once; the other variants run after it.
            started = self._start(variants[:1])
            failed = self._failing(variants[0][0], known[0], started[0])
            if failed is not None:
                # Incorrect on the variant shown, said before the probe that ends the turn: a reply
                # the learner's code forged could only make its own answer look wrong, and the probe
                # still comes before anything else is asked of this worker. Should it fail, that
                # incorrect stands, as a forgery (no second try that could end in a different verdict).
                yield self._provisional(shown, [failed], None)
                got, forged = started[0] or [], not self._finish(*started)
            else:
                got, forged = self._turn(variants[:1], started)
            if not forged and got and (got[0].ok or got[0].error_kind not in STOPPED):
                # A second try's run, after a forged first one, may fail where the first did not.
                if failed is None and (first := self._failing(variants[0][0], known[0], got)) is not None:
                    yield self._provisional(shown, [first], None)
                if self.cancelled():
                    return
                rest, forged = self._turn(variants[1:])
                got = got + rest
        else:
            got, forged = self._turn(variants)
        if got and got[0].error_kind == "unavailable":  # the worker did not start
            yield judge_code(shown, self.text, [VariantCheck({}, got[0], got[0])])
            return
        misbehaved = FORGED if forged else None
        if self.cancelled():
            return
        checked = variants[: max(1, len(got))]
        expected = [known[i] if i < len(known) else self._reference(v) for i, (v, _) in enumerate(checked)]
        if not got:  # the learner's runs broke the protocol: only the shown variant is reported
            got = [
                RunResult(ok=False, error="your code broke the runner's protocol", error_kind="misbehaved")
            ]
        checks = [
            VariantCheck(v.values_json(), e, g) for (v, _), e, g in zip(checked, expected, got, strict=True)
        ]
        smallest = None
        if misbehaved is None:
            failing = next(
                (i for i, c in enumerate(checks) if c.expected.ok and not c.agrees(card)),
                None,
            )
            # No shrink after code that changed the framework's state: the worker it ran in was
            # replaced each time (a framework start per run, seconds each), and the first failing
            # variant is as true a counter-example as the smallest.
            changed = any(g.state_changed for g in got)
            if failing is not None and checks[failing].got.error_kind not in STOPPED and not changed:
                yield self._provisional(shown, checks, misbehaved)
                smallest = self._shrink(checked[failing], checks[failing])
                if self.cancelled():
                    return  # the smallest so far is not the one `grade` would find: no final verdict
        yield judge_code(shown, self.text, checks, smallest=smallest, misbehaved=misbehaved)

    def _provisional(self, shown: Card, checks: list[VariantCheck], misbehaved: str | None) -> Verdict:
        """Incorrect on a failing variant, while more variants and a smaller failing one are run."""
        verdict = judge_code(shown, self.text, checks, misbehaved=misbehaved)
        return replace(verdict, extra={**verdict.extra, "shrinking": True})

    def _failing(
        self, variant: Variant, expected: RunResult, got: list[RunResult] | None
    ) -> VariantCheck | None:
        """The learner's first run as a check, when it disagrees with a reference that ran."""
        if not got or (not got[0].ok and got[0].error_kind in STOPPED):
            return None
        check = VariantCheck(variant.values_json(), expected, got[0])
        return check if check.expected.ok and not check.agrees(self.card) else None

    def _turn(
        self,
        variants: list[tuple[Variant, tuple[Any, ...] | None]],
        started: tuple[list[RunResult] | None, int] | None = None,
    ) -> tuple[list[RunResult], bool]:
        """The learner's runs on `variants` between two clean probes: (runs, forged twice).
        `started`: the first try's runs, made already by `_start` (its probe not yet)."""
        got: list[RunResult] = []
        for _attempt in (1, 2):
            runs, restarts = started or self._start(variants)
            started = None
            if self._finish(runs, restarts):
                return runs or [], False
            got = runs or []
        return got, True

    def _start(
        self, variants: list[tuple[Variant, tuple[Any, ...] | None]]
    ) -> tuple[list[RunResult] | None, int]:
        """A turn's learner runs on a clean worker: (runs, or None for a reply that could not be
        read; the worker's restarts before them). `_finish` ends the turn."""
        # The worker's last reply becomes a random number: nothing an earlier run left (an earlier
        # review of this very card, say) is there for the learner's code to read.
        self._ensure_clean()
        restarts = self.runner.worker(self.card.backend.value).restarts
        return self._learner_runs(variants), restarts

    def _finish(self, runs: list[RunResult] | None, restarts: int) -> bool:
        """The probe that ends a turn: True when its runs stand. False: a reply the parent did not
        ask for, or one it could not read, which the learner's code wrote (the pipe was clean before
        it ran); the worker is then replaced, for a second try."""
        if runs is not None and runs and runs[0].error_kind == "unavailable":
            return True
        if self._pipe_clean() and runs is not None:
            return True
        # Where the runner found the forgery itself it has replaced the worker already, and no
        # learner code ran after that run (the runs stop at it): a second replacement would only
        # cost another framework start.
        if runs is not None or self.runner.worker(self.card.backend.value).restarts == restarts:
            self._replace_worker()
        return False

    # --- runs ---

    def _run(self, card: Card, variant: Variant) -> RunResult | None:
        """One run; None when the reply could not be read (a reply the learner's code forged)."""
        try:
            return self.runner.run(card, variant, device=self.device)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def _learner(self, variant: Variant) -> RunResult | None:
        result = self._run(*answer_as(concrete(self.card, variant), variant, self.text))
        if result is not None and result.error_kind == "misbehaved":
            return None  # the runner found a reply of the learner's own (its nonce handshake)
        return result

    def _learner_runs(self, variants: list[tuple[Variant, tuple[Any, ...] | None]]) -> list[RunResult] | None:
        out: list[RunResult] = []
        for variant, _ in variants:
            result = self._learner(variant)
            if result is None:
                return None
            out.append(result)
            if not result.ok and result.error_kind in STOPPED:
                break  # a timeout or crash would only repeat on the other variants
        return out

    def _reference(self, variant: Variant) -> RunResult:
        return _reference_run(self.runner, self.card, variant, self.device)

    def _pipe_clean(self) -> bool:
        """A probe (`pipe_clean`); on success the worker's mark is noted for `_ensure_clean`."""
        self._clean_at = pipe_clean(self.runner, self.card, self.device)
        return self._clean_at is not None

    def _ensure_clean(self) -> None:
        """Before the learner's runs: the worker's last turn a clean probe, or a fresh worker.

        The probe is skipped where the last turn of this very worker process was a clean probe of
        ours (or the pre-run's): the same mark proves nothing was asked of it since."""
        worker = self.runner.worker(self.card.backend.value)
        if self._clean_at is not None and self._clean_at == worker.turn():
            return
        if not self._pipe_clean():
            self._replace_worker()

    def _replace_worker(self) -> None:
        from quiz.runner.client import WorkerCrashed

        with contextlib.suppress(WorkerCrashed):  # the next run says why it cannot start
            self.runner.worker(self.card.backend.value).restart()

    # --- the smallest failing variant ---

    def _shrink(
        self, start: tuple[Variant, tuple[Any, ...] | None], failing: VariantCheck
    ) -> VariantCheck | None:
        from hypothesis.errors import HypothesisException

        card = self.card
        variant, choices = start
        if choices is None:
            choices = _choices_for(card, variant)
        if choices is None:
            return None
        memo: dict[str, VariantCheck | None] = {_values_key(variant.values): failing}
        evaluations = 0

        def fails(values: dict[str, Any]) -> bool:
            nonlocal evaluations
            key = _values_key(values)
            if key in memo:
                return memo[key] is not None
            if evaluations >= SHRINK_EVALUATIONS or self.cancelled():
                return False  # the smallest failure so far stands
            evaluations += 1
            memo[key] = None
            try:
                candidate = build_variant(card, variant.seed, dict(values))
            except DrawError:
                return False
            got = self._learner(candidate)
            if got is None or (not got.ok and got.error_kind in STOPPED):
                return False
            if got.state_changed:  # changed state on this variant only: stop here, as above
                evaluations = SHRINK_EVALUATIONS
            check = VariantCheck(candidate.values_json(), self._reference(candidate), got)
            if check.expected.ok and not check.agrees(card):
                memo[key] = check
                return True
            return False

        try:
            values = smallest_failing(
                card,
                fails,
                examples=0,
                known=choices,
                random=Random(f"grade:{card.uid}:{self.variant.seed}"),
                key=f"quiz-grade:{card.uid}".encode(),
            )
        except (NoVariantError, HypothesisException):
            values = None
        finally:
            if evaluations and not self._pipe_clean():
                self._replace_worker()  # the learner's code ran last: leave no reply of its own behind
        return memo.get(_values_key(values)) if values is not None else None
