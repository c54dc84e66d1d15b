"""The command line that opens a deck file at a card's line in the learner's editor ($VISUAL, $EDITOR)."""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Callable, Mapping

__all__ = ["EditorNotFound", "editor_command"]

# Editors that take `FILE:LINE` (with this option before it, if any) instead of `+LINE FILE`.
COLON_STYLE = {
    "code": ["-g"],
    "code-insiders": ["-g"],
    "codium": ["-g"],
    "cursor": ["-g"],
    "subl": [],
    "sublime_text": [],
    "zed": [],
    "hx": [],
    "helix": [],
}
# Tried in this order when neither variable is set.
FALLBACKS = ("sensible-editor", "nano", "vim", "vi")


class EditorNotFound(LookupError):
    """Neither $VISUAL nor $EDITOR is set and no usual editor is installed."""


def editor_command(
    path: str,
    line: int | None,
    env: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> list[str]:
    """`$EDITOR +LINE FILE` as an argument list (run it without a shell).

    $VISUAL wins over $EDITOR (either may carry options: `code --wait`); without them the first of
    FALLBACKS found on PATH. A file name that begins with `-` or `+` is passed as `./name`: an editor
    must never read a deck's file name as an option, nor vi as a command (`+!cmd` runs cmd).
    """
    env = os.environ if env is None else env
    words: list[str] = []
    for var in ("VISUAL", "EDITOR"):
        value = env.get(var, "").strip()
        if value:
            try:
                words = shlex.split(value)
            except ValueError:  # an unbalanced quote: take it as one program name
                words = [value]
            if words:
                break
    if not words:
        found = next((name for name in FALLBACKS if which(name)), None)
        if found is None:
            raise EditorNotFound(
                "no editor: set $EDITOR (for example `export EDITOR=nano`) to open deck files"
            )
        words = [found]
    if path.startswith(("-", "+")):
        path = os.path.join(".", path)
    name = os.path.basename(words[0])
    if line is None or line < 1:
        return [*words, path]
    if name in COLON_STYLE:
        return [*words, *COLON_STYLE[name], f"{path}:{line}"]
    return [*words, f"+{line}", path]
