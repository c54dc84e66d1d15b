"""The card as the learner sees it: where it is from, the question, the code with this review's values."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Markdown, Static

from quiz.core.cards import Card, Kind
from quiz.core.variables import Variant

KIND_LABEL = {
    Kind.SHAPE: "predict the shape",
    Kind.DTYPE: "predict the dtype",
    Kind.BOOL: "yes or no",
    Kind.GRAD_IS_NONE: "is the gradient None?",
    Kind.VALUE: "predict the value",
    Kind.RAISES: "does the last line raise? which exception?",
    Kind.CHOICE: "pick an option",
    Kind.CODE: "write the code",
}


class CardView(Vertical):
    """Prompt (Markdown), highlighted code, and the options of a choice card."""

    def compose(self) -> ComposeResult:
        yield Static(id="card-meta")
        yield Markdown(id="card-prompt")
        yield Static(id="card-code")
        yield Static(id="card-choices")

    def show(self, card: Card, variant: Variant, theme: str = "monokai") -> None:
        meta = Text()
        meta.append(f"{card.deck_id} · {card.section}", style="bold")
        meta.append(f"   {card.backend.value}", style="bold cyan")
        meta.append(f" · {KIND_LABEL[card.kind]}", style="dim")
        self.query_one("#card-meta", Static).update(meta)
        self.query_one("#card-prompt", Markdown).update(variant.prompt)
        self.query_one("#card-code", Static).update(
            Syntax(variant.code, "python", theme=theme, line_numbers=True, word_wrap=True)
        )
        choices = self.query_one("#card-choices", Static)
        if card.choices:
            text = Text()
            for i, option in enumerate(card.choices):
                text.append(f"  {chr(ord('a') + i)}) ", style="bold")
                text.append(option + "\n")
            choices.update(text)
            choices.display = True
        else:
            choices.update("")
            choices.display = False
