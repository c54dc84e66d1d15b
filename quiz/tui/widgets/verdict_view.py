"""The verdict: correct or not, your answer next to what the code really did, and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from quiz.core.grading import suggest_rating
from quiz.tui.render import markdown_text

if TYPE_CHECKING:
    from quiz.study import Answered

RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


class VerdictView(Vertical):
    def compose(self) -> ComposeResult:
        yield Static(id="verdict-line")
        yield Static(id="verdict-detail")
        yield Static(id="verdict-explain")
        yield Static(id="verdict-rate")

    def show(self, answered: Answered) -> int | None:
        """Fill in the verdict; returns the suggested rating."""
        v = answered.verdict
        line = Text()
        if v.correct is None:
            line.append(" NOT GRADED ", style="bold reverse yellow")
            line.append(f"  {v.error}", style="yellow")
            self.set_class(True, "-error")
        elif v.correct:
            line.append(" CORRECT ", style="bold reverse green")
            self.set_class(False, "-error")
        else:
            line.append(" INCORRECT ", style="bold reverse red")
            self.set_class(False, "-error")
        self.query_one("#verdict-line", Static).update(line)

        detail = Text()
        detail.append("you said  ", style="dim")
        detail.append(f"{answered.answer.strip()}\n")
        if v.expected is not None:
            detail.append(f"{v.backend:<9} ", style="dim")
            detail.append(v.expected, style="bold")
            detail.append(f"   ({v.backend} {v.version} on {v.device}, {v.elapsed_ms:.1f} ms)", style="dim")
            given_error = v.extra.get("given_error")
            if given_error:
                detail.append(f"\nyour code raised {given_error}", style="red")
            elif "given_value" in v.extra:
                detail.append(f"\nyour code gave {v.extra['given_value']}", style="dim")
        self.query_one("#verdict-detail", Static).update(detail)
        self.query_one("#verdict-explain", Static).update(markdown_text(answered.card.explain))

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
        return suggested
