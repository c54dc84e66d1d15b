"""Parse and validate deck files, reporting every problem with file, line and card id."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quiz.core import variables as V
from quiz.core.cards import (
    BACKENDS,
    KINDS,
    MAX_TIMEOUT_S,
    Backend,
    Card,
    Deck,
    Kind,
    Location,
    Tolerance,
    family_of,
)
from quiz.core.expr import ExprError, compile_expr, names_in

__all__ = ["Library", "Problem", "load_deck", "load_library", "parse_deck", "deck_files"]

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DECK_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
PLACEHOLDER_RE = re.compile(r"\$\{([^}]*)\}")
CARD_HEADER_RE = re.compile(r"^\s*\[\[\s*card\s*\]\]\s*(#.*)?$")
TOML_LINE_RE = re.compile(r"at line (\d+)")

DECK_FIELDS = {
    "id",
    "title",
    "description",
    "author",
    "version",
    "tags",
    "written_against",
    "sections",
}
CARD_REQUIRED = ("id", "section", "backend", "kind", "prompt", "code", "explain")
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
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a deck file, located for the author."""

    path: str
    line: int | None
    card_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        card = f" card {self.card_id!r}:" if self.card_id else ""
        return f"{where}:{card} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.path, "line": self.line, "card": self.card_id, "message": self.message}


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


class _Lines:
    """Maps cards and fields of one TOML text to line numbers (tomllib gives none)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.card_starts = [i + 1 for i, ln in enumerate(self.lines) if CARD_HEADER_RE.match(ln)]

    def card_range(self, index: int) -> tuple[int, int]:
        start = self.card_starts[index] if index < len(self.card_starts) else 1
        end = self.card_starts[index + 1] - 1 if index + 1 < len(self.card_starts) else len(self.lines)
        return start, end

    def field_line(self, index: int | None, key: str) -> int | None:
        if index is None:
            start, end = 1, (self.card_starts[0] - 1 if self.card_starts else len(self.lines))
        else:
            start, end = self.card_range(index)
        pattern = re.compile(rf"^\s*(\[\s*)?(card\.)?{re.escape(key)}\b")
        for n in range(start, end + 1):
            if pattern.match(self.lines[n - 1]):
                return n
        return start if index is not None else None

    def card_id_near(self, line: int) -> str | None:
        starts = [s for s in self.card_starts if s <= line]
        if not starts:
            return None
        for n in range(starts[-1], min(len(self.lines), line + 40) + 1):
            m = re.match(r'^\s*id\s*=\s*["\']([^"\']+)', self.lines[n - 1])
            if m:
                return m.group(1)
        return None


def deck_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories to their `*.toml` files, sorted; keep files as given."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.glob("*.toml")))
        else:
            out.append(p)
    return out


def load_library(paths: Iterable[str | Path]) -> Library:
    """Load every deck; a broken file adds problems and never stops the others."""
    lib = Library()
    seen: dict[str, str] = {}
    for path in deck_files(paths):
        deck, problems = load_deck(path)
        lib.problems.extend(problems)
        if deck is None:
            continue
        if deck.id in seen:
            lib.problems.append(
                Problem(str(path), 1, None, f"deck id {deck.id!r} is already used by {seen[deck.id]}")
            )
            continue
        seen[deck.id] = str(path)
        lib.decks.append(deck)
    return lib


def load_deck(path: str | Path) -> tuple[Deck | None, list[Problem]]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(str(p), None, None, "no such file")]
    except UnicodeDecodeError as exc:
        return None, [Problem(str(p), None, None, f"not UTF-8 text ({exc.reason})")]
    except OSError as exc:
        return None, [Problem(str(p), None, None, f"cannot read: {exc.strerror}")]
    return parse_deck(text, str(p))


def parse_deck(text: str, path: str) -> tuple[Deck | None, list[Problem]]:
    """Parse one deck file. Returns the deck (None if unusable) and its problems.

    A card with problems is left out; the rest of the deck still loads, so one
    typo never hides a whole deck. The caller decides whether problems are fatal.
    """
    lines = _Lines(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = TOML_LINE_RE.search(str(exc))
        line = int(m.group(1)) if m else None
        msg = TOML_LINE_RE.sub("", str(exc)).replace("()", "").strip()
        card_id = lines.card_id_near(line) if line else None
        return None, [Problem(path, line, card_id, f"invalid TOML: {msg}")]
    except (ValueError, RecursionError) as exc:
        return None, [Problem(path, None, None, f"invalid TOML: {exc}")]

    problems: list[Problem] = []

    def report(line: int | None, card_id: str | None, message: str) -> None:
        problems.append(Problem(path, line, card_id, message))

    for key in data:
        if key not in ("deck", "card"):
            report(
                lines.field_line(None, key),
                None,
                f"unknown top-level table {key!r}{_hint(key, ['deck', 'card'])}",
            )

    meta = data.get("deck")
    if not isinstance(meta, dict):
        report(1, None, "missing [deck] table with `id` and `title`")
        return None, problems
    for key in meta:
        if key not in DECK_FIELDS:
            report(lines.field_line(None, key), None, f"unknown deck field {key!r}{_hint(key, DECK_FIELDS)}")
    deck_id = meta.get("id")
    if not isinstance(deck_id, str) or not DECK_ID_RE.match(deck_id):
        report(lines.field_line(None, "id") or 1, None, "deck `id` must be a string of a-z 0-9 - _")
        return None, problems
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        report(lines.field_line(None, "title") or 1, None, "deck needs a `title`")
        return None, problems

    raw_cards = data.get("card", [])
    if not isinstance(raw_cards, list):
        report(lines.field_line(None, "card"), None, "`card` must be an array of tables: use [[card]]")
        raw_cards = []
    cards: list[Card] = []
    seen_ids: dict[str, int] = {}
    for index, raw in enumerate(raw_cards):
        card, card_problems = _parse_card(raw, index, deck_id, path, lines)
        problems.extend(card_problems)
        if card is None:
            continue
        if card.id in seen_ids:
            report(
                card.location.line,
                card.id,
                f"duplicate card id (first at line {seen_ids[card.id]})",
            )
            continue
        seen_ids[card.id] = card.location.line or 0
        cards.append(card)

    deck = Deck(
        id=deck_id,
        title=title.strip(),
        path=path,
        cards=tuple(cards),
        description=str(meta.get("description", "")),
        author=str(meta.get("author", "")),
        version=str(meta.get("version", "")),
        tags=tuple(str(t) for t in meta.get("tags", []) or []),
        written_against={str(k): str(v) for k, v in (meta.get("written_against") or {}).items()},
        sections={str(k): str(v) for k, v in (meta.get("sections") or {}).items()},
    )
    return deck, problems


def _hint(key: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _parse_card(
    raw: Any, index: int, deck_id: str, path: str, lines: _Lines
) -> tuple[Card | None, list[Problem]]:
    problems: list[Problem] = []
    start, _ = lines.card_range(index)
    if not isinstance(raw, dict):
        return None, [Problem(path, start, None, "a card must be a table")]
    card_id = raw.get("id") if isinstance(raw.get("id"), str) else None

    def report(key: str | None, message: str) -> None:
        line = lines.field_line(index, key) if key else start
        problems.append(Problem(path, line, card_id, message))

    for key in raw:
        if key not in CARD_FIELDS:
            report(key, f"unknown field {key!r}{_hint(key, CARD_FIELDS)}")
    for key in CARD_REQUIRED:
        if key not in raw:
            report(None, f"missing field {key!r}")
        elif not isinstance(raw[key], str) or not raw[key].strip():
            report(key, f"field {key!r} must be a non-empty string")
    if problems:
        return None, problems
    if not ID_RE.match(raw["id"]):
        report("id", "card id may hold only letters, digits, '.', '_' and '-'")
    backend = raw["backend"]
    if backend not in BACKENDS:
        report(
            "backend",
            f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}{_hint(backend, BACKENDS)}",
        )
    kind = raw["kind"]
    if kind not in KINDS:
        report("kind", f"unknown kind {kind!r}: use one of {', '.join(KINDS)}{_hint(kind, KINDS)}")

    answer = raw.get("answer")
    if kind != Kind.RAISES:
        if not isinstance(answer, str) or not answer.strip():
            report(None, f"a {kind!r} card needs an `answer` expression")
        else:
            _check_python(answer, "answer", report, statement=kind == Kind.CODE and "result" in raw)
    elif answer is not None:
        report("answer", "a 'raises' card takes no `answer`: its truth is what the last statement raised")

    choices: tuple[str, ...] = ()
    if kind == Kind.CHOICE:
        raw_choices = raw.get("choices")
        if (
            not isinstance(raw_choices, list)
            or len(raw_choices) < 2
            or not all(isinstance(c, str) and c.strip() for c in raw_choices)
        ):
            report("choices", "a 'choice' card needs `choices`: a list of at least two strings")
        elif len(set(raw_choices)) != len(raw_choices):
            report("choices", "choices must be different from each other")
        else:
            choices = tuple(raw_choices)
    elif "choices" in raw:
        report("choices", "only 'choice' cards take `choices`")

    result = raw.get("result")
    if result is not None:
        if kind != Kind.CODE or not isinstance(result, str):
            report("result", "`result` is for 'code' cards: an expression compared after the statement")
        else:
            _check_python(result, "result", report)

    tolerance = Tolerance()
    if "tolerance" in raw:
        tol = raw["tolerance"]
        if (
            not isinstance(tol, dict)
            or set(tol) - {"rtol", "atol"}
            or not all(isinstance(v, (int, float)) and v >= 0 for v in tol.values())
        ):
            report("tolerance", "`tolerance` is a table { rtol = ..., atol = ... } of non-negative numbers")
        else:
            tolerance = Tolerance(float(tol.get("rtol", 1e-5)), float(tol.get("atol", 1e-8)))

    timeout = raw.get("timeout", 5)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= MAX_TIMEOUT_S:
        report("timeout", f"`timeout` must be a number of seconds in (0, {MAX_TIMEOUT_S:g}]")
        timeout = 5

    requires = raw.get("requires", {})
    if not isinstance(requires, dict):
        report("requires", '`requires` is a table, e.g. { gpu = true, torch = ">=2.1" }')
        requires = {}
    for key, value in requires.items():
        if key == "gpu":
            if not isinstance(value, bool):
                report("requires", "`requires.gpu` must be true or false")
        elif key in BACKENDS:
            if not isinstance(value, str) or not _valid_specifier(value):
                report("requires", f'`requires.{key}` must be a version specifier such as ">=2.1"')
        else:
            report("requires", f"unknown requirement {key!r}: use gpu or a backend name")

    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        report("tags", "`tags` must be a list of strings")
        tags = []
    constant = raw.get("constant", False)
    if not isinstance(constant, bool):
        report("constant", "`constant` must be true or false")
        constant = False
    family = raw.get("family", family_of(raw["id"]))
    if not isinstance(family, str) or not family:
        report("family", "`family` must be a non-empty string")
        family = family_of(raw["id"])

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

    assume = raw.get("assume", [])
    if not isinstance(assume, list) or not all(isinstance(a, str) for a in assume):
        report("assume", "`assume` must be a list of condition strings")
        assume = []
    for cond in assume:
        _check_expr(cond, defined, "assume", report)

    for key in ("prompt", "code"):
        for m in PLACEHOLDER_RE.finditer(raw[key]):
            _check_expr(m.group(1), defined, key, report)

    if problems:
        return None, problems
    return (
        Card(
            deck_id=deck_id,
            id=raw["id"],
            section=raw["section"].strip(),
            backend=Backend(backend),
            kind=Kind(kind),
            prompt=raw["prompt"].strip(),
            code=raw["code"].strip("\n"),
            answer=answer.strip() if isinstance(answer, str) else None,
            explain=raw["explain"].strip(),
            family=family,
            tags=tuple(tags),
            choices=choices,
            result=result,
            tolerance=tolerance,
            timeout=float(timeout),
            requires=dict(requires),
            constant=constant,
            variables=tuple(variables),
            assume=tuple(assume),
            location=Location(path, start),
        ),
        problems,
    )


def _check_expr(source: str, defined: set[str], key: str, report: Any) -> None:
    try:
        used = names_in(source)
        compile_expr(source)
    except ExprError as exc:
        report(key, f"in `{key}`: {exc}")
        return
    missing = sorted(used - defined)
    if missing:
        report(key, f"`{key}` uses undefined variable{'s' if len(missing) > 1 else ''} {', '.join(missing)}")


def _check_python(source: str, key: str, report: Any, *, statement: bool = False) -> None:
    import ast

    try:
        ast.parse(source.strip(), mode="exec" if statement else "eval")
    except SyntaxError as exc:
        report(key, f"`{key}` is not a valid Python {'statement' if statement else 'expression'}: {exc.msg}")


def _valid_specifier(text: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        return False
    return True


def sections_of(decks: Iterable[Deck]) -> Mapping[str, str]:
    """Section slug → title across decks (the slug where no title is given)."""
    titles: dict[str, str] = {}
    for deck in decks:
        for card in deck.cards:
            titles.setdefault(card.section, deck.sections.get(card.section, card.section))
    return titles
