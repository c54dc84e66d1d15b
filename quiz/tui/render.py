"""Render card text for the terminal: the Markdown subset cards use, Python highlighting, safe text.

Deck text and what card code produced never reach the screen as markup or
with live control characters: `markdown_text` and `highlight_python` make
their source's control characters visible first (quiz.core.text), and
`shown` does it for any other text a widget shows (a str is taken
literally, never as markup).

The first two are small on purpose: they run on every card and at start-up, where
loading a full Markdown parser and pygments' lexers (which compile over a
hundred regular expressions) would cost more than the rest of the first
paint. Cards use paragraphs, lists, fenced code, and inline `code`,
**bold**, *italic* and [links](url); that is what is rendered here.
"""

from __future__ import annotations

import builtins
import io
import keyword
import re
import token
import tokenize

from rich.text import Text

from quiz.core.text import CONTROLS, has_controls, visible

__all__ = ["highlight_python", "markdown_text", "shown"]

ESCAPE_STYLE = "reverse"  # a made-visible control character stands out from text that merely looks like one
_CONTROL = re.compile(CONTROLS)


def shown(content: str | Text) -> Text:
    """`content` ready for a widget: a str literally (never markup); control characters visible, styles kept.

    (Rich itself drops BEL, BS, VT, FF and CR from Text but passes ESC and the rest to the terminal.)
    """
    if isinstance(content, str):
        return Text(visible(content))
    plain = content.plain
    if not has_controls(plain):
        return content
    cuts = sorted({i for m in _CONTROL.finditer(plain) for i in (m.start(), m.end())})
    out = content.blank_copy()
    for part in content.divide(cuts):
        if len(part.plain) == 1 and has_controls(part.plain):
            escaped = Text(visible(part.plain), style=part.style)
            for span in part.spans:
                escaped.stylize(span.style)
            escaped.stylize(ESCAPE_STYLE)
            out.append_text(escaped)
        else:
            out.append_text(part)
    return out


_INLINE = re.compile(
    r"(?P<code>`+)(?P<code_body>.+?)(?P=code)"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|__(?P<bold2>.+?)__"
    r"|(?<![\w*])\*(?P<ital>[^*\s](?:[^*]*[^*\s])?)\*(?![\w*])"
    r"|(?<!\w)_(?P<ital2>[^_\s](?:[^_]*[^_\s])?)_(?!\w)"
    r"|\[(?P<link>[^\]]+)\]\((?P<url>[^)\s]+)\)",
    re.S,
)
_BULLET = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)\s*(\w*)\s*$")

CODE_STYLE = "bold cyan"


def _inline(text: str, out: Text, base: str = "") -> None:
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            out.append(text[pos : m.start()], style=base)
        if m.group("code"):
            out.append(m.group("code_body").strip(), style=f"{base} {CODE_STYLE}".strip())
        elif m.group("bold") or m.group("bold2"):
            _inline(m.group("bold") or m.group("bold2"), out, f"{base} bold".strip())
        elif m.group("ital") or m.group("ital2"):
            _inline(m.group("ital") or m.group("ital2"), out, f"{base} italic".strip())
        elif m.group("link"):
            out.append(m.group("link"), style=f"{base} underline".strip())
            out.append(f" ({m.group('url')})", style="dim")
        pos = m.end()
    if pos < len(text):
        out.append(text[pos:], style=base)


def markdown_text(source: str) -> Text:
    """The Markdown subset of card prompts and explanations, as styled text."""
    source = visible(source)
    out = Text()
    lines = source.strip("\n").splitlines()
    paragraph: list[str] = []
    i = 0

    in_list = False

    def gap() -> None:
        """End what came before with exactly one blank line."""
        if out:
            out.rstrip()
            out.append("\n\n")

    def flush() -> None:
        if paragraph:
            gap()
            _inline(" ".join(p.strip() for p in paragraph), out)
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            in_list = False
            body = []
            i += 1
            while i < len(lines) and not _FENCE.match(lines[i]):
                body.append(lines[i])
                i += 1
            gap()
            code = "\n".join(body)
            out.append_text(highlight_python(code) if fence.group(2) in ("", "python", "py") else Text(code))
            i += 1
            continue
        bullet = _BULLET.match(line)
        if bullet:
            flush()
            if in_list:
                out.append("\n")
            else:
                gap()
            in_list = True
            indent, mark, rest = bullet.groups()
            out.append(f"{indent}{'•' if mark in '-*+' else mark} ", style="bold")
            _inline(rest, out)
        elif not line.strip():
            flush()
            in_list = False
        elif in_list and line.startswith((" ", "\t")):
            out.append(" ")
            _inline(line.strip(), out)  # a list item's continuation line
        else:
            in_list = False
            paragraph.append(line)
        i += 1
    flush()
    out.rstrip()
    return out


_BUILTINS = frozenset(dir(builtins))
_STYLES = {
    "keyword": "bold magenta",
    "builtin": "cyan",
    "call": "bold bright_blue",
    "number": "bright_green",
    "string": "yellow",
    "comment": "italic bright_black",
    "op": "bright_white",
}


def highlight_python(code: str) -> Text:
    """Python source with keywords, calls, builtins, numbers, strings and comments coloured."""
    code = visible(code)
    text = Text(code)
    lines = code.splitlines(keepends=True)
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln))

    def at(row: int, col: int) -> int:
        return offsets[row - 1] + col if row - 1 < len(offsets) else len(code)

    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return text  # unfinished code: shown plain rather than not at all
    for n, tok in enumerate(tokens):
        style = None
        if tok.type == token.NAME:
            if keyword.iskeyword(tok.string) or keyword.issoftkeyword(tok.string):
                style = _STYLES["keyword"]
            elif n + 1 < len(tokens) and tokens[n + 1].string == "(":
                style = _STYLES["call"]
            elif tok.string in _BUILTINS:
                style = _STYLES["builtin"]
        elif tok.type == token.NUMBER:
            style = _STYLES["number"]
        elif tok.type == token.STRING or tok.type in _FSTRING_TYPES:
            style = _STYLES["string"]
        elif tok.type == token.COMMENT:
            style = _STYLES["comment"]
        if style:
            text.stylize(style, at(*tok.start), at(*tok.end))
    return text


_FSTRING_TYPES = frozenset(
    getattr(token, name)
    for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
    if hasattr(token, name)
)
