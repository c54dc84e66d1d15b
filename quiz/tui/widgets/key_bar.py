"""The keys of the screen, in one line at the bottom (a light Footer).

Textual's Footer rebuilds itself whenever focus moves, which the study
screen does on every answer; this bar is drawn once per screen from the
screen's and the app's bindings (those with `show`), so a verdict is not
delayed by it. Actions check their own phase, so the keys shown hold in
every phase.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.markup import escape
from textual.widgets import Static

from quiz.core.i18n import known, t
from quiz.tui.lang import lang_of

KEY_NAMES = {
    "escape": "esc",
    "enter": "⏎",
    "space": "space",
    "comma": ",",
    "question_mark": "?",
}


def key_name(key: str) -> str:
    first = key.split(",")[0]
    if first.startswith("ctrl+"):
        return "^" + first[5:]
    return KEY_NAMES.get(first, first)


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    """

    def on_mount(self) -> None:
        lang = lang_of(self)
        parts = []
        seen = set()
        for binding in [*self.screen.BINDINGS, *self.app.BINDINGS]:
            if not isinstance(binding, Binding) or not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            key = escape(key_name(binding.key))
            # The catalog has the labels by their English text: "key.Home".
            label = (
                t(f"key.{binding.description}", lang)
                if known(f"key.{binding.description}")
                else binding.description
            )
            parts.append(f"[b $footer-key-foreground] {key} [/]{escape(label)} ")
        self.update("".join(parts))
