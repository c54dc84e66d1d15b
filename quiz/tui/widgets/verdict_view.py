"""The verdict: correct or not, your answer next to what the code really did, why, and the family
on the other backends side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from quiz.core.grading import suggest_rating
from quiz.core.text import visible
from quiz.tui.render import markdown_text, shown
from quiz.tui.widgets.card_view import is_leech
from quiz.tui.widgets.siblings_view import SiblingsView

if TYPE_CHECKING:
    from quiz.core.cards import Card
    from quiz.core.grading import RunResult
    from quiz.core.variables import Variant
    from quiz.study import Answered

RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


def said(answered: Answered) -> str:
    """What the learner answered; for an option, its letter and its text."""
    from quiz.core.answers import MalformedAnswer, parse_answer
    from quiz.core.cards import Kind
    from quiz.core.variables import concrete

    text = answered.answer.strip()
    if answered.card.kind != Kind.CHOICE:
        return text
    if answered.parsed is not None:
        return f"{text}) {answered.parsed}"
    try:
        return f"{text}) {parse_answer(concrete(answered.card, answered.variant), text)}"
    except MalformedAnswer:
        return text


def code_detail(detail: Text, extra: dict[str, Any]) -> None:
    """A code answer's other variants: how many were checked, the smallest that failed, the reference."""
    if extra.get("misbehaved"):
        detail.append(f"\n{extra['misbehaved']}", style="bold red")
    failing = extra.get("failing_variant")
    checked = extra.get("variants_checked")
    if isinstance(failing, dict):
        values = ", ".join(f"{k} = {v!r}" for k, v in (failing.get("values") or {}).items())
        detail.append("\nfails for ", style="dim")
        detail.append(values or "the values shown", style="bold")
        detail.append("\n  expected ", style="dim")
        detail.append(str(failing.get("expected")))
        if failing.get("error"):
            detail.append("\n  your code raised ", style="dim")
            detail.append(str(failing["error"]), style="red")
        else:
            detail.append("\n  your code gave ", style="dim")
            detail.append(str(failing.get("got")), style="red")
        if failing.get("difference"):
            detail.append(f"\n  ({failing['difference']})", style="dim")
    elif isinstance(checked, int) and checked > 1:
        detail.append(f"\nchecked on {checked} variants: all agree", style="dim")
    if extra.get("reference"):
        detail.append("\na reference answer: ", style="dim")
        detail.append(str(extra["reference"]))


class VerdictView(Vertical):
    def compose(self) -> ComposeResult:
        yield Static(id="verdict-line")
        yield Static(id="verdict-detail")
        yield Static(id="verdict-rate")
        yield Static(id="verdict-explain")
        yield SiblingsView(id="siblings")

    def show(self, answered: Answered, *, lapses: int = 0) -> int | None:
        """Fill in the verdict; returns the suggested rating."""
        v = answered.verdict
        line = Text()
        if v.correct is None:
            line.append(" NOT GRADED ", style="bold reverse yellow")
            line.append(f"  {visible(v.error or '')}", style="yellow")
            self.set_class(True, "-error")
        elif v.correct:
            line.append(" ✓ CORRECT ", style="bold reverse green")
            self.set_class(False, "-error")
        else:
            line.append(" ✗ INCORRECT ", style="bold reverse red")
            self.set_class(False, "-error")
        if lapses and is_leech(lapses):
            line.append(f"   LEECH: forgotten {lapses} times", style="bold red")
        self.query_one("#verdict-line", Static).update(shown(line))

        detail = Text()
        detail.append("you said  ", style="dim")
        detail.append(f"{visible(said(answered))}\n")
        if v.expected is not None:
            detail.append("truth     ", style="dim")
            detail.append(visible(v.expected), style="bold")
            detail.append(f"   ({v.backend} {v.version} on {v.device}, {v.elapsed_ms:.1f} ms)", style="dim")
            given_error = v.extra.get("given_error")
            if given_error:
                detail.append(f"\nyour code raised {visible(str(given_error))}", style="red")
            elif "given_value" in v.extra:
                detail.append(f"\nyour code gave {visible(str(v.extra['given_value']))}", style="dim")
            code_detail(detail, v.extra)
        self.query_one("#verdict-detail", Static).update(shown(detail))
        explain = answered.variant.explain or answered.card.explain
        self.query_one("#verdict-explain", Static).update(markdown_text(explain))

        suggested = suggest_rating(v.correct, answered.response_ms)
        rate = Text()
        rate.append("rate: ", style="dim")
        for n, name in RATINGS.items():
            style = "bold reverse" if n == suggested else "bold"
            rate.append(f" {n} {name} ", style=style)
            rate.append(" ")
        if suggested:
            rate.append(f"  Enter = {RATINGS[suggested]}", style="dim")
        self.query_one("#verdict-rate", Static).update(rate)
        self.query_one(SiblingsView).display = False
        return suggested

    async def show_siblings(self, answered: Answered, siblings: list[Card], notes: dict[str, str]) -> None:
        from quiz.core.grading import RunResult

        v = answered.verdict
        own = RunResult(
            ok=v.correct is not None,
            truth=v.truth,
            error=v.error,
            backend=v.backend,
            device=v.device,
            version=v.version,
        )
        await self.query_one(SiblingsView).reset(answered.card, answered.variant, own, siblings, notes)

    def show_sibling(self, card: Card, variant: Variant, same_values: bool, result: RunResult) -> None:
        self.query_one(SiblingsView).show_sibling(card, variant, same_values, result)
