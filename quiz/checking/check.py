"""Check decks by running them: every card, on its backend, for several seeds, plus a hypothesis search.

For each card that can run here, `run_check` draws the variants of seeds
0..N-1, runs them through a `RunnerPool` (each backend on its own threads,
so a slow TensorFlow card never holds up the torch workers), and flags:

- `raises`: the code raised on a card whose kind is not `raises`;
- `setup-raises`: a `raises` card failed before its last statement;
- `never-raises`: a `raises` card whose last statement raised in no variant (5 or more);
- `answer`: the answer raised, or gave something that cannot be compared as the
  card's kind (a choice not among `choices`, a shape that is not a shape...);
- `constant`: the card draws variables but its truth was the same for every seed
  (unless it says `constant = true`; judged with 5 variants or more);
- `translate`: a translate card's reference answer gives another result (shape,
  dtype or values) than its source code in the source framework;
- `no-vars`: a `code` or `translate` card without variables: one variant only, so
  a hard-coded answer would be graded correct;
- `timeout`, `crashed`, `memory`: the run was stopped;
- `misbehaved`: the worker's reply was forged or broken (card code wrote to the protocol);
- `state`: the card left its worker changed (a patched module, a setting left on, a thread...):
  the flag names what; the runner put it back or replaced the worker, and the card's truths
  are not recorded (a later check is not compared with them);
- `variant`: no variant could be drawn or rendered (a spec or `${...}` broke);
- `unstable`: the same (card, seed) gave another truth than the last check on
  the same versions (the card depends on something besides its seed);
- `unavailable`: the backend is installed but its worker did not start;
- `explain-raises`: a `raises` card's explanation names an exception class
  the variant did not raise, leaves out the one it raised, or says "raises"
  when nothing was raised (`quiz.checking.explain`);
- `inert`: changing one drawn variable alone, from several drawn variants,
  never changed the truth (`quiz.checking.probe`; list such variables in
  `constant = [...]`);
- `wording`: the prompt or explanation hedges a plural ("time(s)"), or
  writes a dunder name such as `__init__` outside backticks in a variant
  (Markdown would show a bold "init");
- `translation`: a translation (`prompt_zh`, `explain_zh`) whose `${...}`
  placeholders differ from the English text's, that cannot be filled in for
  a variant, or a prompt translated without its explanation (or the other way
  round); judged for every card, whether its backend runs here or not
  (`quiz.core.translation`).

Then hypothesis searches each card's variable space (`search` examples; its
first is the simplest variant) and shrinks any failing variant, including one
the seeds found, to the smallest it can, which the report prints. The truths
the search saw count too: a `constant` or `never-raises` card whose searched
variants disagree is cleared.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from random import Random
from typing import TYPE_CHECKING, Any, Protocol

from quiz.checking.explain import (
    explain_raise_problem,
    markdown_problem,
    prompt_problem,
    translated_raise_problem,
    wording_problem,
)
from quiz.checking.probe import alternatives, constrained_variables, drawn_variables
from quiz.core.cards import BACKENDS, Card, Kind
from quiz.core.decks import Library, Problem, deck_files, load_library, unmet_requirement
from quiz.core.grading import (
    RunResult,
    format_truth,
    raised_truth,
    same_value,
    source_run,
    tensor_difference,
)
from quiz.core.translation import translation_problems
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
    from quiz.checking.records import Records, StaleCard
    from quiz.runner.pool import RunnerPool

__all__ = [
    "CardResult",
    "CheckOptions",
    "CheckReport",
    "Flag",
    "Minimal",
    "check_pool",
    "installed_versions",
    "run_check",
]

DEFAULT_VARIANTS = 10
DEFAULT_SEARCH = 10
SHRINK_RUNS = 60
# Fewer variants than this prove nothing about a truth that never changes (two coin flips often
# agree): below it, `constant` and `never-raises` are not judged.
MIN_VARIANTS_FOR_CONSTANT = 5  # at most this many runs spent shrinking one card's failure
# Flags that belong to one variant, so hypothesis can look for (and shrink) them.
VARIANT_FLAGS = (
    "raises",
    "setup-raises",
    "answer",
    "translate",
    "timeout",
    "crashed",
    "memory",
    "misbehaved",
    "variant",
)
# The `inert` probe: from this many drawn variants, at most this many single-variable changes each.
PROBE_BASES = 8
PROBE_PER_BASE = 3
STOPPED = {"timeout": "timeout", "crashed": "crashed", "memory": "memory", "misbehaved": "misbehaved"}
# The adapters fall back to repr() for objects they cannot turn into data; these reprs say so.
_OBJECT_REPR = re.compile(r"^<.* at 0x[0-9a-fA-F]+>$|^<KerasTensor ", re.S)


class Runs(Protocol):
    """What the check needs of a runner: `quiz.runner.pool.RunnerPool` provides it."""

    size: int

    def run(
        self, card: Card, variant: Variant, given: str | None = None, device: str | None = None
    ) -> RunResult: ...

    def prestart(self, backends: list[str] | tuple[str, ...]) -> None: ...


@dataclass(frozen=True, slots=True)
class CheckOptions:
    variants: int = DEFAULT_VARIANTS
    search: int = DEFAULT_SEARCH  # hypothesis examples per card with variables; 0: only shrink failures
    backends: tuple[str, ...] | None = None  # None: every installed backend
    device: str = "auto"
    jobs: int | None = None  # workers per backend (default: one per core)
    record: bool = True  # keep truths for the stale-card report
    shrink_runs: int = SHRINK_RUNS
    allow_unisolated: bool | None = None  # added decks without full isolation (None: QUIZ_ALLOW_UNISOLATED)


@dataclass(frozen=True, slots=True)
class Flag:
    """One thing wrong with a card, with the variant that showed it."""

    code: str
    message: str
    seed: int | None = None
    values: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"flag": self.code, "message": self.message, "seed": self.seed, "values": self.values}


@dataclass(frozen=True, slots=True)
class Minimal:
    """The smallest failing variant hypothesis found for a card."""

    flag: str
    message: str
    values: dict[str, Any]
    code: str
    runs: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "flag": self.flag,
            "message": self.message,
            "values": self.values,
            "code": self.code,
            "runs": self.runs,
        }


@dataclass(slots=True)
class CardResult:
    card: Card
    status: str = "pass"  # pass | fail | skip
    reason: str | None = None  # why skipped
    flags: list[Flag] = field(default_factory=list)
    truths: dict[int, Any] = field(default_factory=dict)
    minimal: Minimal | None = None
    version: str = ""
    runs: int = 0
    searched: int = 0
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        c = self.card
        return {
            "card": c.uid,
            "file": c.location.path,
            "line": c.location.line,
            "backend": c.backend.value,
            "kind": c.kind.value,
            "status": self.status,
            "reason": self.reason,
            "flags": [f.to_dict() for f in self.flags],
            "minimal": self.minimal.to_dict() if self.minimal else None,
            "truths": {str(k): v for k, v in sorted(self.truths.items())},
            "runs": self.runs,
            "searched": self.searched,
        }


@dataclass(slots=True)
class CheckReport:
    problems: list[Problem]
    results: list[CardResult]
    versions: dict[str, str]
    options: CheckOptions
    stale: list[StaleCard] = field(default_factory=list)  # found by this check
    stale_total: int = 0  # every card the records hold as stale, after this check
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    files: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> list[CardResult]:
        return [r for r in self.results if r.status == "fail"]

    @property
    def skipped(self) -> list[CardResult]:
        return [r for r in self.results if r.status == "skip"]

    @property
    def passed(self) -> list[CardResult]:
        return [r for r in self.results if r.status == "pass"]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.failed and self.files > 0

    def backend_timings(self) -> dict[str, float]:
        """Seconds spent in card code per backend (`card_s.torch`...), as the workers measured it."""
        out: dict[str, float] = {}
        for r in self.results:
            key = f"card_s.{r.card.backend.value}"
            out[key] = out.get(key, 0.0) + r.elapsed_ms / 1000
        return {k: round(v, 2) for k, v in sorted(out.items())}

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": {
                "files": self.files,
                "cards": len(self.results),
                "passed": len(self.passed),
                "failed": len(self.failed),
                "skipped": len(self.skipped),
                "problems": len(self.problems),
                "stale": len(self.stale),
                "stale_total": self.stale_total,
                "elapsed_s": round(self.elapsed_s, 1),
            },
            "versions": self.versions,
            "options": {
                "variants": self.options.variants,
                "search": self.options.search,
                "backends": list(self.options.backends) if self.options.backends else None,
                "device": self.options.device,
            },
            "problems": [p.to_dict() for p in self.problems],
            "cards": [r.to_dict() for r in self.results],
            "stale": [s.to_dict() for s in self.stale],
            "notes": self.notes,
            "timings": self.timings | self.backend_timings(),
        }


def installed_versions() -> dict[str, str]:
    """Installed backend versions (and keras'), found without importing them."""
    import importlib.metadata

    from quiz.runner.backends import backend_info

    versions: dict[str, str] = {}
    for backend in BACKENDS:
        info = backend_info(backend)
        if info.installed:
            versions[backend] = info.version or "?"
    if "tensorflow" in versions:
        try:
            versions["keras"] = importlib.metadata.version("keras")
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def card_versions(card: Card, versions: dict[str, str]) -> dict[str, str]:
    """The versions a card's truth depends on: its backend's (and keras' for tensorflow)."""
    keys = [card.backend.value] + (["keras"] if card.backend.value == "tensorflow" else [])
    return {k: versions[k] for k in keys if k in versions}


# --- one run, classified ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """One variant's run: its truth, or the flag it raised."""

    truth: Any = None
    ok: bool = True
    flag: str | None = None
    message: str = ""
    skip: str | None = None  # the card cannot run here (e.g. no GPU)
    version: str = ""
    elapsed_ms: float = 0.0
    runs: int = 1
    state: tuple[str, ...] = ()  # what the run left changed in its worker (RunResult.state_changed)


def truth_key(card: Card, truth: Any) -> str:
    """What the learner would answer, as a comparable string (a raised exception by its class only)."""
    if card.kind == Kind.RAISES:
        return str(truth.get("type")) if isinstance(truth, dict) else "no error"
    return json.dumps(truth, sort_keys=True, default=repr)


def same_truth(card: Card, a: Any, b: Any) -> bool:
    if card.kind == Kind.RAISES:
        return truth_key(card, a) == truth_key(card, b)
    if card.kind in (Kind.VALUE, Kind.CODE, Kind.TRANSLATE):
        return same_value(a, b, card.tolerance)
    return truth_key(card, a) == truth_key(card, b)


def _object_repr(value: Any) -> str | None:
    """A repr string standing in for an object the learner cannot type (`<Tensor ...>`), if any."""
    if isinstance(value, str):
        return value if _OBJECT_REPR.match(value) else None
    if isinstance(value, list):
        for v in value:
            found = _object_repr(v)
            if found:
                return found
    if isinstance(value, dict):
        for v in value.values():
            found = _object_repr(v)
            if found:
                return found
    return None


class Checker:
    """Runs cards through a pool and turns run results into outcomes."""

    def __init__(self, pool: Runs, device: str) -> None:
        self.pool = pool
        self.device = device
        # A backend whose worker does not start: say so once, not once per run.
        self.broken: dict[str, str] = {}

    def _run(self, card: Card, variant: Variant) -> RunResult:
        return self.pool.run(card, variant, device="gpu" if card.needs_gpu else None)

    def outcome(self, card: Card, variant: Variant) -> Outcome:
        backend = card.backend.value
        if backend in self.broken and not card.needs_gpu:
            return Outcome(ok=False, flag="unavailable", message=self.broken[backend], runs=0)
        shown = concrete(card, variant)
        r = self._run(shown, variant)
        out = self._classify(card, shown, variant, r)
        return replace(out, state=r.state_changed) if r.state_changed and not out.state else out

    def _classify(self, card: Card, shown: Card, variant: Variant, r: RunResult) -> Outcome:
        backend = card.backend.value
        v, ms = r.version, r.elapsed_ms
        if r.ok:
            if card.kind in (Kind.VALUE, Kind.CODE):
                stand_in = _object_repr(r.truth)
                if stand_in:
                    return Outcome(
                        ok=False,
                        flag="answer",
                        message=f"the answer gave an object the learner cannot type: {stand_in[:120]}",
                        version=v,
                        elapsed_ms=ms,
                    )
            if card.kind == Kind.TRANSLATE:
                return self._translation(shown, variant, r)
            return Outcome(truth=r.truth, version=v, elapsed_ms=ms)
        kind = r.error_kind or "card-error"
        error = r.error or "the card could not be run"
        if kind == "unavailable":
            if card.needs_gpu:
                return Outcome(ok=False, skip=f"needs a GPU ({error})", version=v, elapsed_ms=ms)
            self.broken.setdefault(backend, error)
            return Outcome(ok=False, flag="unavailable", message=error, version=v, elapsed_ms=ms)
        if kind in STOPPED:
            return Outcome(ok=False, flag=STOPPED[kind], message=error, version=v, elapsed_ms=ms)
        if card.kind == Kind.RAISES:
            return Outcome(ok=False, flag="setup-raises", message=error, version=v, elapsed_ms=ms)
        raised = raised_truth(shown, r)
        if raised is not None:  # a `may_raise` card: failing is one of its truths, not a fault
            return Outcome(truth={"raised": raised.type}, version=v, elapsed_ms=ms)
        return self._diagnose(card, shown, variant, error, r)

    def _translation(self, shown: Card, variant: Variant, target: RunResult) -> Outcome:
        """A translate card's reference answer against its source code, run in the source framework."""
        v, ms = target.version, target.elapsed_ms
        source_card, source_variant = source_run(shown, variant)
        src = self._run(source_card, source_variant)
        ms += src.elapsed_ms
        source = source_card.backend.value
        if not src.ok:
            kind = src.error_kind or "card-error"
            if kind == "unavailable":
                return Outcome(ok=False, skip=f"the source backend: {src.error}", version=v, elapsed_ms=ms)
            flag = STOPPED.get(kind, "raises")
            message = f"the {source} source code: {src.error or 'could not be run'}"
            return Outcome(ok=False, flag=flag, message=message, runs=2, version=v, elapsed_ms=ms)
        difference = tensor_difference(target.truth, src.truth, shown.tolerance)
        if difference is not None:
            message = (
                f"the reference translation `{(shown.answer or '')[:120]}` gives {format_truth(shown, target.truth)}, "
                f"the {source} source gives {format_truth(shown, src.truth)}: {difference}"
            )
            return Outcome(ok=False, flag="translate", message=message, runs=2, version=v, elapsed_ms=ms)
        return Outcome(truth=target.truth, version=v, elapsed_ms=ms, runs=2)

    def _diagnose(self, card: Card, shown: Card, variant: Variant, error: str, first: RunResult) -> Outcome:
        """The code or the answer? Run the code alone, then the answer as a plain value."""
        v, ms = first.version, first.elapsed_ms
        plain = replace(shown, kind=Kind.VALUE, choices=())
        code_only = replace(plain, answer="None", result=None)
        r1 = self._run(code_only, variant)
        if not r1.ok:
            if r1.error_kind in STOPPED:
                return Outcome(
                    ok=False,
                    flag=STOPPED[r1.error_kind or ""],
                    message=r1.error or "",
                    runs=2,
                    version=v,
                    elapsed_ms=ms,
                )
            return Outcome(
                ok=False,
                flag="raises",
                message=f"the code raised {r1.error or error}",
                runs=2,
                version=v,
                elapsed_ms=ms,
            )
        r2 = self._run(plain, variant)
        if not r2.ok:
            return Outcome(
                ok=False,
                flag="answer",
                message=f"the answer `{shown.answer}` raised {r2.error or error}",
                runs=3,
                version=v,
                elapsed_ms=ms,
            )
        if card.kind == Kind.CHOICE:
            detail = f"the answer gave {r2.truth!r}, which is not one of the choices {list(shown.choices)!r}"
        else:
            detail = f"the answer gave {_short(r2.truth)}, which cannot be compared as a {card.kind.value} ({error})"
        return Outcome(ok=False, flag="answer", message=detail, runs=3, version=v, elapsed_ms=ms)


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the search ------------------------------------------------------------------


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(values, default=repr))
    return out


@dataclass(frozen=True, slots=True)
class SearchResult:
    minimal: Minimal | None
    runs: int
    error: str | None  # the search itself failed (e.g. no variant could be drawn)
    elapsed_ms: float
    truths: frozenset[str] = frozenset()  # truth keys of the variants it ran that gave one
    state: tuple[tuple[str, ...], dict[str, Any]] | None = None  # a variant that left state changed


def shrink(
    checker: Checker,
    card: Card,
    *,
    examples: int,
    seed: int,
    known: tuple[Any, ...] | None,
    target: str | None,
    max_runs: int,
    seen: Sequence[tuple[Variant, Outcome]] = (),
) -> SearchResult:
    """Search the card's variables with hypothesis; shrink the first failure to the smallest.

    `known` is the choice sequence of a failing seeded variant (replayed first,
    then shrunk); `target` keeps the shrinker on that kind of failure; `seen`
    are the seeded variants already run, so the search does not run them again.
    """
    from hypothesis.errors import HypothesisException

    memo: dict[str, tuple[bool, Outcome | None, Variant | None]] = {}
    runs = 0
    card_ms = 0.0
    keys: set[str] = set()
    lock = threading.Lock()
    found: list[tuple[Outcome, Variant]] = []
    state: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    for variant, out in seen:
        bad = out.flag in VARIANT_FLAGS and (target is None or out.flag == target)
        memo[repr(sorted(variant.values.items()))] = (bad, out, variant)

    def fails(values: dict[str, Any]) -> bool:
        nonlocal runs, card_ms
        key = repr(sorted(values.items()))
        with lock:
            if key in memo:
                hit = memo[key]
                if hit[0] and hit[1] is not None and hit[2] is not None:
                    found[:] = [(hit[1], hit[2])]
                return hit[0]
            if runs >= max_runs:
                return False  # budget spent: the smallest failure so far stands
            runs += 1
        try:
            variant = build_variant(card, seed, dict(values))
        except DrawError as exc:
            out, variant_ = Outcome(ok=False, flag="variant", message=str(exc)), None
        else:
            out, variant_ = checker.outcome(card, variant), variant
        bad = out.flag in VARIANT_FLAGS and (target is None or out.flag == target)
        with lock:
            memo[key] = (bad, out, variant_)
            card_ms += out.elapsed_ms
            if out.ok:
                keys.add(truth_key(card, out.truth))
            if out.state and not state:
                state.append((out.state, _jsonable(dict(values))))
        if bad:
            found[:] = [(out, variant_ or Variant(card.uid, seed, dict(values), "", ""))]
        return bad

    try:
        values = smallest_failing(
            card,
            fails,
            examples=examples,
            known=known,
            random=Random(f"search:{card.uid}"),
            key=f"quiz-deck-check:{card.uid}".encode(),
        )
    except NoVariantError as exc:
        return SearchResult(None, runs, str(exc), card_ms, frozenset(keys), next(iter(state), None))
    except HypothesisException as exc:
        error = f"{type(exc).__name__}: {exc}"
        return SearchResult(None, runs, error, card_ms, frozenset(keys), next(iter(state), None))
    if values is None or not found:
        return SearchResult(None, runs, None, card_ms, frozenset(keys), next(iter(state), None))
    out, variant = found[-1]
    minimal = Minimal(
        flag=out.flag or "", message=out.message, values=_jsonable(dict(values)), code=variant.code, runs=runs
    )
    return SearchResult(minimal, runs, None, card_ms, frozenset(keys), next(iter(state), None))


# --- the whole check ------------------------------------------------------------------


# progress(phase, done, total): phase "run" counts seeded runs, "search" counts searched cards.
ProgressFn = Callable[[str, int, int], None]


@dataclass(slots=True)
class _Pending:
    result: CardResult
    variants: dict[int, Variant] = field(default_factory=dict)
    choices: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    outcomes: dict[int, Outcome] = field(default_factory=dict)


def _interleave(cards: Sequence[Card]) -> list[Card]:
    """Cards of different decks alternated, so a slow deck does not finish last on its own."""
    by_deck: dict[str, list[Card]] = {}
    for c in cards:
        by_deck.setdefault(c.deck_id, []).append(c)
    out: list[Card] = []
    queues = list(by_deck.values())
    while queues:
        for q in list(queues):
            out.append(q.pop(0))
            if not q:
                queues.remove(q)
    return out


def evaluate(result: CardResult, pending: _Pending, variants: int) -> None:
    """Turn a card's seeded outcomes into flags and truths."""
    card = result.card
    for seed, out in sorted(pending.outcomes.items()):
        result.runs += out.runs
        result.elapsed_ms += out.elapsed_ms
        if out.version:
            result.version = out.version
        if out.skip:
            result.status, result.reason = "skip", out.skip
            return
        if out.state and not any(f.code == "state" for f in result.flags):
            values = pending.variants[seed].values_json() if seed in pending.variants else None
            result.flags.append(Flag("state", state_message(out.state), seed, values))
        if out.ok:
            result.truths[seed] = out.truth
        elif out.flag:
            values = pending.variants[seed].values_json() if seed in pending.variants else None
            result.flags.append(Flag(out.flag, out.message, seed, values))
    if result.flags and all(f.code == "unavailable" for f in result.flags):
        del result.flags[1:]
    if card.runs_learner_code and not card.variables:
        result.flags.append(
            Flag(
                "no-vars",
                f"a {card.kind.value} card without `vars` has one variant only: a learner's answer that "
                "hard-codes its result would be graded correct; draw the inputs from `vars`",
            )
        )
    truths = result.truths
    if (
        card.kind == Kind.RAISES
        and len(truths) >= MIN_VARIANTS_FOR_CONSTANT
        and len(truths) == len(pending.outcomes)
        and all(t is None for t in truths.values())
    ):
        result.flags.append(
            Flag(
                "never-raises",
                f"the last statement raised in none of {len(truths)} variants: make the variables "
                "decide whether it raises, or use another kind",
            )
        )
        return
    if card.variables and not card.constant and len(truths) >= 2 and len(truths) == variants:
        keys = {truth_key(card, t) for t in truths.values()}
        distinct = {
            json.dumps(v.values_json(), sort_keys=True, default=repr) for v in pending.variants.values()
        }
        if len(keys) == 1 and variants >= MIN_VARIANTS_FOR_CONSTANT:
            (only,) = list(truths.values())[:1]
            shown = (
                str(only.get("type")) if card.kind == Kind.RAISES and isinstance(only, dict) else _short(only)
            )
            why = " (every variant drew the same values)" if len(distinct) == 1 else ""
            result.flags.append(
                Flag(
                    "constant",
                    f"the truth was {shown} in all {len(truths)} variants{why}: let the variables change "
                    "it, or mark the card `constant = true`",
                )
            )


def check_pool(options: CheckOptions) -> RunnerPool:
    """The pool `run_check` runs cards on when it is given none (it starts no worker until used)."""
    from quiz import paths as app_paths
    from quiz.runner.config import WorkerConfig
    from quiz.runner.pool import RunnerPool

    return RunnerPool(
        options.jobs,
        device=options.device,
        config=WorkerConfig(log_dir=app_paths.log_dir(), allow_unisolated=options.allow_unisolated),
    )


def run_check(
    paths: Iterable[str],
    options: CheckOptions | None = None,
    *,
    pool: Runs | None = None,
    progress: ProgressFn | None = None,
    records: Records | None = None,
) -> CheckReport:
    """Load the decks under `paths`, run every card that can run here, and report.

    `pool` defaults to a `RunnerPool` sized to the cores (closed afterwards);
    `progress(done, total, label)` is called from worker threads as runs finish.
    """
    options = options or CheckOptions()
    started = time.perf_counter()
    path_list = [str(p) for p in paths]
    files = deck_files(path_list)
    lib: Library = load_library(path_list)
    versions = installed_versions()
    report = CheckReport(
        problems=list(lib.problems), results=[], versions={}, options=options, files=len(files)
    )
    if not files:
        report.problems.append(
            Problem(", ".join(path_list) or ".", None, None, "no deck files (*.toml) found")
        )

    wanted = set(options.backends or BACKENDS)
    runnable: list[_Pending] = []
    for card in lib.cards():
        result = CardResult(card)
        report.results.append(result)
        if card.backend.value not in wanted:
            result.status, result.reason = "skip", "backend not selected"
            continue
        reason = unmet_requirement(card, versions, gpu=False if options.device == "cpu" else None)
        if reason is None and card.source_backend is not None and not versions.get(card.source_backend.value):
            reason = f"its source, {card.source_backend.value}, is not installed"
        if reason:
            result.status, result.reason = "skip", reason
            continue
        runnable.append(_Pending(result))
    used = sorted({p.result.card.backend.value for p in runnable})
    report.versions = {
        k: v for k, v in versions.items() if k in used or (k == "keras" and "tensorflow" in used)
    }

    # Draw every seeded variant first: a broken spec is a flag, not a run.
    for p in runnable:
        card = p.result.card
        for seed in range(options.variants):
            try:
                values, choices = draw_with_choices(card, seed)
                p.variants[seed] = build_variant(card, seed, values)
                p.choices[seed] = choices
            except NoVariantError as exc:
                p.outcomes[seed] = Outcome(ok=False, flag="variant", message=str(exc), runs=0)

    own_pool = pool is None
    if pool is None:
        pool = check_pool(options)
    checker = Checker(pool, options.device)
    total = sum(len(p.variants) for p in runnable)
    if progress:
        progress("run", 0, total)
    done = 0
    done_lock = threading.Lock()

    def tick() -> None:
        nonlocal done
        with done_lock:
            done += 1
            n = done
        if progress:
            progress("run", n, total)

    # No more threads for a backend than it has runs (a RunnerPool starts a backend's workers as runs
    # wait for them: a thread that cannot have a run of its own makes nothing wait).
    per_backend = {
        b: sum(len(p.variants) for p in runnable if p.result.card.backend.value == b) for b in used
    }
    executors: dict[str, ThreadPoolExecutor] = {
        b: ThreadPoolExecutor(
            max_workers=max(1, min(pool.size, per_backend[b])), thread_name_prefix=f"check-{b}"
        )
        for b in used
    }
    try:
        if used:
            pool.prestart(used)
        seeded: dict[str, list[tuple[_Pending, int, Future[Outcome]]]] = {b: [] for b in used}
        order = _interleave([p.result.card for p in runnable])
        by_uid = {p.result.card.uid: p for p in runnable}
        for seed in range(options.variants):
            for card in order:
                p = by_uid[card.uid]
                if seed not in p.variants:
                    continue
                b = card.backend.value

                def job(p: _Pending = p, seed: int = seed) -> Outcome:
                    try:
                        return checker.outcome(p.result.card, p.variants[seed])
                    finally:
                        tick()

                seeded[b].append((p, seed, executors[b].submit(job)))
        for b in used:
            for p, seed, fut in seeded[b]:
                p.outcomes[seed] = fut.result()
        for p in runnable:
            evaluate(p.result, p, options.variants)
            check_texts(p.result, p)
            if p.result.version:  # what the worker reports (`2.13.0`, not the wheel's `2.13.0+cpu`)
                report.versions[p.result.card.backend.value] = p.result.version
        report.timings["runs_s"] = round(time.perf_counter() - started, 2)

        # The search: every card with variables (and every failure, to shrink it).
        searches: list[tuple[_Pending, Future[SearchResult]]] = []
        search_pools = executors
        for p in runnable:
            result, card = p.result, p.result.card
            if result.status == "skip" or not card.variables:
                continue
            if any(f.code == "unavailable" for f in result.flags):
                continue
            failing = next((f for f in result.flags if f.code in VARIANT_FLAGS and f.seed in p.choices), None)
            if options.search <= 0 and failing is None:
                continue
            known = p.choices.get(failing.seed) if failing and failing.seed is not None else None
            search = search_pools[card.backend.value].submit(
                shrink,
                checker,
                card,
                examples=options.search,
                seed=failing.seed if failing and failing.seed is not None else 0,
                known=known,
                target=failing.code if failing else None,
                max_runs=options.shrink_runs + max(options.search, 0),
                seen=[(p.variants[s], o) for s, o in p.outcomes.items() if s in p.variants],
            )
            searches.append((p, search))
        probes = [
            (p, executors[p.result.card.backend.value].submit(probe_inert, checker, p))
            for p in runnable
            if wants_probe(p.result, options.variants)
        ]
        for n, (p, search) in enumerate(searches, 1):
            found = search.result()
            if progress:
                progress("search", n, len(searches))
            p.result.searched = found.runs
            p.result.runs += found.runs
            p.result.elapsed_ms += found.elapsed_ms
            if found.error:
                p.result.flags.append(
                    Flag("variant", f"the hypothesis search could not draw a variant: {found.error}")
                )
            _refute_with_search(p.result, found.truths)
            if found.state is not None and not any(f.code == "state" for f in p.result.flags):
                p.result.flags.append(Flag("state", state_message(found.state[0]), None, found.state[1]))
            minimal = found.minimal
            if minimal is not None:
                p.result.minimal = minimal
                if not any(f.code == minimal.flag for f in p.result.flags):
                    p.result.flags.append(Flag(minimal.flag, minimal.message, None, minimal.values))
        for p, probe in probes:
            flag, runs, ms = probe.result()
            p.result.runs += runs
            p.result.elapsed_ms += ms
            if flag is not None and not any(f.code == "constant" for f in p.result.flags):
                p.result.flags.append(flag)
        report.timings["search_s"] = round(time.perf_counter() - started - report.timings["runs_s"], 2)
    finally:
        for ex in executors.values():
            ex.shutdown(wait=True, cancel_futures=True)
        if own_pool:
            pool.close()  # type: ignore[attr-defined]

    for p in runnable:
        if p.result.status != "skip":
            p.result.status = "fail" if p.result.flags else "pass"
    drawn = {p.result.card.uid: list(p.variants.values()) for p in runnable}
    for result in report.results:
        for problem in translation_problems(result.card, drawn.get(result.card.uid, ())):
            result.flags.append(Flag("translation", problem))
            result.status = "fail"

    if options.record:
        _update_records(report, runnable, versions, records)
    report.elapsed_s = time.perf_counter() - started
    return report


def state_message(changed: Sequence[str]) -> str:
    """`state`'s message: what the card left changed, in the learner's words."""
    shown = "; ".join(changed[:5]) + (f"; and {len(changed) - 5} more" if len(changed) > 5 else "")
    return (
        f"the card {shown}: later cards would see it (its worker was put back or replaced); "
        "undo it in the card (a `with` block, try/finally)"
    )


def _refute_with_search(result: CardResult, search_truths: frozenset[str]) -> None:
    """Variants the search ran count too: a truth it saw change is not constant, a raise it saw is a raise."""
    card = result.card
    seeded = {truth_key(card, t) for t in result.truths.values()}
    if search_truths - seeded:
        result.flags[:] = [f for f in result.flags if f.code != "constant"]
    if any(k != "no error" for k in search_truths):
        result.flags[:] = [f for f in result.flags if f.code != "never-raises"]


def _same_for(card: Card) -> Callable[[Any, Any], bool]:
    def same(a: Any, b: Any) -> bool:
        return same_truth(card, a, b)

    return same


def _update_records(
    report: CheckReport, runnable: list[_Pending], versions: dict[str, str], records: Records | None
) -> None:
    from quiz.checking.records import Records as RecordsFile

    rec = records or RecordsFile.load()
    if rec.warning:
        report.notes.append(rec.warning)
    for p in runnable:
        result, card = p.result, p.result.card
        if result.status == "skip" or not result.truths:
            continue
        if any(f.code == "state" for f in result.flags):
            continue  # its truths came with changes to the worker: never a reference for a later check
        seen = card_versions(card, versions)
        if result.version:
            seen[card.backend.value] = result.version  # what the worker really ran
        comparison = rec.compare(card, seen, result.truths, _same_for(card))
        if comparison.stale is not None:
            report.stale.append(comparison.stale)
        if comparison.unstable_seeds:
            seed = comparison.unstable_seeds[0]
            result.flags.append(
                Flag(
                    "unstable",
                    f"seed {seed} gave {_short(result.truths[seed])} but {_short(comparison.previous.get(str(seed)))} "
                    "in the last check on the same versions: the truth depends on more than the seed",
                    seed,
                    p.variants[seed].values_json() if seed in p.variants else None,
                )
            )
            result.status = "fail"
        rec.record(card, seen, result.truths)
    rec.add_check(report.versions, len(report.results), len(report.failed))
    try:
        rec.save()
    except OSError as exc:
        report.notes.append(f"could not save the check records to {rec.path}: {exc.strerror or exc}")
    report.stale_total = len(rec.stale())


# --- texts true for the variant; variables that change the truth ----------------------------------


def check_texts(result: CardResult, pending: _Pending) -> None:
    """`wording` for the card's templates and prompts; `explain-raises` for each variant of a `raises` card
    (and `translation` where its Chinese explanation names other exception classes than the English)."""
    card = result.card
    if result.status == "skip":
        return
    for name, text in (("prompt", card.prompt), ("explanation", card.explain)):
        problem = wording_problem(name, text)
        if problem:
            result.flags.append(Flag("wording", problem))
            break
    for seed, shown in sorted(pending.variants.items()):
        problem = prompt_problem(shown.prompt)
        if problem:
            result.flags.append(Flag("wording", problem, seed, shown.values_json()))
            break
    for seed, shown in sorted(pending.variants.items()):
        texts = (
            ("prompt", shown.prompt),
            ("explanation", shown.explain),
            ("Chinese prompt", shown.prompt_zh),
            ("Chinese explanation", shown.explain_zh),
        )
        problem = next((p for name, text in texts if text and (p := markdown_problem(name, text))), None)
        if problem:
            result.flags.append(Flag("wording", problem, seed, shown.values_json()))
            break
    if card.kind != Kind.RAISES:
        return
    for seed, truth in sorted(result.truths.items()):
        variant = pending.variants.get(seed)
        if variant is None:
            continue
        raised = str(truth.get("type")) if isinstance(truth, dict) else None
        problem = explain_raise_problem(variant.explain, raised)
        if problem:
            result.flags.append(Flag("explain-raises", problem, seed, variant.values_json()))
        if variant.explain_zh:
            problem = translated_raise_problem(variant.explain, variant.explain_zh)
            if problem:
                result.flags.append(Flag("translation", problem, seed, variant.values_json()))


def wants_probe(result: CardResult, variants: int) -> bool:
    """Probe cards that passed so far, draw two or more variables, and say their truth changes."""
    card = result.card
    if result.status == "skip" or result.flags or card.constant or variants < MIN_VARIANTS_FOR_CONSTANT:
        return False
    skip = set(card.constant_vars) | constrained_variables(card)
    return len([n for n in drawn_variables(card) if n not in skip]) >= 2


def probe_inert(checker: Checker, pending: _Pending) -> tuple[Flag | None, int, float]:
    """Change one drawn variable at a time, from a few seeded variants: does the truth ever move?

    Returns the `inert` flag for the first variable that never moved it (or
    None), the runs spent and the card's milliseconds. A variant that fails
    proves nothing here (the search reports failures).
    """
    result, card = pending.result, pending.result.card
    bases = [(s, pending.variants[s]) for s in sorted(result.truths) if s in pending.variants]
    # Variants with different truths first: a variable may matter only where another one lets it.
    firsts = {truth_key(card, result.truths[s]): s for s, _ in reversed(bases)}
    bases.sort(key=lambda b: (b[0] not in firsts.values(), b[0]))
    runs, ms = 0, 0.0
    for name in drawn_variables(card):
        if name in card.constant_vars or name in constrained_variables(card):
            continue
        seen = [v.values[name] for _, v in bases if name in v.values]
        moved, tried, from_seeds = False, [], []
        for seed, base in bases[:PROBE_BASES]:
            truth = result.truths[seed]
            for values in list(alternatives(card, base.values, name, seen))[:PROBE_PER_BASE]:
                try:
                    variant = build_variant(card, seed, values)
                except DrawError:
                    continue
                out = checker.outcome(card, variant)
                runs += out.runs
                ms += out.elapsed_ms
                if not out.ok:
                    continue
                tried.append(values[name])
                if seed not in from_seeds:
                    from_seeds.append(seed)
                if not same_truth(card, out.truth, truth):
                    moved = True
                    break
            if moved:
                break
        if not moved and tried:
            shown = ", ".join(sorted({_short(v, 40) for v in tried}))
            seeds = ", ".join(map(str, from_seeds))
            message = (
                f"changing `{name}` alone (to {shown}, from seed{'s' if len(from_seeds) > 1 else ''} {seeds}) "
                f'never changed the truth: let it matter, drop it, or list it in `constant = ["{name}"]`'
            )
            return (
                Flag("inert", message, from_seeds[0], pending.variants[from_seeds[0]].values_json()),
                runs,
                ms,
            )
    return None, runs, ms
