"""`quiz deck check` and `quiz deck new`: check decks by running them; start a new deck."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quiz.cli import add_common
from quiz.commands.common import err, isolation_notice, lent, print_json, say

if TYPE_CHECKING:
    from quiz.checking.check import CardResult, CheckOptions, CheckReport, Runs
    from quiz.config import Settings

BACKENDS = ("torch", "tensorflow", "mxnet")

CHECK_DESCRIPTION = """\
Check deck files by running them. Every file is parsed first and every
problem is reported at once (file:line, card id). Then each card runs on its
backend, when that backend is installed, for the seeds 0..N-1 (--variants),
and hypothesis searches its variables for more (--search): the first example
it tries is the simplest variant, and any failing variant is shrunk to the
smallest one, which is printed with its code.

A card fails when its code raises (and its kind is not `raises`), when a
`raises` card never raises, when its answer raises or cannot be compared as
its kind (a choice that is not among `choices`, a shape that is not a shape),
when it draws variables but its truth never changes (unless `constant =
true`), when it times out or crashes, when it leaves its worker changed (a
patched module, a setting left on, a thread left running: the check names
what, and never records that card's truths), when it writes to the worker's
protocol (misbehaved), or when a seed gives another truth than the last check
on the same versions. It also fails when the text is not true
for the variant shown: a `raises` card's explanation that names an exception
the variant did not raise (or leaves out the one it did, or says "raises" when
nothing was raised), a drawn variable that never changes the truth on its own
(`inert`, unless listed in `constant = ["name"]`), and prompts with "(s)"
plurals, two questions, or a count of zero (`wording`). A translated card fails
(flag `translation`, whether its backend is installed or not) when its Chinese
text has other `${}` placeholders than the English (one that drops or adds a
variable), cannot be filled in for a variant, or when it has `prompt_zh`
without `explain_zh` or the other way round. docs/decks.md explains each flag.

Each check records the framework versions it ran on and every (card, seed)'s
truth in your data dir; when a later check on other versions gets another
truth for the same (card, seed), the card is reported stale (what you learned
about it may have changed), and `quiz doctor` counts the stale cards."""

CHECK_EPILOG = """\
examples:
  quiz deck check decks/                      every deck in a folder
  quiz deck check my.toml --variants 3 --search 0   a quick pass while writing
  quiz deck check decks/ --backend torch --json

exit status: 0 every card passed (cards whose backend is not installed, or
that need a GPU here, are skipped); 1 a card failed or a file has problems;
2 nothing to check.

--json prints one object: ok, summary {files, cards, passed, failed, skipped,
problems, stale, stale_total, elapsed_s}, versions, problems [{file, line,
card, message}], cards [{card, file, line, backend, kind, status, reason,
flags [{flag, message, seed, values}], minimal {flag, message, values, code,
runs}, truths {seed: truth}}], stale [{card, before, after, seeds, was, now}],
notes, timings."""

NEW_DESCRIPTION = """\
Write a commented starter deck to PATH: one card of most kinds, on all three
backends, each with variables that change its truth. It passes
`quiz deck check` as written; edit it from there (docs/decks.md has the format)."""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def register(sub: Any, groups: dict[str, Any]) -> None:
    g = groups["deck"]
    p = g.add_parser(
        "check",
        help="check deck files by running every card (and report cards whose truth changed)",
        description=CHECK_DESCRIPTION,
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="deck files, or folders of *.toml decks")
    p.add_argument(
        "--variants", type=_positive, default=10, metavar="N", help="seeds 0..N-1 run per card (default 10)"
    )
    p.add_argument(
        "--search",
        type=_count,
        default=10,
        metavar="N",
        help="extra variants hypothesis tries per card with variables (default 10; 0: only shrink failures)",
    )
    p.add_argument(
        "--backend",
        action="append",
        choices=BACKENDS,
        help="check only this backend's cards (repeatable; default: every installed backend)",
    )
    p.add_argument(
        "--jobs", type=_positive, metavar="N", help="worker processes per backend (default: one per core)"
    )
    p.add_argument(
        "--no-record",
        action="store_true",
        help="do not record truths (no stale-card report, nothing written to the data dir)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object; no progress bar")
    add_common(p, device=True)
    p.set_defaults(handler=cmd_check)

    p = g.add_parser(
        "new",
        help="write a commented starter deck that passes the check",
        description=NEW_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", metavar="PATH", help="the deck file to write (.toml is added if missing)")
    p.add_argument("--id", dest="deck_id", help="deck id (default: from the file name)")
    p.add_argument("--title", help="deck title (default: from the file name)")
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    add_common(p)
    p.set_defaults(handler=cmd_new)


# --- check ------------------------------------------------------------------------------


class _Progress:
    """A rich progress bar on stderr (terminals only): seeded runs, then the hypothesis search."""

    def __init__(self, enabled: bool) -> None:
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self.bar is None:
            return
        if phase not in self.tasks:
            label = "running variants" if phase == "run" else "hypothesis search"
            self.tasks[phase] = self.bar.add_task(label, total=total)
        self.bar.update(self.tasks[phase], completed=done, total=total)


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.checking.check import CheckOptions, run_check
    from quiz.core.decks import deck_files

    missing = [p for p in args.paths if not Path(p).exists()]
    files = deck_files([p for p in args.paths if Path(p).exists()])
    if not files:
        message = f"no deck files to check in {', '.join(args.paths)}"
        if missing:
            message = f"no such file or folder: {', '.join(missing)}"
        if args.json:
            print_json({"ok": False, "error": message})
        else:
            err(message)
        return 2
    isolation_notice(settings)
    refusal = _unisolated_refusal(files, settings)
    if refusal:
        if args.json:
            print_json({"ok": False, "error": refusal})
        else:
            err(refusal)
        return 2
    options = CheckOptions(
        variants=args.variants,
        search=args.search,
        backends=tuple(args.backend) if args.backend else None,
        device=settings.device,
        jobs=args.jobs,
        record=not args.no_record,
        allow_unisolated=settings.allow_unisolated,
    )
    if not args.json:
        print(
            f"checking {len(files)} deck file{'s' if len(files) != 1 else ''}…", file=sys.stderr, flush=True
        )
    with _Progress(enabled=not args.json and sys.stderr.isatty()) as progress:
        report = run_check(args.paths, options, progress=progress, pool=_lent_pool(options))
    if args.json:
        print_json(report.to_dict())
    else:
        print_report(report)
    return 0 if report.ok else 1


def _lent_pool(options: CheckOptions) -> Runs | None:
    """A pool lent to this process (`lend_runner`) with the workers run_check would start for
    `options`; None (run_check starts its own) where none is lent or it differs."""
    from quiz.checking.check import check_pool

    return lent(check_pool(options))  # the pool starts nothing


def _unisolated_refusal(files: list[Path], settings: Settings) -> str | None:
    """Why these files may not run here (added decks without full isolation, not opted in), or None."""
    from quiz.runner.isolation import added_deck_refusal, sandbox_for

    sandbox = sandbox_for()
    refused = [
        why
        for f in files
        if (why := added_deck_refusal(str(f), sandbox, allow_unisolated=settings.allow_unisolated))
    ]
    if not refused:
        return None
    more = (
        f" (and {len(refused) - 1} more file(s)); nothing was checked"
        if len(refused) > 1
        else "; nothing was checked"
    )
    return refused[0] + more


def _values_text(values: dict[str, Any] | None) -> str:
    if not values:
        return ""
    return ", ".join(f"{k}={_literal(v)}" for k, v in values.items())


def _literal(v: Any) -> str:
    if isinstance(v, list):
        inner = ", ".join(_literal(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    return repr(v)


def _versions_text(versions: dict[str, str]) -> str:
    parts = []
    for b in BACKENDS:
        if b in versions:
            extra = f" (keras {versions['keras']})" if b == "tensorflow" and "keras" in versions else ""
            parts.append(f"{b} {versions[b]}{extra}")
    return ", ".join(parts) or "no backend"


def _card_text(r: CardResult) -> list[str]:
    c = r.card
    out = [f"{c.location.path}:{c.location.line}: card {c.id!r} ({c.backend.value}, {c.kind.value}) FAILED"]
    shown: dict[str, list[int]] = {}
    for f in r.flags:
        if f.code in shown and f.seed is not None:
            shown[f.code].append(f.seed)  # the same failure on another seed: listed once
            continue
        shown[f.code] = []
        where = []
        if f.seed is not None:
            where.append(f"seed {f.seed}")
        if f.values:
            where.append(_values_text(f.values))
        detail = f" [{'; '.join(where)}]" if where else ""
        out.append(f"  {f.code}{detail}: {f.message}")
    for code, seeds in shown.items():
        if seeds:
            out.append(f"  {code} also on seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}")
    if r.minimal is not None:
        m = r.minimal
        out.append(
            f"  smallest failing variant ({m.flag}; hypothesis shrank it in {m.runs} runs): {_values_text(m.values)}"
        )
        out.extend("      " + line for line in m.code.splitlines())
    return out


def print_report(report: CheckReport) -> None:
    """The text report; every line may hold deck or run text (`say` shows its control characters)."""
    for problem in report.problems:
        say(str(problem))
    if report.problems:
        say()
    for r in report.failed:
        say("\n".join(_card_text(r)))
        say()
    skipped = report.skipped
    if skipped:
        reasons: dict[str, int] = {}
        for r in skipped:
            reasons[r.reason or "skipped"] = reasons.get(r.reason or "skipped", 0) + 1
        listed = "; ".join(f"{n} {reason}" for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
        say(f"skipped {len(skipped)} card{'s' if len(skipped) != 1 else ''}: {listed}")
    if report.stale:
        say(
            f"stale: {len(report.stale)} card(s) gave another truth than on the versions they were last checked on:"
        )
        for s in report.stale:
            say(f"  {s.describe()}")
    if report.stale_total:
        say(f"{report.stale_total} stale card(s) in the records (`quiz doctor` shows the count)")
    for note in report.notes:
        say(f"note: {note}")
    o = report.options
    say(
        f"{len(report.results)} cards in {report.files} file(s) on {_versions_text(report.versions)} "
        f"({o.variants} variants + search {o.search}): {len(report.passed)} passed, {len(report.failed)} failed, "
        f"{len(skipped)} skipped; {len(report.problems)} file problem(s) ({report.elapsed_s:.1f} s)"
    )


# --- new --------------------------------------------------------------------------------


def cmd_new(args: argparse.Namespace, settings: Settings) -> int:
    import re

    from quiz.checking.starter import starter_deck

    path = Path(args.path)
    if path.suffix != ".toml":
        path = path.with_name(path.name + ".toml")
    if path.is_dir():
        err(f"{path} is a folder; give the deck file to write, e.g. {path / 'my-deck.toml'}")
        return 2
    if path.exists() and not args.force:
        err(f"{path} exists; pass --force to overwrite it")
        return 2
    deck_id = args.deck_id or re.sub(r"[^a-z0-9_-]+", "-", path.stem.lower()).strip("-_") or "my-deck"
    if not re.match(r"^[a-z0-9][a-z0-9_-]*$", deck_id):
        err(f"deck id {deck_id!r} may hold only a-z 0-9 - _ (and starts with a letter or digit)")
        return 2
    title = args.title or path.stem.replace("-", " ").replace("_", " ").strip().capitalize() or "My deck"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(starter_deck(deck_id, title, str(path)), encoding="utf-8")
    except OSError as exc:
        err(f"cannot write {path}: {exc.strerror or exc}")
        return 2
    print(f"wrote {path} (deck {deck_id!r}); check it with: quiz deck check {path}")
    return 0
