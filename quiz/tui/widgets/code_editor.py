"""A small code editor for `code` cards: Enter runs a complete statement, as the Python prompt does.

Enter after a complete statement (with the cursor at the end) submits it;
after a block opener (`for ...:`) it starts a new, indented line, and an
empty line ends the block. Imported only when a code card is shown.
"""

from __future__ import annotations

import codeop
from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widgets import TextArea

from quiz.tui.widgets.hidden import displayed


def is_complete(source: str) -> bool:
    """Python would run this now (complete, or broken beyond repair: the grader explains which)."""
    if not source.strip():
        return False
    if source.endswith("\n"):
        return True  # an empty line ends a block
    try:
        return codeop.compile_command(source, "<answer>", "exec") is not None
    except (SyntaxError, ValueError, OverflowError):
        return True


class CodeEditor(TextArea):
    """A few lines of Python; posts `CodeEditor.Submitted` when Enter completes a statement."""

    @dataclass
    class Submitted(Message):
        """The code typed, once it is complete (`editor`: which editor sent it)."""

        editor: CodeEditor
        value: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            "",
            soft_wrap=True,
            tab_behavior="indent",
            show_line_numbers=True,
            id=id,
            placeholder="your Python; Enter runs it when the statement is complete",
        )
        self.cursor_blink = False

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        # Hidden (the verdict shown), it types nothing: the study screen's rating keys get the keys
        # while the focus is still here, until the verdict is painted (StudyScreen.watch_phase).
        return displayed(self) and super().check_consume_key(key, character)

    def on_key(self, event: events.Key) -> None:
        # Textual calls a subclass's key handler before TextArea's own; prevent_default() keeps
        # TextArea from also inserting the newline (no override of its private _on_key).
        if event.key == "enter" and not self.read_only:
            text = self.text
            at_end = self.cursor_location == self.document.end
            if at_end and is_complete(text):
                event.stop()
                event.prevent_default()
                self.post_message(self.Submitted(self, text.rstrip("\n")))
                return
            if at_end and text.rstrip().endswith(":"):
                event.stop()
                event.prevent_default()
                indent = len(text.rsplit("\n", 1)[-1]) - len(text.rsplit("\n", 1)[-1].lstrip()) + 4
                self.insert("\n" + " " * indent)
                return
