"""Help (F1 or ?): what the screen underneath is for, and every key it takes."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from quiz.tui.render import markdown_text

KEY_NAMES = {
    "escape": "Esc",
    "enter": "Enter",
    "space": "Space",
    "comma": ",",
    "question_mark": "?",
    "f1": "F1",
}


def key_label(key: str) -> str:
    """`ctrl+z` → `Ctrl+Z`, `escape,f1` → `Esc / F1`."""
    out = []
    for k in key.split(","):
        k = KEY_NAMES.get(k, k)
        out.append("Ctrl+" + k[5:].upper() if k.startswith("ctrl+") else k)
    return " / ".join(out)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,question_mark,q", "close", "Close")]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        body = Text()
        body.append_text(markdown_text(getattr(self.under, "HELP", "") or ""))
        keys = Table(box=None, padding=(0, 2), show_header=False)
        keys.add_column(style="bold")
        keys.add_column()
        rows: dict[str, tuple[list[str], str]] = {}  # action → keys, description
        for binding in [*self.under.BINDINGS, *self.app.BINDINGS]:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            keys_of, _ = rows.setdefault(binding.action, ([], binding.description))
            keys_of.append(key_label(binding.key))
        for keys_of, desc in rows.values():
            keys.add_row(" / ".join(keys_of), desc)
        with VerticalScroll(id="help"):
            yield Static(body)
            yield Static(Text("\nkeys", style="bold"))
            yield Static(keys)
            yield Static(Text("Esc closes this help.", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
