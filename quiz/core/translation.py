"""A card's text in other languages: which languages a card and a deck have, and what is wrong
with a translation (placeholders that differ from the English, a prompt without its explanation).

Only the prompt and the explanation are translated (`prompt_zh`, `explain_zh`);
code, answers and choices are shared by every language. A `${...}` placeholder
is kept as written, but one that holds quoted text (conditional wording such as
`${'raises' if n > 3 else 'runs'}`) has its words translated: there only the
variables it reads are compared. A `choice` variable may carry a sentence per
variant in both languages, the Chinese right after the English
(`["a + b", "English.", "中文。"]`): the translation then shows `${case[2]}`
where the English shows `${case[1]}`.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from quiz.core.cards import Card, Deck
from quiz.core.expr import ExprError, names_in
from quiz.core.variables import Variant, render

__all__ = [
    "LANGUAGE_FIELDS",
    "Placeholder",
    "as_english_columns",
    "card_languages",
    "chinese_columns",
    "deck_languages",
    "english_left_in",
    "placeholder_mismatch",
    "placeholders",
    "translated_cards",
    "translation_problems",
]

PLACEHOLDER_RE = re.compile(r"\$\{([^}]*)\}")
COLUMN_RE = re.compile(r"\$\{\s*([A-Za-z_]\w*)\s*\[\s*(\d+)\s*\]\s*\}")
# English left in a Chinese text: five or more words in a row outside code and quotes (an
# exception message or the article's own words are quoted, as docs/translating.md asks).
QUOTED_RE = re.compile(r"`[^`]*`|“[^”]*”|「[^」]*」|\"[^\"]*\"|'[^'\n]*'")
ENGLISH_RUN_RE = re.compile(r"(?:[A-Za-z][A-Za-z'’-]*[,.;:]?\s+){5,}[A-Za-z]+")
CJK_RE = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
# For each language besides English: (English field, its translation) on a card.
LANGUAGE_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "zh": (("prompt", "prompt_zh"), ("explain", "explain_zh")),
}


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One `${...}` of a text: as written, compared by `key`; `has_text` when it holds quoted words."""

    source: str
    key: str
    names: frozenset[str]
    has_text: bool


def placeholders(text: str) -> list[Placeholder]:
    out = []
    for m in PLACEHOLDER_RE.finditer(text):
        source = m.group(1)
        try:
            tree = ast.parse(source.strip(), mode="eval")
            names = frozenset(names_in(source))
        except (SyntaxError, ValueError, RecursionError, MemoryError, ExprError):
            # The loader reports a broken expression; compare it as written.
            out.append(
                Placeholder(source, " ".join(source.split()), frozenset(), "'" in source or '"' in source)
            )
            continue
        has_text = any(isinstance(n, ast.Constant) and isinstance(n.value, str) for n in ast.walk(tree))
        out.append(Placeholder(source, ast.dump(tree), names, has_text))
    return out


def placeholder_mismatch(english: str, translated: str) -> list[str]:
    """How the translation's placeholders differ from the English ones ([] when they agree).

    Three things are compared: the variables read anywhere; the placeholders
    without quoted text, which must appear as written (`${n}`, `${(b, n)}`);
    and the placeholders with quoted text, by the variables each reads.
    """
    en, tr = placeholders(english), placeholders(translated)
    out: list[str] = []
    en_names = frozenset().union(*(p.names for p in en))
    tr_names = frozenset().union(*(p.names for p in tr))
    if en_names - tr_names:
        out.append(f"drops variable{_s(en_names - tr_names)} {_names(en_names - tr_names)}")
    if tr_names - en_names:
        out.append(f"adds variable{_s(tr_names - en_names)} {_names(tr_names - en_names)}")
    en_plain = {p.key: p.source for p in en if not p.has_text}
    tr_plain = {p.key: p.source for p in tr if not p.has_text}
    missing = [en_plain[k] for k in en_plain if k not in tr_plain]
    extra = [tr_plain[k] for k in tr_plain if k not in en_plain]
    if missing:
        out.append(f"lacks {_shown(missing)} (in the English)")
    if extra:
        out.append(f"has {_shown(extra)} (not in the English)")
    en_text = Counter(p.names for p in en if p.has_text)
    tr_text = Counter(p.names for p in tr if p.has_text)
    if en_text != tr_text:
        out.append(
            f"placeholders with quoted text: the English has {_groups(en_text)}, this {_groups(tr_text)}"
        )
    return out


def translation_problems(card: Card, variants: Iterable[Variant] = ()) -> list[str]:
    """What is wrong with the card's translations, one line each ([] when nothing is).

    `variants` (drawn by the caller) are used to render each translation:
    one that fails for some values is shown in English to the learner, so it
    is reported here.
    """
    problems: list[str] = []
    for _lang, pairs in LANGUAGE_FIELDS.items():
        present = {tr: getattr(card, tr) for _, tr in pairs if getattr(card, tr)}
        if present and len(present) < len(pairs):
            have = ", ".join(f"`{f}`" for f in present)
            lack = ", ".join(f"`{tr}`" for _, tr in pairs if tr not in present)
            problems.append(
                f"has {have} but no {lack}: a learner reading this language would get the rest in English"
            )
        columns = chinese_columns(card)
        for en_field, tr_field in pairs:
            if tr_field not in present:
                continue
            english = getattr(card, en_field)
            shown = sorted({m.group(0) for m in COLUMN_RE.finditer(english) if _column(m) in columns})
            if shown:
                problems.append(f"`{en_field}` shows Chinese text: {', '.join(f'`{s}`' for s in shown)}")
            differences = placeholder_mismatch(english, as_english_columns(present[tr_field], columns))
            if differences:
                problems.append(
                    f"`{tr_field}` has other ${{}} placeholders than `{en_field}`: {'; '.join(differences)}"
                )
        english_found: set[str] = set()
        for variant in variants:
            broken = False
            for tr_field, text in present.items():
                try:
                    rendered = render(text, variant.values)
                except ExprError as exc:
                    problems.append(
                        f"`{tr_field}` cannot be filled in for seed {variant.seed} (the learner sees the "
                        f"English instead): {exc}"
                    )
                    broken = True
                    continue
                english = english_left_in(rendered) if tr_field not in english_found else None
                if english:
                    english_found.add(tr_field)
                    problems.append(
                        f"`{tr_field}` shows English for seed {variant.seed}: {english!r} (translate it, "
                        "or quote it if it is a message or the article's words)"
                    )
            if broken:
                break  # one variant says enough
    return problems


def english_left_in(text: str) -> str | None:
    """A run of English words in a translated text, outside code spans and quotes (None: none)."""
    found = ENGLISH_RUN_RE.search(QUOTED_RE.sub(" ", text))
    return " ".join(found.group(0).split())[:80] if found else None


def chinese_columns(card: Card) -> set[tuple[str, int]]:
    """(variable, index) of each `choice` column that holds, in every item, the Chinese of the
    column before it (a sentence per variant: that column holds no Chinese, this one does)."""
    out: set[tuple[str, int]] = set()
    for name, spec in card.variables:
        items = spec.get("choice") if isinstance(spec, dict) else None
        if not items or not all(isinstance(i, list | tuple) for i in items):
            continue
        width = min(len(i) for i in items)
        for j in range(1, width):
            if all(
                isinstance(i[j], str) and CJK_RE.search(i[j]) and isinstance(i[j - 1], str)
                and not CJK_RE.search(i[j - 1])
                for i in items
            ):
                out.add((name, j))
    return out


def as_english_columns(translated: str, columns: set[tuple[str, int]]) -> str:
    """The translation with each `${v[j]}` of a Chinese column written as the English `${v[j-1]}`,
    so that the placeholders compare with the English text's."""

    def swap(m: re.Match[str]) -> str:
        name, index = _column(m)
        return f"${{{name}[{index - 1}]}}" if (name, index) in columns else m.group(0)

    return COLUMN_RE.sub(swap, translated)


def _column(m: re.Match[str]) -> tuple[str, int]:
    return m.group(1), int(m.group(2))


def card_languages(card: Card) -> tuple[str, ...]:
    """The languages the card can be studied in without falling back: its prompt and explanation both."""
    return (
        "en",
        *(lang for lang, pairs in LANGUAGE_FIELDS.items() if all(getattr(card, f) for _, f in pairs)),
    )


def translated_cards(deck: Deck) -> dict[str, int]:
    """Per language besides English: how many of the deck's cards have their full text in it."""
    return {lang: sum(lang in card_languages(c) for c in deck.cards) for lang in LANGUAGE_FIELDS}


def deck_languages(deck: Deck) -> list[str]:
    """The languages every card of the deck has (English always): studied in them, nothing falls back."""
    counts = translated_cards(deck)
    return ["en", *(lang for lang, n in counts.items() if deck.cards and n == len(deck.cards))]


def _s(items: Iterable[object]) -> str:
    return "s" if len(list(items)) > 1 else ""


def _names(names: Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in sorted(names))


def _shown(sources: list[str]) -> str:
    return ", ".join(f"`${{{s}}}`" for s in sources)


def _groups(counts: Counter[frozenset[str]]) -> str:
    """`2 ({ctx}, {ctx, use})`: how many placeholders, and the variables each reads."""
    total = sum(counts.values())
    if not total:
        return "none"
    each = [names for names in sorted(counts, key=sorted) for _ in range(counts[names])]
    return f"{total} (" + ", ".join("{" + ", ".join(sorted(n)) + "}" for n in each) + ")"
