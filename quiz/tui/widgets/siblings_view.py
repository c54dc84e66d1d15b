"""The same card family on every chosen backend, side by side: the code and what it really did.

Filled in after the verdict, one backend at a time as each worker answers;
a backend still loading says so. Where a sibling card declares the same
variables, it runs with the very values the learner just saw ("same
values"); otherwise with its own draw, whose values are shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from quiz.core.text import visible
from quiz.tui.render import highlight_python, shown
from quiz.tui.widgets.card_view import numbered

if TYPE_CHECKING:
    from quiz.core.cards import Card
    from quiz.core.grading import RunResult
    from quiz.core.variables import Variant

NARROW = 110  # below this many columns the panels stack


def outcome(card: Card, result: RunResult) -> Text:
    """What the code did, in the learner's words ("(2, 3)", "raises RuntimeError", "no error")."""
    from quiz.core.grading import format_truth

    out = Text()
    if not result.ok:
        out.append("could not run: ", style="bold yellow")
        out.append(visible(result.error or "unknown error"), style="yellow")
        return out
    out.append("→ ", style="bold")
    out.append(visible(format_truth(card, result.truth)), style="bold")
    return out


class SiblingPanel(Vertical):
    def __init__(self, backend: str, *, current: bool = False) -> None:
        super().__init__(classes="sibling" + (" -current" if current else ""), id=f"sibling-{backend}")
        self.backend = backend

    def compose(self) -> ComposeResult:
        yield Static(id=f"sibling-head-{self.backend}", classes="sibling-head")
        yield Static(id=f"sibling-code-{self.backend}", classes="sibling-code")
        yield Static(id=f"sibling-out-{self.backend}", classes="sibling-out")

    def show_waiting(self, card: Card, note: str) -> None:
        self._head(card, None, None)
        self.query_one(f"#sibling-out-{self.backend}", Static).update(shown(Text(note, style="dim italic")))

    def show(self, card: Card, variant: Variant, same_values: bool | None, result: RunResult | None) -> None:
        self._head(card, same_values, variant)
        self.query_one(f"#sibling-code-{self.backend}", Static).update(
            numbered(highlight_python(variant.code))
        )
        out = self.query_one(f"#sibling-out-{self.backend}", Static)
        out.update(
            shown(outcome(card, result)) if result is not None else Text("running…", style="dim italic")
        )

    def _head(self, card: Card, same_values: bool | None, variant: Variant | None) -> None:
        head = Text()
        head.append(card.backend.value, style="bold cyan")
        head.append(f"  {card.id}", style="dim")
        if same_values is True:
            head.append("\nsame values", style="green")
        elif same_values is False and variant is not None:
            values = visible(", ".join(f"{k}={v!r}" for k, v in variant.values.items()))
            head.append(f"\nits own values: {values}" if values else "\nits own example", style="yellow")
        elif same_values is None:
            head.append("\nyour card", style="dim")
        self.query_one(f"#sibling-head-{self.backend}", Static).update(shown(head))


class SiblingsView(Vertical):
    """A title and one panel per backend (the learner's card first)."""

    def compose(self) -> ComposeResult:
        yield Static(id="siblings-title")
        yield Horizontal(id="siblings-row")

    async def reset(
        self,
        card: Card,
        variant: Variant,
        result: RunResult | None,
        siblings: list[Card],
        notes: dict[str, str],
    ) -> None:
        """Start over for a new verdict: the learner's card, and a waiting panel per sibling."""
        row = self.query_one("#siblings-row", Horizontal)
        await row.remove_children()  # gone before panels with the same ids come
        self.display = bool(siblings)
        if not siblings:
            return
        title = Text()
        title.append("the same on the other backends", style="bold")
        title.append("  (family ", style="dim")
        title.append(card.family, style="dim bold")
        title.append(")", style="dim")
        self.query_one("#siblings-title", Static).update(shown(title))
        panels = [SiblingPanel(card.backend.value, current=True)] + [
            SiblingPanel(s.backend.value) for s in siblings
        ]
        await row.mount_all(panels)
        panels[0].show(card, variant, None, result)
        for s, panel in zip(siblings, panels[1:], strict=True):
            panel.show_waiting(s, notes.get(s.backend.value, "waiting…"))

    def show_sibling(self, card: Card, variant: Variant, same_values: bool, result: RunResult | None) -> None:
        for panel in self.query(SiblingPanel):
            if panel.backend == card.backend.value:
                panel.show(card, variant, same_values, result)

    def on_resize(self, event: Any) -> None:
        self.set_class(event.size.width < NARROW, "-narrow")
