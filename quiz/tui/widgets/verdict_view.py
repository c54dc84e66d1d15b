"""The verdict: correct or not, your answer next to what the code really did, why, and the family
on the other backends side by side."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from quiz.core.grading import suggest_rating
from quiz.core.i18n import t
from quiz.core.text import visible
from quiz.tui.lang import lang_of
from quiz.tui.render import markdown_text, shown
from quiz.tui.widgets.card_view import is_leech
from quiz.tui.widgets.siblings_view import SiblingsHint, SiblingsView

if TYPE_CHECKING:
    from textual.geometry import Region
    from textual.strip import Strip

    from quiz.core.cards import Card
    from quiz.core.grading import RunResult
    from quiz.core.variables import Variant
    from quiz.session.grading import Answered

# The FSRS ratings by key, in English (the catalog has them in every language: "rating.<n>").
RATINGS = {n: t(f"rating.{n}") for n in (1, 2, 3, 4)}


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
        if extra.get("shrinking"):
            detail.append(
                "\n  (checking the other variants, looking for a smaller failing one…)", style="dim italic"
            )
    elif isinstance(checked, int) and checked > 1:
        detail.append(f"\nchecked on {checked} variants: all agree", style="dim")
    if extra.get("reference"):
        detail.append("\na reference answer: ", style="dim")
        detail.append(str(extra["reference"]))


class VerdictLine(Static):
    """The verdict's first line, which says when it is first drawn after `VerdictView.show`.

    The compositor draws only what is on screen, so that is the moment the learner can see the
    verdict (the study screen times `keypress_to_verdict_ms` from it, scripts/bench.py)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.on_drawn: Callable[[], None] | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        lines = super().render_lines(crop)
        callback, self.on_drawn = self.on_drawn, None
        if callback is not None:
            callback()
        return lines


class VerdictView(Vertical):
    def compose(self) -> ComposeResult:
        yield VerdictLine(id="verdict-line")
        yield Static(id="verdict-detail")
        yield Static(id="verdict-rate")
        hint = SiblingsHint(id="siblings-hint")  # the comparison's marks while it is below the fold
        yield hint
        yield Static(id="verdict-explain")
        yield SiblingsView(hint=hint, id="siblings")

    def show(
        self, answered: Answered, *, lapses: int = 0, on_drawn: Callable[[], None] | None = None
    ) -> int | None:
        """Fill in the verdict; returns the suggested rating. `on_drawn` is called (once) while the
        frame that first shows the verdict's line is drawn."""
        lang = lang_of(self)
        v = answered.verdict
        line = Text()
        if v.correct is None:
            line.append(t("verdict.badge.not_graded", lang), style="bold reverse yellow")
            line.append(f"  {visible(v.error or '')}", style="yellow")
            self.set_class(True, "-error")
        elif v.correct:
            line.append(t("verdict.badge.correct", lang), style="bold reverse green")
            self.set_class(False, "-error")
        else:
            line.append(t("verdict.badge.incorrect", lang), style="bold reverse red")
            self.set_class(False, "-error")
        if lapses and is_leech(lapses):
            line.append(t("verdict.leech", lang, lapses=lapses), style="bold red")
        verdict_line = self.query_one("#verdict-line", VerdictLine)
        verdict_line.update(shown(line))
        verdict_line.on_drawn = on_drawn

        self.query_one("#verdict-detail", Static).update(shown(self._detail(answered, lang)))
        explain = answered.variant.explain_in(lang) or answered.card.explain
        self.query_one("#verdict-explain", Static).update(markdown_text(explain))

        suggested = suggest_rating(v.correct, answered.response_ms)
        rate = Text()
        rate.append(t("verdict.rate", lang), style="dim")
        for n in RATINGS:
            style = "bold reverse" if n == suggested else "bold"
            rate.append(f" {n} {t(f'rating.{n}', lang)} ", style=style)
            rate.append(" ")
        if suggested:
            rate.append(t("verdict.enter", lang, rating=t(f"rating.{suggested}", lang)), style="dim")
        self.query_one("#verdict-rate", Static).update(rate)
        self.query_one(SiblingsView).display = False
        self.query_one(SiblingsHint).display = False
        return suggested

    def refine(self, answered: Answered) -> None:
        """A later verdict on the same answer (a code answer's other variants, its smallest failing
        one): only the detail changes; the line, the rating and the comparison stay."""
        self.query_one("#verdict-detail", Static).update(shown(self._detail(answered, lang_of(self))))

    @staticmethod
    def _detail(answered: Answered, lang: str) -> Text:
        v = answered.verdict
        detail = Text()
        detail.append(t("verdict.said", lang), style="dim")
        detail.append(f"{visible(said(answered))}\n")
        if v.expected is not None:
            detail.append(t("verdict.truth", lang), style="dim")
            detail.append(visible(v.expected), style="bold")
            ran = t(
                "verdict.ran", lang, backend=v.backend, version=v.version, device=v.device, ms=v.elapsed_ms
            )
            detail.append(ran, style="dim")
            given_error = v.extra.get("given_error")
            if given_error:
                detail.append(t("verdict.code_raised", lang, error=visible(str(given_error))), style="red")
            elif "given_value" in v.extra:
                detail.append(
                    t("verdict.code_gave", lang, value=visible(str(v.extra["given_value"]))), style="dim"
                )
            code_detail(detail, v.extra)
        return detail

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
