"""Helpers shared by commands: JSON output, errors, finding decks and cards."""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from quiz.core.text import CONTROLS, has_controls, visible

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.cards import Card
    from quiz.core.decks import Library
    from quiz.core.grading import RunResult
    from quiz.core.variables import Variant
    from quiz.runner.client import Runner
    from quiz.runner.config import WorkerConfig
    from quiz.runner.pool import RunnerPool


def print_json(obj: Any) -> None:
    """One JSON object, indented, with every control character escaped (see `json_text`)."""
    print(json_text(obj, indent=2))


def json_text(obj: Any, indent: int | None = None) -> str:
    """JSON escapes C0 controls itself; the rest (DEL, C1, bidi overrides) are escaped here."""
    text = json.dumps(obj, indent=indent, default=str, ensure_ascii=False)
    if has_controls(text):  # only inside strings: JSON's own syntax has none
        text = re.sub(CONTROLS, lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def err(message: str) -> None:
    print(f"quiz: {visible(message)}", file=sys.stderr)


def say(text: str = "", *, file: TextIO | None = None) -> None:
    """Print a line that holds deck or run text: its control characters made visible."""
    print(visible(text), file=file)


def isolation_notice(settings: Settings) -> bool:
    """Before running card code: one line on stderr when it is not fully isolated here, with the fix.

    False when card code cannot run here at all (the line says why).
    """
    from quiz.runner.isolation import notice, sandbox_for

    sandbox = sandbox_for()
    line = notice(sandbox, allow_unisolated=settings.allow_unisolated)
    if line:
        err(line)
    return not sandbox.refused


def library(settings: Settings, extra: list[str] | None = None, only: list[str] | None = None) -> Library:
    """What may run: the learner's library (`quiz.library`, with `extra` files named), or exactly `only`."""
    from quiz.core.decks import load_library
    from quiz.library import limits, load

    if only:
        return load_library(only, limits(settings))
    return load(settings, extra=extra).library


class CardNotFound(LookupError):
    pass


def find_card(lib: Library, ref: str, backend: str | None = None) -> Card:
    """A card by `deck/card`, bare card id, or family id (with `backend` to pick one)."""
    matches = lib.find(ref)
    if not matches:
        matches = [c for c in lib.cards() if ref in (c.family, f"{c.deck_id}/{c.family}")]
    if backend:
        matches = [c for c in matches if c.backend.value == backend]
    if not matches:
        where = f" for {backend}" if backend else ""
        raise CardNotFound(f"no card {ref!r}{where}; `quiz decks` lists the decks")
    if len(matches) > 1:
        options = ", ".join(sorted(c.uid for c in matches)[:8])
        raise CardNotFound(f"{ref!r} matches several cards ({options}); give deck/card or --backend")
    return matches[0]


# --- warm workers lent to the commands a process runs -----------------------------------------

# Runners (or pools) lent by `lend_runner`, newest last. A process that runs many commands in a
# row (the tests call `quiz.cli.main` in-process) shares one set of warm workers instead of each
# command starting its framework workers afresh, seconds of CPU each. `quiz` itself lends none.
_LENT: list[Runner | RunnerPool] = []

R = TypeVar("R", "Runner", "RunnerPool")


@contextlib.contextmanager
def lend_runner(runner: Runner | RunnerPool) -> Iterator[None]:
    """While open, a command in this process runs card code on `runner` where `runner` is what it
    would start itself (see `lent_or_own`), and leaves it open: its owner closes it."""
    _LENT.append(runner)
    try:
        yield
    finally:
        _LENT.remove(runner)


@contextlib.contextmanager
def lent_or_own(own: R) -> Iterator[R]:
    """The Runner or RunnerPool a command built (no worker started yet), closed after; or a lent one
    whose workers are the same: the same device, sandbox, limits, threads and opt-in for added decks
    (where a worker logs, when it idles out and whose QUIZ_HOME it was started to hide may differ:
    the lender's business). A lent Runner also stands in for a pool of one. A lent one that does not
    match is not used.
    """
    found = lent(own)
    if found is not None:
        yield found
        return
    try:
        yield own
    finally:
        own.close()


def _workers(runner: Runner | RunnerPool) -> tuple[str, WorkerConfig, Any]:
    """What decides how a runner's workers run card code: its device, its config as a Runner resolves
    it (the opt-in from the environment, cpu_only from the device) and the sandbox it starts them in."""
    from quiz.runner.client import Runner

    resolved = Runner(runner.config, device=runner.device)  # starts nothing
    return runner.device, resolved.config.but(log_dir=None, idle_s=0.0), resolved.sandbox()


def lent(own: R) -> R | None:
    """The lent runner or pool that can stand in for `own`, or None (see `lent_or_own`)."""
    if not _LENT:  # `quiz` itself: nothing to compare
        return None
    from quiz.runner.pool import RunnerPool

    want = _workers(own)
    size = own.size if isinstance(own, RunnerPool) else None
    for candidate in reversed(_LENT):
        if _workers(candidate) != want or not _started_as(candidate, want[2]):
            continue
        if isinstance(candidate, RunnerPool):
            if size == candidate.size:
                return candidate  # type: ignore[return-value]
        elif size is None:
            return candidate  # type: ignore[return-value]
        elif size == 1:
            return PoolOfOne(candidate)  # type: ignore[return-value]
    return None


def _started_as(lent: Runner | RunnerPool, sandbox: Any) -> bool:
    """Every worker the lent runner has started runs in `sandbox` (QUIZ_ISOLATION may have changed since)."""
    return all(w.sandbox in (None, sandbox) for w in lent.started_workers())


class PoolOfOne:
    """A Runner as a pool of one worker per backend (what `RunnerPool(1)` is), for `run_check` and exports."""

    size = 1

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def prestart(self, backends: list[str] | tuple[str, ...]) -> None:
        self.runner.prestart(backends)

    def run(
        self, card: Card, variant: Variant, given: str | None = None, device: str | None = None
    ) -> RunResult:
        return self.runner.run(card, variant, given=given, device=device)

    def close(self) -> None:
        """Its runner is lent or shared: whoever made the runner closes it."""
