"""Parse and validate deck files, reporting every problem with file, line and card id.

The loader imports neither hypothesis nor numpy (nor any ML framework): deck
files are data, and their expressions are checked with `quiz.core.expr`.

Deck files come from strangers, so two things are refused before anything
else: text with control characters (an escape sequence in a code comment can
hide a line on the learner's terminal while the hidden line runs), and files
too big to read in reasonable time and memory (`DeckLimits`).
"""

from __future__ import annotations

import ast
import difflib
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quiz.core import variables as V
from quiz.core.cards import (
    BACKENDS,
    KINDS,
    MAX_TIMEOUT_S,
    MAY_RAISE_KINDS,
    Backend,
    Card,
    Deck,
    Kind,
    Location,
    Tolerance,
    family_of,
)
from quiz.core.deck_files import (  # the file side, re-exported: importers of quiz.core.decks keep their names
    DEFAULT_LIMITS,
    LINK_REFUSED,
    DeckLimits,
    Problem,
    deck_files,
    read_deck_bytes,
    too_big,
)
from quiz.core.expr import ExprError, compile_expr, names_in

__all__ = [
    "DEFAULT_LIMITS",
    "LINK_REFUSED",
    "DeckLimits",
    "Library",
    "Problem",
    "collect",
    "deck_files",
    "load_deck",
    "load_library",
    "parse_deck",
    "read_deck_bytes",
    "sections_of",
    "too_big",
    "unmet_requirement",
]

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DECK_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
PLACEHOLDER_RE = re.compile(r"\$\{([^}]*)\}")
CARD_HEADER_RE = re.compile(r"^\s*\[\[\s*card\s*\]\]\s*(#.*)?$")
TOML_LINE_RE = re.compile(r"\(?at line (\d+)(?:, column \d+)?\)?")
TOML_END_RE = re.compile(r"\(?at end of document\)?")

DECK_FIELDS = {
    "id",
    "title",
    "description",
    "author",
    "version",
    "tags",
    "written_against",
    "sections",
    "title_zh",
    "description_zh",
    "sections_zh",
}
# What `written_against` and `requires` may name besides the backends.
VERSIONED = (*BACKENDS, "keras")
WRITTEN_AGAINST_KEYS = (*VERSIONED, "numpy", "python")
CARD_REQUIRED = ("id", "section", "backend", "kind", "prompt", "code", "explain")
# The card's text in other languages (quiz.core.translation): optional, templated like the English.
TRANSLATED = ("prompt_zh", "explain_zh")
CARD_FIELDS = set(CARD_REQUIRED) | {
    "answer",
    "family",
    "tags",
    "choices",
    "result",
    "tolerance",
    "timeout",
    "requires",
    "constant",
    "vars",
    "assume",
    "may_raise",
    *TRANSLATED,
    "source_backend",
    "source_code",
}
# Fields whose text may hold `${...}`.
TEMPLATED = ("prompt", "code", "answer", "result", "explain", "source_code", *TRANSLATED)

# Characters deck text may not hold: C0 controls but tab and newline (a CR only as part of
# CRLF), DEL, C1 controls (U+009B is a CSI on some terminals), the bidirectional controls
# that make code read differently from how it runs ("Trojan Source"), and the line and
# paragraph separators some renderers break lines on and Python does not.
_FORBIDDEN = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
FORBIDDEN_RAW_RE = re.compile(f"\r(?!\n)|[{_FORBIDDEN}]")
FORBIDDEN_VALUE_RE = re.compile(f"[\r{_FORBIDDEN}]")  # tomllib turns CRLF into LF in strings
# TOML escapes that make a forbidden character inside a string (the `\\\\` alternative skips
# an escaped backslash, so `\\\\u001b` is not taken for one).
TOML_ESCAPE_RE = re.compile(r"\\(?:\\|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[bfr])")
_CONTROL_NAMES = {0: "NUL", 7: "BEL", 8: "BS", 0x0B: "VT", 0x0C: "FF", 0x0D: "CR", 0x1B: "ESC", 0x7F: "DEL"}


@dataclass(slots=True)
class Library:
    """Every deck that loaded, and every problem found on the way."""

    decks: list[Deck] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def cards(self) -> list[Card]:
        return [c for d in self.decks for c in d.cards]

    def find(self, ref: str) -> list[Card]:
        """Cards matching `deck/card` exactly, or a bare card id in any deck."""
        if "/" in ref:
            return [c for c in self.cards() if c.uid == ref]
        return [c for c in self.cards() if c.id == ref]

    def by_uid(self) -> dict[str, Card]:
        return {c.uid: c for c in self.cards()}


def _string_mask(lines: list[str]) -> list[bool]:
    """For each line: does it start inside a multi-line string? (So `answer = ...` in code is no field.)"""
    inside: str | None = None  # the open multi-line delimiter
    mask = []
    for line in lines:
        mask.append(inside is not None)
        i, n = 0, len(line)
        while i < n:
            if inside is not None:
                j = line.find(inside, i)
                if j < 0:
                    break
                if inside == '"""' and _escaped(line, j):
                    i = j + 1
                    continue
                # A closing delimiter may be followed by up to two more quotes that belong to the string.
                i = j + 3
                while i < n and line[i] == inside[0]:
                    i += 1
                inside = None
                continue
            ch = line[i]
            if ch == "#":
                break
            if line.startswith('"""', i) or line.startswith("'''", i):
                inside = line[i : i + 3]
                i += 3
                continue
            if ch in "\"'":
                j = i + 1
                while j < n and not (line[j] == ch and not (ch == '"' and _escaped(line, j))):
                    j += 1
                i = j + 1
                continue
            i += 1
    return mask


def _escaped(line: str, j: int) -> bool:
    backslashes = 0
    k = j - 1
    while k >= 0 and line[k] == "\\":
        backslashes += 1
        k -= 1
    return backslashes % 2 == 1


class _Lines:
    """Maps cards and fields of one TOML text to line numbers (tomllib gives none)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines() or [""]
        self.in_string = _string_mask(self.lines)
        self.card_starts = [
            i + 1 for i, ln in enumerate(self.lines) if not self.in_string[i] and CARD_HEADER_RE.match(ln)
        ]

    @property
    def last(self) -> int:
        return len(self.lines)

    def card_range(self, index: int) -> tuple[int, int]:
        start = self.card_starts[index] if index < len(self.card_starts) else 1
        end = self.card_starts[index + 1] - 1 if index + 1 < len(self.card_starts) else len(self.lines)
        return start, end

    def field_line(self, index: int | None, key: str) -> int | None:
        """The line of `key` in card `index` (None: the deck part); the card's first line if not found."""
        if index is None:
            start, end = 1, (self.card_starts[0] - 1 if self.card_starts else len(self.lines))
        else:
            start, end = self.card_range(index)
        pattern = re.compile(rf"^\s*(\[\s*)?(card\.|deck\.)?[\"']?{re.escape(key)}[\"']?\s*(=|\]|\.)")
        for n in range(start, end + 1):
            if not self.in_string[n - 1] and pattern.match(self.lines[n - 1]):
                return n
        return start if index is not None else None

    def card_id_near(self, line: int) -> str | None:
        starts = [s for s in self.card_starts if s <= line]
        if not starts:
            return None
        end = next((s - 1 for s in self.card_starts if s > line), len(self.lines))
        for n in range(starts[-1], end + 1):
            if self.in_string[n - 1]:
                continue
            m = re.match(r'^\s*id\s*=\s*["\']([^"\']+)', self.lines[n - 1])
            if m:
                return m.group(1)
        return None


def load_library(paths: Iterable[str | Path], limits: DeckLimits = DEFAULT_LIMITS) -> Library:
    """Load every deck; a broken file adds problems and never stops the others."""
    return collect((str(path), *load_deck(path, limits)) for path in deck_files(paths))


def collect(loaded: Iterable[tuple[str, Deck | None, list[Problem]]]) -> Library:
    """A library from (path, deck, problems) in search order: the first deck with an id wins."""
    lib = Library()
    seen: dict[str, str] = {}
    for path, deck, problems in loaded:
        lib.problems.extend(problems)
        if deck is None:
            continue
        if deck.id in seen:
            lib.problems.append(
                Problem(path, 1, None, f"deck id {deck.id!r} is already used by {seen[deck.id]}")
            )
            continue
        seen[deck.id] = path
        lib.decks.append(deck)
    return lib


def load_deck(path: str | Path, limits: DeckLimits = DEFAULT_LIMITS) -> tuple[Deck | None, list[Problem]]:
    p = Path(path)
    raw = read_deck_bytes(p, limits)
    if isinstance(raw, Problem):
        return None, [raw]
    return parse_deck_bytes(raw, str(p), limits)


def parse_deck_bytes(
    raw: bytes, path: str, limits: DeckLimits = DEFAULT_LIMITS
) -> tuple[Deck | None, list[Problem]]:
    """Parse a deck from the very bytes read (and hashed, for trust): UTF-8 text, then `parse_deck`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, [Problem(path, line, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
    return parse_deck(text, path, limits)


def parse_deck(
    text: str, path: str, limits: DeckLimits = DEFAULT_LIMITS
) -> tuple[Deck | None, list[Problem]]:
    """Parse one deck file. Returns the deck (None if unusable) and its problems.

    A card with problems is left out; the rest of the deck still loads, so one
    typo never hides a whole deck. Every problem is reported at once. The
    caller decides whether problems are fatal. Text with control characters,
    and a file over `limits`, is refused whole.
    """
    try:
        return _parse_deck(text, path, limits)
    except RecursionError:  # pragma: no cover - tomllib nests deeper than our walk ever does
        return None, [Problem(path, 1, None, "the file is nested too deeply to read")]


def _parse_deck(text: str, path: str, limits: DeckLimits) -> tuple[Deck | None, list[Problem]]:
    text = text.removeprefix("\ufeff")
    size = len(text) if len(text) > limits.max_bytes else len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        return None, [too_big(path, size, limits)]
    lines = _Lines(text)
    forbidden = _forbidden_in_text(text, path, lines)
    if forbidden:
        return None, forbidden
    if len(lines.card_starts) > limits.max_cards:
        return None, [_too_many_cards(path, len(lines.card_starts), limits)]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = TOML_LINE_RE.search(message)
        line = int(m.group(1)) if m else lines.last
        msg = TOML_END_RE.sub("", TOML_LINE_RE.sub("", message)).strip()
        where = "" if m else " (at the end of the file)"
        card_id = lines.card_id_near(line)
        return None, [Problem(path, line, card_id, f"invalid TOML: {msg}{where}")]
    except (ValueError, RecursionError, MemoryError) as exc:
        return None, [Problem(path, 1, None, f"invalid TOML: {exc}")]

    forbidden = _forbidden_in_values(data, path, lines)
    if forbidden:
        return None, forbidden
    raw_cards = data.get("card", [])
    if isinstance(raw_cards, list) and len(raw_cards) > limits.max_cards:
        return None, [_too_many_cards(path, len(raw_cards), limits)]

    problems: list[Problem] = []

    def report(line: int | None, card_id: str | None, message: str) -> None:
        problems.append(Problem(path, line or 1, card_id, message))

    for key in data:
        if key not in ("deck", "card"):
            report(
                lines.field_line(None, key),
                None,
                f"unknown top-level table {key!r}{_hint(key, ['deck', 'card'])}",
            )

    meta = data.get("deck")
    deck_ok = True
    if not isinstance(meta, dict):
        report(1, None, "missing [deck] table with `id` and `title`")
        meta, deck_ok = {}, False
    for key in meta:
        if key not in DECK_FIELDS:
            report(lines.field_line(None, key), None, f"unknown deck field {key!r}{_hint(key, DECK_FIELDS)}")
    deck_id = meta.get("id")
    if deck_ok and (not isinstance(deck_id, str) or not DECK_ID_RE.match(deck_id)):
        report(
            lines.field_line(None, "id"), None, 'deck `id` must be a string of a-z 0-9 - _ (e.g. "my-deck")'
        )
        deck_ok = False
    title = meta.get("title")
    if deck_ok and (not isinstance(title, str) or not title.strip()):
        report(lines.field_line(None, "title"), None, "deck needs a `title`")
        deck_ok = False

    def deck_report(key: str, message: str) -> None:
        report(lines.field_line(None, key), None, message)

    description = _text_field(meta, "description", deck_report)
    author = _text_field(meta, "author", deck_report)
    version = _text_field(meta, "version", deck_report)
    deck_tags = meta.get("tags", [])
    if not isinstance(deck_tags, list) or not all(isinstance(t, str) for t in deck_tags):
        deck_report("tags", "deck `tags` must be a list of strings")
        deck_tags = []
    written_against = meta.get("written_against", {})
    if not isinstance(written_against, dict):
        deck_report(
            "written_against", '`written_against` is a table, e.g. { torch = "2.13.0", keras = "3.15.1" }'
        )
        written_against = {}
    for key, value in written_against.items():
        if key not in WRITTEN_AGAINST_KEYS:
            deck_report(
                "written_against",
                f"`written_against` names {key!r}: use {', '.join(WRITTEN_AGAINST_KEYS)}{_hint(key, WRITTEN_AGAINST_KEYS)}",
            )
        elif not isinstance(value, str) or not _valid_version(value):
            deck_report(
                "written_against", f'`written_against.{key}` must be a version string such as "2.13.0"'
            )
    sections = meta.get("sections", {})
    if not isinstance(sections, dict) or not all(isinstance(v, str) for v in sections.values()):
        deck_report("sections", '[deck.sections] maps section slugs to titles: slug = "Title"')
        sections = {}
    title_zh = _text_field(meta, "title_zh", deck_report).strip()
    description_zh = _text_field(meta, "description_zh", deck_report)
    sections_zh = meta.get("sections_zh", {})
    if not isinstance(sections_zh, dict) or not all(
        isinstance(v, str) and v.strip() for v in sections_zh.values()
    ):
        deck_report("sections_zh", '[deck.sections_zh] maps section slugs to Chinese titles: slug = "标题"')
        sections_zh = {}

    raw_cards = data.get("card", [])
    if not isinstance(raw_cards, list):
        report(lines.field_line(None, "card"), None, "`card` must be an array of tables: use [[card]]")
        raw_cards = []
    cards: list[Card] = []
    seen_ids: dict[str, int] = {}
    families: dict[tuple[str, str], Card] = {}
    for index, raw in enumerate(raw_cards):
        card, card_problems = _parse_card(
            raw, index, deck_id if isinstance(deck_id, str) else "?", path, lines
        )
        problems.extend(card_problems)
        if card is None:
            continue
        line = card.location.line or 1
        if card.id in seen_ids:
            report(line, card.id, f"duplicate card id (first at line {seen_ids[card.id]})")
            continue
        seen_ids[card.id] = line
        twin = families.get((card.family, card.backend.value))
        if twin is not None:
            report(
                line,
                card.id,
                f"family {card.family!r} already has a {card.backend.value} card ({twin.id!r} at line "
                f"{twin.location.line}); a family holds one card per backend: give this one another "
                "id (or `family`)",
            )
            continue
        families[(card.family, card.backend.value)] = card
        cards.append(card)
    known_sections = set(sections) | {c.section for c in cards}
    for slug in sections_zh:
        if slug not in known_sections:
            deck_report(
                "sections_zh",
                f"[deck.sections_zh] names section {slug!r}, which no card and no [deck.sections] entry has"
                f"{_hint(slug, known_sections)}",
            )

    if not deck_ok:
        return None, problems
    assert isinstance(deck_id, str) and isinstance(title, str)
    deck = Deck(
        id=deck_id,
        title=title.strip(),
        path=path,
        cards=tuple(cards),
        description=description,
        author=author,
        version=version,
        tags=tuple(deck_tags),
        written_against={str(k): str(v) for k, v in written_against.items() if k in WRITTEN_AGAINST_KEYS},
        sections={str(k): str(v) for k, v in sections.items()},
        title_zh=title_zh,
        description_zh=description_zh,
        sections_zh={str(k): v.strip() for k, v in sections_zh.items()},
    )
    return deck, problems


def _too_many_cards(path: str, n: int, limits: DeckLimits) -> Problem:
    return Problem(
        path,
        None,
        None,
        f"the deck file holds {n:,} cards, more than the {limits.max_cards:,} one deck file may hold; "
        "split it into several decks, or raise `deck_max_cards` in config.toml",
    )


def describe_char(ch: str) -> str:
    """`U+001B (ESC)`: a character named without printing it."""
    code = ord(ch)
    name = _CONTROL_NAMES.get(code) or unicodedata.name(ch, "")
    return f"U+{code:04X}" + (f" ({name})" if name else "")


def _control_message(ch: str, where: str) -> str:
    return (
        f"{where} holds the control character {describe_char(ch)}: deck text may not hold control "
        "characters (they can hide or rewrite text on the terminal); remove it (in code, write it as a "
        "Python escape such as \\x1b inside a string literal)"
    )


def _forbidden_in_text(text: str, path: str, lines: _Lines) -> list[Problem]:
    """Every line of the raw text with a forbidden character (the first on each line)."""
    problems: list[Problem] = []
    for n, line in enumerate(text.split("\n"), start=1):
        m = FORBIDDEN_RAW_RE.search(line + "\n")
        if m:
            card_id = lines.card_id_near(n)
            if card_id is not None and FORBIDDEN_VALUE_RE.search(card_id):
                card_id = _shown_key(card_id)
            problems.append(Problem(path, n, card_id, _control_message(m.group(0), "this line")))
            if len(problems) >= 20:
                break
    return problems


def _forbidden_in_values(data: Mapping[str, Any], path: str, lines: _Lines) -> list[Problem]:
    """Forbidden characters that TOML escapes (`\\u001b`, `\\b`, `\\f`, `\\r`) put into the parsed text."""
    problems: list[Problem] = []

    def walk(value: Any, key: str, index: int | None, card_id: str | None) -> None:
        if isinstance(value, str):
            m = FORBIDDEN_VALUE_RE.search(value)
            if m:
                line = _escape_line(lines, index) or lines.field_line(index, key.split(".")[0]) or 1
                problems.append(Problem(path, line, card_id, _control_message(m.group(0), f"`{key}`")))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k, f"{key}.{_shown_key(k)}" if key else _shown_key(k), index, card_id)
                walk(v, f"{key}.{_shown_key(k)}" if key else _shown_key(k), index, card_id)
        elif isinstance(value, list):
            for v in value:
                walk(v, key, index, card_id)

    for top, value in data.items():
        walk(top, _shown_key(top), None, None)
        if top == "card" and isinstance(value, list):
            for index, card in enumerate(value):
                card_id = (
                    card.get("id") if isinstance(card, dict) and isinstance(card.get("id"), str) else None
                )
                if card_id is not None and FORBIDDEN_VALUE_RE.search(card_id):
                    card_id = None
                walk(card, "", index, card_id)
        else:
            walk(value, _shown_key(top) if top != "deck" else "", None, None)
    return problems


def _shown_key(key: str) -> str:
    return FORBIDDEN_VALUE_RE.sub(lambda m: f"<{describe_char(m.group(0))}>", key)


def _escape_line(lines: _Lines, index: int | None) -> int | None:
    """The first line of a card (or of the deck part) with a TOML escape that makes a forbidden character."""
    if index is None:
        start, end = 1, (lines.card_starts[0] - 1 if lines.card_starts else lines.last)
    else:
        start, end = lines.card_range(index)
    for n in range(start, end + 1):
        for m in TOML_ESCAPE_RE.finditer(lines.lines[n - 1]):
            esc = m.group(0)
            if esc == "\\\\":
                continue
            code = {"\\b": 8, "\\f": 12, "\\r": 13}.get(esc) or int(esc[2:], 16)
            if code <= 0x10FFFF and FORBIDDEN_VALUE_RE.match(chr(code)):
                return n
    return None


def _text_field(table: Mapping[str, Any], key: str, report: Callable[[str, str], None]) -> str:
    value = table.get(key, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and key == "version":
        return str(value)
    if not isinstance(value, str):
        report(key, f"`{key}` must be a string")
        return ""
    return value


def _hint(key: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(key), list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _constant_vars(value: Any) -> tuple[str, ...]:
    """The variable names of `constant = ["n", ...]` (empty for `true`/`false` or anything else)."""
    if isinstance(value, list) and value and all(isinstance(n, str) for n in value):
        return tuple(value)
    return ()


def _parse_card(
    raw: Any, index: int, deck_id: str, path: str, lines: _Lines
) -> tuple[Card | None, list[Problem]]:
    """One card, or None with every problem found in it."""
    problems: list[Problem] = []
    start, _ = lines.card_range(index)
    if not isinstance(raw, dict):
        return None, [Problem(path, start, None, "a card must be a table: write [[card]]")]
    card_id = raw.get("id") if isinstance(raw.get("id"), str) else None

    def report(key: str | None, message: str) -> None:
        line = lines.field_line(index, key) if key else start
        problems.append(Problem(path, line or start, card_id, message))

    for key in raw:
        if key not in CARD_FIELDS:
            report(key, f"unknown field {key!r}{_hint(key, CARD_FIELDS)}")
    text: dict[str, str] = {}
    for key in CARD_REQUIRED:
        if key not in raw:
            report(None, f"missing field {key!r}")
        elif not isinstance(raw[key], str) or not raw[key].strip():
            report(key, f"field {key!r} must be a non-empty string")
        else:
            text[key] = raw[key]
    for key in TRANSLATED:
        if key in raw:
            if not isinstance(raw[key], str) or not raw[key].strip():
                report(
                    key, f"field {key!r} must be a non-empty string (leave it out to fall back to English)"
                )
            else:
                text[key] = raw[key]

    if "id" in text and not ID_RE.match(text["id"]):
        report(
            "id",
            "card id may hold only letters, digits, '.', '_' and '-' (and starts with a letter or digit)",
        )
    backend = text.get("backend")
    if backend is not None and backend not in BACKENDS:
        report(
            "backend",
            f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}{_hint(backend, BACKENDS)}",
        )
        backend = None
    if backend and "id" in text:
        _, dot, tail = text["id"].rpartition(".")
        if dot and tail in BACKENDS and tail != backend:
            report("backend", f"the id ends in '.{tail}' but `backend` is {backend!r}")
    kind = text.get("kind")
    if kind is not None and kind not in KINDS:
        report("kind", f"unknown kind {kind!r}: use one of {', '.join(KINDS)}{_hint(kind, KINDS)}")
        kind = None

    answer = raw.get("answer")
    if kind == Kind.RAISES:
        if answer is not None:
            report("answer", "a 'raises' card takes no `answer`: its truth is what the last statement raised")
    elif kind is not None:
        if not isinstance(answer, str) or not answer.strip():
            report(None, f"a {kind!r} card needs an `answer` expression")
            answer = None
        else:
            statement = kind == Kind.TRANSLATE or (kind == Kind.CODE and "result" in raw)
            _check_python(answer, "answer", report, statement=statement)
    elif answer is not None and not isinstance(answer, str):
        report("answer", "`answer` is a Python expression string")

    choices: tuple[str, ...] = ()
    raw_choices = raw.get("choices")
    if kind == Kind.CHOICE:
        if (
            not isinstance(raw_choices, list)
            or len(raw_choices) < 2
            or not all(isinstance(c, str) and c.strip() for c in raw_choices)
        ):
            report("choices", "a 'choice' card needs `choices`: a list of at least two strings")
        elif len(set(raw_choices)) != len(raw_choices):
            report("choices", "choices must be different from each other")
        elif len(raw_choices) > 26:
            report("choices", "at most 26 choices (one per letter a-z)")
        else:
            choices = tuple(raw_choices)
            if isinstance(answer, str) and "${" not in answer and not any("${" in c for c in choices):
                _check_literal_choice(answer, choices, report)
    elif "choices" in raw and kind is not None:
        report("choices", "only 'choice' cards take `choices`")

    result = raw.get("result")
    if result is not None:
        if kind not in (Kind.CODE, Kind.TRANSLATE) or not isinstance(result, str) or not result.strip():
            report(
                "result",
                "`result` is for 'code' and 'translate' cards: an expression compared after the statement",
            )
            result = None
        else:
            _check_python(result, "result", report)
    elif kind == Kind.TRANSLATE:
        report(None, "a 'translate' card needs `result`: the name compared on both sides, e.g. \"y\"")

    source_backend, source_code = _source_fields(raw, kind, backend, report)

    if "code" in text and "${" not in text["code"]:
        _check_code(text["code"], report)

    tolerance = Tolerance()
    if "tolerance" in raw:
        tol = raw["tolerance"]
        if (
            not isinstance(tol, dict)
            or set(tol) - {"rtol", "atol"}
            or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in tol.values()
            )
        ):
            report("tolerance", "`tolerance` is a table { rtol = ..., atol = ... } of non-negative numbers")
        else:
            tolerance = Tolerance(float(tol.get("rtol", 1e-5)), float(tol.get("atol", 1e-8)))
        if kind not in (None, Kind.VALUE, Kind.CODE, Kind.TRANSLATE):
            report("tolerance", "`tolerance` is for 'value', 'code' and 'translate' cards")

    timeout = raw.get("timeout", 5)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= MAX_TIMEOUT_S:
        report("timeout", f"`timeout` must be a number of seconds in (0, {MAX_TIMEOUT_S:g}]")
        timeout = 5

    requires = raw.get("requires", {})
    if not isinstance(requires, dict):
        report("requires", '`requires` is a table, e.g. { gpu = true, torch = ">=2.1", keras = ">=3" }')
        requires = {}
    for key, value in requires.items():
        if key == "gpu":
            if not isinstance(value, bool):
                report("requires", "`requires.gpu` must be true or false")
        elif key in VERSIONED:
            if not isinstance(value, str) or not _valid_specifier(value):
                report(
                    "requires", f'`requires.{key}` must be a version specifier such as ">=2.1" or ">=2.1,<3"'
                )
        else:
            report(
                "requires",
                f"unknown requirement {key!r}: use gpu, {', '.join(VERSIONED)}{_hint(key, [*VERSIONED, 'gpu'])}",
            )
    if backend and isinstance(requires, dict):
        for other in BACKENDS:
            if other != backend and other != source_backend and other in requires:
                report(
                    "requires", f"a {backend} card cannot require {other} (it runs in the {backend} worker)"
                )
        if "keras" in requires and Backend.TENSORFLOW not in (backend, source_backend):
            report("requires", "`requires.keras` is for tensorflow cards")

    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        report("tags", "`tags` must be a list of strings")
        tags = []
    # `constant = ["n"]`: these variables may leave the truth unchanged (names checked against `vars` below).
    constant_vars = _constant_vars(raw.get("constant"))
    constant = False if constant_vars else raw.get("constant", False)
    if not isinstance(constant, bool):
        report("constant", "`constant` must be true, false or a list of variable names")
        constant = False
    may_raise = raw.get("may_raise", False)
    if not isinstance(may_raise, bool):
        report("may_raise", "`may_raise` must be true or false")
        may_raise = False
    elif may_raise and kind is not None and kind not in MAY_RAISE_KINDS:
        why = "it always takes an exception" if kind == Kind.RAISES else "the learner's answer is code"
        report("may_raise", f"`may_raise` is not for {kind!r} cards ({why})")
        may_raise = False
    default_family = family_of(text["id"]) if "id" in text else ""
    family = raw.get("family", default_family)
    if not isinstance(family, str) or not family.strip():
        report("family", "`family` must be a non-empty string")
        family = default_family

    variables: list[tuple[str, dict[str, Any]]] = []
    raw_vars = raw.get("vars", {})
    if not isinstance(raw_vars, dict):
        report("vars", "`vars` is a table of name = { spec }")
        raw_vars = {}
    defined: set[str] = set()
    for name, spec in raw_vars.items():
        line_key = f"vars.{name}" if lines.field_line(index, f"vars.{name}") != start else name
        try:
            V.validate_spec(name, spec, defined)
        except V.SpecError as exc:
            report(line_key, str(exc))
        else:
            variables.append((name, dict(spec)))
        defined.add(name)

    for name in constant_vars:
        if name not in defined:
            report("constant", f"`constant` names {name!r}, which is not one of the card's `vars`")
    assume = raw.get("assume", [])
    if not isinstance(assume, list) or not all(isinstance(a, str) for a in assume):
        report("assume", "`assume` must be a list of condition strings")
        assume = []
    for cond in assume:
        _check_expr(cond, defined, "assume", report)

    for key in TEMPLATED:
        value = raw.get(key)
        if isinstance(value, str):
            for m in PLACEHOLDER_RE.finditer(value):
                _check_expr(m.group(1), defined, key, report)
    for choice in choices:
        for m in PLACEHOLDER_RE.finditer(choice):
            _check_expr(m.group(1), defined, "choices", report)
    if (
        variables
        and not any(
            "${" in str(raw.get(k, "")) for k in ("prompt", "code", "answer", "result", "source_code")
        )
        and not any("${" in c for c in choices)
    ):
        report("vars", "the card draws `vars` but never uses them: put ${name} in its code or prompt")

    if problems:
        return None, problems
    assert backend is not None and kind is not None
    return (
        Card(
            deck_id=deck_id,
            id=text["id"],
            section=text["section"].strip(),
            backend=Backend(backend),
            kind=Kind(kind),
            prompt=text["prompt"].strip(),
            code=text["code"].strip("\n"),
            answer=answer.strip() if isinstance(answer, str) else None,
            explain=text["explain"].strip(),
            family=family.strip(),
            tags=tuple(tags),
            choices=choices,
            result=result.strip() if isinstance(result, str) else None,
            tolerance=tolerance,
            timeout=float(timeout),
            requires=dict(requires),
            constant=constant,
            constant_vars=constant_vars,
            variables=tuple(variables),
            assume=tuple(assume),
            may_raise=may_raise,
            location=Location(path, start),
            prompt_zh=text["prompt_zh"].strip() if "prompt_zh" in text else None,
            explain_zh=text["explain_zh"].strip() if "explain_zh" in text else None,
            source_backend=Backend(source_backend) if source_backend else None,
            source_code=source_code,
        ),
        problems,
    )


def _source_fields(
    raw: Mapping[str, Any], kind: str | None, backend: str | None, report: Callable[[str | None, str], None]
) -> tuple[str | None, str | None]:
    """A translate card's `source_backend` and `source_code` (the working code it shows)."""
    source_backend = raw.get("source_backend")
    source_code = raw.get("source_code")
    if kind != Kind.TRANSLATE:
        for key in ("source_backend", "source_code"):
            if key in raw and kind is not None:
                report(key, f"only 'translate' cards take `{key}`")
        return None, None
    if source_backend is None:
        report(None, "a 'translate' card needs `source_backend`: the framework its working code is in")
    elif source_backend not in BACKENDS:
        report(
            "source_backend",
            f"unknown source_backend {source_backend!r}: use one of {', '.join(BACKENDS)}"
            f"{_hint(str(source_backend), BACKENDS)}",
        )
        source_backend = None
    elif source_backend == backend:
        report(
            "source_backend",
            "`source_backend` is the framework translated from; `backend` (the one the learner "
            "writes) must be another",
        )
        source_backend = None
    if source_code is None:
        report(None, "a 'translate' card needs `source_code`: the working code in the source framework")
    elif not isinstance(source_code, str) or not source_code.strip():
        report("source_code", "`source_code` must be a non-empty string of Python")
        source_code = None
    elif "${" not in source_code:
        _check_code(
            source_code,
            lambda _key, message: report("source_code", message.replace("`code`", "`source_code`")),
        )
    if isinstance(source_code, str):
        source_code = source_code.strip("\n")
    return source_backend, source_code


def _check_expr(source: str, defined: set[str], key: str, report: Callable[[str | None, str], None]) -> None:
    try:
        used = names_in(source)
        compile_expr(source)
    except ExprError as exc:
        report(key, f"in `{key}`: {exc}")
        return
    missing = sorted(used - defined)
    if missing:
        report(key, f"`{key}` uses undefined variable{'s' if len(missing) > 1 else ''} {', '.join(missing)}")


def _check_python(
    source: str, key: str, report: Callable[[str | None, str], None], *, statement: bool = False
) -> None:
    """Syntax only; with `${...}` inside, the rendered text is checked when the card runs."""
    if "${" in source:
        return
    try:
        ast.parse(source.strip(), mode="exec" if statement else "eval")
    except SyntaxError as exc:
        report(key, f"`{key}` is not a valid Python {'statement' if statement else 'expression'}: {exc.msg}")
    except (ValueError, RecursionError, MemoryError):
        report(key, f"`{key}` is not valid Python")


def _check_code(code: str, report: Callable[[str | None, str], None]) -> None:
    try:
        ast.parse(code.strip("\n"))
    except SyntaxError as exc:
        where = f" (line {exc.lineno} of the code)" if exc.lineno else ""
        report("code", f"`code` is not valid Python: {exc.msg}{where}")
    except (ValueError, RecursionError, MemoryError):
        report("code", "`code` is not valid Python")


def _check_literal_choice(
    answer: str, choices: tuple[str, ...], report: Callable[[str | None, str], None]
) -> None:
    """An answer that is a plain string literal must be one of the choices."""
    try:
        value = ast.literal_eval(answer.strip())
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
        return
    if isinstance(value, str) and value not in choices:
        report("answer", f"`answer` is {value!r}, which is not one of the choices")


def _valid_specifier(text: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        return False
    return bool(text.strip())


def _valid_version(text: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def unmet_requirement(card: Card, versions: Mapping[str, str | None], gpu: bool | None = None) -> str | None:
    """Why `card` cannot run here (None when it can).

    `versions` maps backend names and "keras" to installed versions (None or
    missing: not installed); `gpu` is whether a GPU is available (None: not
    known yet, so a GPU requirement is not judged).
    """
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version

    backend = card.backend.value
    if not versions.get(backend):
        return f"{backend} is not installed"
    if card.needs_gpu and gpu is False:
        return "needs a GPU"
    for key, spec in card.requires.items():
        if key == "gpu":
            continue
        have = versions.get(key)
        if not have:
            return f"needs {key}{spec} ({key} is not installed)"
        try:
            ok = Version(have) in SpecifierSet(str(spec), prereleases=True)
        except InvalidVersion:
            ok = False
        if not ok:
            return f"needs {key}{spec} (installed: {have})"
    return None


def sections_of(decks: Iterable[Deck]) -> Mapping[str, str]:
    """Section slug → title across decks (the slug where no title is given)."""
    titles: dict[str, str] = {}
    for deck in decks:
        for card in deck.cards:
            titles.setdefault(card.section, deck.sections.get(card.section, card.section))
    return titles
