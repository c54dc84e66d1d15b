"""Text from decks and from card code made safe for a terminal: every control character shown, not obeyed.

A deck's prompt, a choice, an explanation, an exception message or what a
card printed can hold escape sequences that retitle the window, blink,
erase lines or move the cursor, hiding what really runs. `visible` turns
each control character into its Python escape (`\\x1b`, `\\r`, `\\u202e`), so
the text still reads and nothing in it reaches the terminal raw. Newlines
and tabs stay: they are layout, not commands.

The characters made visible: C0 controls but newline and tab, DEL, C1
controls (0x80-0x9f: 0x9b is a one-byte CSI), and the Unicode controls a
terminal or a reader obeys invisibly: bidirectional overrides and isolates
(which reorder what code appears to say) and the line/paragraph separators.
"""

from __future__ import annotations

import re

__all__ = ["visible", "has_controls", "CONTROLS"]

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CONTROLS = "[\x00-\x08\x0b-\x1f\x7f-\x9f" + _BIDI + "\u2028\u2029]"
_CONTROL = re.compile(CONTROLS)


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if ch == "\r":
        return "\\r"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every control character written out as its escape (newlines and tabs kept)."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(_escape, text)


def has_controls(text: str) -> bool:
    return _CONTROL.search(text) is not None
