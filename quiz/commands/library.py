"""`quiz decks`, `quiz show` and `quiz grade`: the library, one variant, one graded answer."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from quiz.cli import add_common
from quiz.commands.common import CardNotFound, err, find_card, library, print_json, say

if TYPE_CHECKING:
    from quiz.config import Settings
    from quiz.core.cards import Card
    from quiz.core.decks import Library
    from quiz.core.grading import Verdict

GRADE_EPILOG = """\
exit status: 0 correct, 1 incorrect, 2 bad input (unknown card, malformed
answer: nothing was graded), 3 the card could not be run (timeout, crash,
backend missing).

--json prints one object: correct (true/false; null when not graded, with
error saying why), expected, given, backend, device, version, elapsed_ms,
plus card and seed. A code or translate answer runs on the shown variant and
on 3 more drawn from the seed; its verdict adds variants_checked,
given_value (or given_error), reference (the card's own answer), and when it
fails failing_variant: {values, expected, got} (or error) for the smallest
variant hypothesis found where your code disagrees, or misbehaved when your
code wrote replies of its own into the runner's pipe.

--batch FILE.jsonl (or - for stdin) grades one answer per line, each a JSON
object {"card": ID, "seed": N, "answer": TEXT} with optional "backend" and
"device", on the same warm workers, in order. It prints one verdict per line
(with --json: one JSON object per line, the keys above); a bad line gets a
verdict with error and the batch goes on. Blank lines are skipped. Exit
status: 0 when every line was graded (right or wrong), 2 when a line was bad
input, else 3 when a card could not be run.

examples:
  quiz grade expand-shape.torch --seed 3 --answer "(2, 3)" --json
  printf '%s\\n' '{"card": "expand-shape.torch", "seed": 3, "answer": "(2, 3)"}' | quiz grade --batch - --json"""


def register(sub: Any, groups: dict[str, Any]) -> None:
    p = sub.add_parser("decks", help="list decks with card counts per section and backend")
    p.add_argument("paths", nargs="*", help="deck files or folders to list instead of the library")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_common(p)
    p.set_defaults(handler=cmd_decks)

    p = sub.add_parser(
        "show",
        help="print one concrete variant of a card: prompt and code with the drawn values",
        description="Print the variant of CARD_ID drawn from SEED: the same seed gives the same variant anywhere.",
    )
    p.add_argument("card", metavar="CARD_ID", help="card id, deck/card, or a family id with --backend")
    p.add_argument("--seed", type=int, default=0, help="variant seed (default 0)")
    p.add_argument(
        "--backend", choices=("torch", "tensorflow", "mxnet"), help="pick the family's card for this backend"
    )
    p.add_argument(
        "--deck", metavar="PATH", action="append", help="a deck file outside the library (repeatable)"
    )
    p.add_argument(
        "--explain",
        action="store_true",
        help="print the explanation too (it gives the answer away; for authors and translators)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_common(p)
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser(
        "grade",
        help="run a card's variant and grade an answer",
        description="Run the variant of CARD_ID for SEED on this machine and grade ANSWER against what happened.",
        epilog=GRADE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "card", metavar="CARD_ID", nargs="?", help="card id, deck/card, or a family id with --backend"
    )
    p.add_argument("--seed", type=int, default=0, help="variant seed (default 0)")
    p.add_argument("--answer", help="your prediction, as you would type it in the app")
    p.add_argument(
        "--batch",
        metavar="FILE.jsonl",
        help='grade one {"card", "seed", "answer"} JSON object per line (- reads stdin); see below',
    )
    p.add_argument(
        "--backend", choices=("torch", "tensorflow", "mxnet"), help="pick the family's card for this backend"
    )
    p.add_argument(
        "--deck", metavar="PATH", action="append", help="a deck file outside the library (repeatable)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_common(p, device=True)
    p.set_defaults(handler=cmd_grade)


def deck_summary(lib: Library) -> list[dict[str, Any]]:
    from quiz.core.translation import deck_languages, translated_cards

    out = []
    for deck in lib.decks:
        sections: dict[str, dict[str, int]] = {}
        backends: dict[str, int] = {}
        families: dict[str, list[str]] = {}
        kinds: dict[str, int] = {}
        for card in deck.cards:
            b = card.backend.value
            sections.setdefault(card.section, {}).setdefault(b, 0)
            sections[card.section][b] += 1
            backends[b] = backends.get(b, 0) + 1
            families.setdefault(card.family, []).append(b)
            kinds[card.kind.value] = kinds.get(card.kind.value, 0) + 1
        out.append(
            {
                "id": deck.id,
                "title": deck.title,
                "path": deck.path,
                "cards": len(deck.cards),
                "families": len(families),
                "backends": backends,
                "sections": sections,
                "family_backends": families,
                "kinds": dict(sorted(kinds.items())),
                # Languages every card has (studied in one, nothing falls back to English) and,
                # per language besides English, how many cards have their text in it.
                "languages": deck_languages(deck),
                "translated": translated_cards(deck),
            }
        )
    return out


def cmd_decks(args: argparse.Namespace, settings: Settings) -> int:
    lib = library(settings, only=args.paths or None)
    summary = deck_summary(lib)
    if args.json:
        totals: dict[str, int] = {}
        kinds: dict[str, int] = {}
        translated: dict[str, int] = {}
        for d in summary:
            for b, n in d["backends"].items():
                totals[b] = totals.get(b, 0) + n
            for k, n in d["kinds"].items():
                kinds[k] = kinds.get(k, 0) + n
            for lang, n in d["translated"].items():
                translated[lang] = translated.get(lang, 0) + n
        print_json(
            {
                "decks": summary,
                "totals": {
                    "decks": len(summary),
                    "cards": sum(d["cards"] for d in summary),
                    "families": sum(d["families"] for d in summary),
                    "backends": totals,
                    "kinds": dict(sorted(kinds.items())),
                    "translated": translated,
                },
                "problems": [p.to_dict() for p in lib.problems],
            }
        )
    else:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        from quiz.core.text import visible

        console = Console()
        table = Table(title="decks", show_lines=False)
        for col in ("deck", "section", "torch", "tensorflow", "mxnet", "cards"):
            table.add_column(col, justify="right" if col not in ("deck", "section") else "left")
        for d in summary:
            first = True
            for section, counts in sorted(d["sections"].items()):
                table.add_row(  # deck text as Text: literal, never markup
                    Text(visible(d["id"])) if first else "",
                    Text(visible(section)),
                    *(str(counts.get(b, "")) for b in ("torch", "tensorflow", "mxnet")),
                    str(sum(counts.values())),
                )
                first = False
        console.print(table)
        total = sum(d["cards"] for d in summary)
        zh = sum(d["translated"].get("zh", 0) for d in summary)
        console.print(
            f"{len(summary)} decks, {total} cards, {sum(d['families'] for d in summary)} families; "
            f"{zh} of {total} cards in Chinese too"
        )
    for problem in lib.problems:
        say(str(problem), file=sys.stderr)
    if lib.problems:
        err(f"{len(lib.problems)} problem(s) in deck files; the other decks loaded")
        return 1
    return 0


def _card_for(args: argparse.Namespace, settings: Settings) -> tuple[Card | None, int]:
    lib = library(settings, extra=args.deck)
    for problem in lib.problems:
        if args.deck and any(problem.path == d for d in args.deck):
            say(str(problem), file=sys.stderr)
    try:
        return find_card(lib, args.card, args.backend), 0
    except CardNotFound as exc:
        if args.json:
            print_json({"correct": None, "error": str(exc), "card": args.card})
        else:
            err(str(exc))
        return None, 2


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from quiz.core.variables import NoVariantError, draw_variant

    card, status = _card_for(args, settings)
    if card is None:
        return status
    try:
        variant = draw_variant(card, args.seed)
    except NoVariantError as exc:
        err(str(exc))
        return 2
    if args.json:
        shown: dict[str, Any] = {
            "card": card.uid,
            "family": card.family,
            "seed": args.seed,
            "backend": card.backend.value,
            "kind": card.kind.value,
            "section": card.section,
            "values": variant.values_json(),
            "prompt": variant.prompt_in(settings.lang),
            # The language the prompt is in: --lang, or English where the card has no text in it.
            "lang": "zh" if settings.lang == "zh" and variant.prompt_zh else "en",
            "code": variant.code,
            "choices": list(variant.choices),
        }
        if card.source_backend is not None:
            shown |= {"source_backend": card.source_backend.value, "source_code": variant.source_code}
        if args.explain:
            shown["explain"] = variant.explain_in(settings.lang)
        print_json(shown)
        return 0
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.syntax import Syntax
    from rich.text import Text

    from quiz.core.i18n import t, unbreak_wide
    from quiz.core.text import visible

    # Deck text goes out as Text, Markdown and Syntax built from it: never read as markup,
    # and its control characters made visible first (the Chinese text too).
    console = Console()
    head = Text(visible(card.uid), style="bold")
    head.append(f"  {card.backend.value} · {card.kind.value} · seed {args.seed}", style="dim")
    console.print(head)
    console.print(Markdown(visible(unbreak_wide(variant.prompt_in(settings.lang)))))
    if card.source_backend is not None and variant.source_code is not None:
        console.print(Text(f"{card.source_backend.value}, the working code:", style="bold"))
        console.print(Syntax(visible(variant.source_code), "python", theme="ansi_dark", line_numbers=False))
        console.print(Text(f"{card.backend.value}, your line runs after:", style="bold"))
    console.print(Syntax(visible(variant.code), "python", theme="ansi_dark", line_numbers=False))
    for i, choice in enumerate(variant.choices):
        console.print(Text(f"  {chr(ord('a') + i)}) {visible(choice)}"))
    if args.explain:
        console.print(Markdown(visible(unbreak_wide(variant.explain_in(settings.lang)))))
    if settings.lang == "zh" and not (variant.prompt_zh and variant.explain_zh):
        console.print(t("show.fallback", settings.lang), style="dim")
    return 0


def cmd_grade(args: argparse.Namespace, settings: Settings) -> int:
    if args.batch is not None:
        if args.card is not None or args.answer is not None:
            err("--batch reads the cards and answers from its file: give no CARD_ID or --answer")
            return 2
        from quiz.commands.grade_batch import grade_batch

        return grade_batch(args, settings)
    if args.card is None or args.answer is None:
        err("give CARD_ID and --answer (or --batch FILE.jsonl); see quiz grade --help")
        return 2
    from quiz.core.answers import visible
    from quiz.core.i18n import t
    from quiz.core.variables import NoVariantError, draw_variant
    from quiz.runner.client import Runner
    from quiz.session.grading import MalformedAnswer, grade, read_answer

    card, status = _card_for(args, settings)
    if card is None:
        return status
    try:
        variant = draw_variant(card, args.seed)
    except NoVariantError as exc:
        if args.json:
            print_json({"correct": None, "error": str(exc), "card": card.uid, "seed": args.seed})
        else:
            err(str(exc))
        return 2
    try:
        reading = read_answer(card, variant, args.answer)
    except MalformedAnswer as exc:
        if args.json:
            print_json(
                {
                    "correct": None,
                    "error": f"malformed answer: {exc.hint}",
                    "given": visible(args.answer),  # it may hold control characters or bytes not UTF-8
                    "card": card.uid,
                }
            )
        else:
            err(t("grade.malformed", settings.lang, hint=exc.text(settings.lang)))
        return 2
    from quiz import paths
    from quiz.commands.common import isolation_notice, lent_or_own

    isolation_notice(settings)
    with lent_or_own(Runner.for_settings(settings, log_dir=paths.log_dir())) as runner:
        verdict = grade(runner, card, variant, reading)
    if args.json:
        print_json({**verdict.to_dict(), "card": card.uid, "seed": args.seed})
    else:
        say(verdict_text(card, verdict, settings.lang))
    if verdict.correct is None:
        return 3
    return 0 if verdict.correct else 1


def verdict_text(card: Card, verdict: Verdict, lang: str = "en") -> str:
    """A verdict in words, for a terminal, in `lang` (the run's details stay in English)."""
    from quiz.core.i18n import t

    if verdict.correct is None:
        return t("grade.not_graded", lang, error=verdict.error)
    word = t("verdict.correct" if verdict.correct else "verdict.incorrect", lang)
    lines = [
        t(
            "grade.verdict",
            lang,
            word=word,
            given=verdict.given,
            backend=card.backend.value,
            device=verdict.device,
            expected=verdict.expected,
        )
    ]
    extra = verdict.extra
    if extra.get("misbehaved"):
        lines.append(str(extra["misbehaved"]))
    failing = extra.get("failing_variant")
    if isinstance(failing, dict):
        values = ", ".join(f"{k}={v!r}" for k, v in failing["values"].items()) or "the values shown"
        got = (
            f"your code raised {failing['error']}"
            if failing.get("error")
            else f"your code gave {failing['got']}"
        )
        lines.append(f"fails for {values}: expected {failing['expected']}; {got}")
    elif extra.get("given_error"):
        lines.append(f"your code raised {extra['given_error']}")
    if isinstance(extra.get("variants_checked"), int):
        lines.append(f"checked on {extra['variants_checked']} variant(s)")
    lines.append(
        t("grade.ran", lang, backend=card.backend.value, version=verdict.version, ms=verdict.elapsed_ms)
    )
    return "\n".join(lines)
