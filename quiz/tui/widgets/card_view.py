"""The card as the learner sees it: where it is from, the question, the code with this review's values."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from quiz.core.cards import Card, Kind
from quiz.core.text import visible
from quiz.tui.render import highlight_python, markdown_text, shown

if TYPE_CHECKING:
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
    Kind.TRANSLATE: "translate the code",
}


class CardView(Vertical):
    """Prompt (Markdown) and highlighted code; a choice card's options are its answer form (AnswerBox)."""

    def compose(self) -> ComposeResult:
        yield Static(id="card-meta")
        yield Static(id="card-prompt")
        yield Static(id="card-source")
        yield Static(id="card-code")

    def show(self, card: Card, variant: Variant, *, lapses: int = 0) -> None:
        meta = Text()
        where = card.deck_id if card.section == card.deck_id else f"{card.deck_id} · {card.section}"
        meta.append(visible(where), style="bold")
        meta.append(f"   {card.backend.value}", style="bold cyan")
        meta.append(f" · {KIND_LABEL[card.kind]}", style="dim")
        if card.source_backend is not None:
            meta.append(f" from {card.source_backend.value}", style="dim")
        if lapses and is_leech(lapses):
            meta.append(f"   LEECH ({lapses} lapses)", style="bold red")
        self.query_one("#card-meta", Static).update(shown(meta))
        self.query_one("#card-prompt", Static).update(markdown_text(variant.prompt))
        source = self.query_one("#card-source", Static)
        code = self.query_one("#card-code", Static)
        if card.source_backend is not None and variant.source_code is not None:
            # A translate card: the working code, then the setup the learner's line runs after.
            source.update(numbered(highlight_python(variant.source_code)))
            source.border_title = f"{card.source_backend.value}: the working code"
            source.display = True
            code.border_title = f"{card.backend.value}: your line runs after this"
        else:
            source.display = False
            code.border_title = None
        code.update(numbered(highlight_python(variant.code)))


def is_leech(lapses: int) -> bool:
    from quiz.core.stats import is_leech as leech  # not on the first paint's path

    return leech(lapses)


def numbered(code: Text) -> Text:
    """Code with dim line numbers in a gutter."""
    lines = code.split("\n", allow_blank=True)
    width = len(str(len(lines)))
    out = Text()
    for n, line in enumerate(lines, 1):
        out.append(f"{n:>{width}} ", style="dim")
        out.append_text(line)
        if n < len(lines):
            out.append("\n")
    return out
