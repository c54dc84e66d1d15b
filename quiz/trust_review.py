"""The trust review: every field of a deck that decides what runs or what the learner is told, as a diff.

Derived from the `Card` and `Deck` dataclasses' own fields: a field is listed
unless `NOT_LISTED` says why not, so a field added later is never left out
silently (a test holds every field to one of the two). Given the version the
learner trusted before, only what differs is listed, field by field; any
difference in any listed field puts the card in the review.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from enum import Enum
from typing import Any

from quiz.core.card_data import exact
from quiz.core.cards import Card, Deck, Location, Tolerance, family_of

__all__ = ["CardReview", "FieldReview", "LISTED", "NOT_LISTED", "Review", "field_text", "review"]

# Card fields the review lists, with their labels, in the order shown. A Card field in neither
# this nor NOT_LISTED is listed too, under its own name (a new field is never left out silently).
LISTED: dict[str, str] = {
    "kind": "kind",
    "backend": "backend",
    "source_backend": "translated from backend",
    "section": "section",
    "prompt": "prompt",
    "prompt_zh": "prompt (Chinese)",
    "variables": "vars (drawn; substituted into code, answer and texts)",
    "assume": "assume (conditions on the vars)",
    "source_code": "source code (runs)",
    "code": "code (runs)",
    "answer": "answer (runs after the code)",
    "result": "result (runs after the learner's statement)",
    "choices": "choices",
    "may_raise": "may raise",
    "explain": "explain",
    "explain_zh": "explain (Chinese)",
    "requires": "requires",
    "timeout": "timeout (s)",
    "tolerance": "tolerance",
    "constant": "constant",
    "constant_vars": "constant (these vars may leave the truth unchanged)",
    "family": "family (compared with its siblings)",
    "tags": "tags",
}
# Card fields deliberately not listed as fields, and why.
NOT_LISTED: dict[str, str] = {
    "deck_id": "the deck's id: the review's heading",
    "id": "the card's id: its heading (a renamed card is a new card)",
    "location": "where the card is in the file: its heading (moving a card changes nothing it does)",
}
# Listed fields the card's heading shows (backend · kind): listed as fields only when they changed.
IN_HEADING = ("backend", "kind")
DECK_LISTED: dict[str, str] = {
    "title": "title",
    "description": "description",
    "author": "author",
    "version": "version",
    "tags": "tags",
    "written_against": "written against",
    "sections": "section titles",
    "title_zh": "title (Chinese)",
    "description_zh": "description (Chinese)",
    "sections_zh": "section titles (Chinese)",
}
DECK_NOT_LISTED: dict[str, str] = {
    "id": "the review's heading",
    "path": "the review's heading",
    "cards": "reviewed card by card",
}


@dataclass(frozen=True, slots=True)
class FieldReview:
    """One field as the review shows it; `before` is the trusted version's text when it changed."""

    name: str
    label: str
    text: str
    changed: bool = False
    before: str | None = None

    def diff(self) -> list[str]:
        """`-`/`+` lines from the trusted text to this one (with a little context); [] when unchanged."""
        if not self.changed or self.before is None:
            return []
        lines = difflib.unified_diff(self.before.splitlines(), self.text.splitlines(), lineterm="", n=2)
        return [ln for ln in lines if not ln.startswith(("---", "+++", "@@"))]


@dataclass(frozen=True, slots=True)
class CardReview:
    card_id: str
    where: str  # file:line
    status: str  # "new" | "changed" | "removed"
    fields: tuple[FieldReview, ...]
    heading: str = ""  # backend · kind


@dataclass(frozen=True, slots=True)
class Review:
    """What a deck would run and tell, for the learner to read before trusting it."""

    deck: tuple[FieldReview, ...]  # deck fields: all for a new deck, only the changed ones otherwise
    cards: tuple[CardReview, ...]  # every card of a new deck; only new, changed and removed ones otherwise
    unchanged: int  # cards identical to the trusted version in every listed field
    against_trusted: bool  # True: a diff against the version trusted before

    @property
    def changed_cards(self) -> int:
        return sum(1 for c in self.cards if c.status != "removed")


def listed_fields(cls: type[Any], listed: Mapping[str, str], not_listed: Mapping[str, str]) -> list[str]:
    """The fields of `cls` the review lists: known ones in their order, then any new one."""
    names = [f.name for f in fields(cls)]
    known = [n for n in listed if n in names]
    return known + [n for n in names if n not in listed and n not in not_listed]


def review(deck: Deck, previous: Deck | None = None) -> Review:
    """Every card's listed fields, or — given the `previous` (trusted) version — only what differs from it.

    Any difference in any listed field puts the card in the review, with the
    field's old and new text; a card that only moved in the file does not.
    """
    card_names = listed_fields(Card, LISTED, NOT_LISTED)
    deck_names = listed_fields(Deck, DECK_LISTED, DECK_NOT_LISTED)
    before = {c.id: c for c in previous.cards} if previous is not None else {}
    cards: list[CardReview] = []
    unchanged = 0
    for card in deck.cards:
        old = before.get(card.id)
        views = _field_views(card, old, card_names, LISTED, new=old is None)
        if old is not None and not any(v.changed for v in views):
            unchanged += 1
            continue
        status = "new" if old is None or previous is None else "changed"
        cards.append(
            CardReview(
                card.id,
                str(card.location),
                status,
                tuple(views),
                f"{card.backend.value} · {card.kind.value}",
            )
        )
    if previous is not None:
        ids = {c.id for c in deck.cards}
        for old_card in previous.cards:
            if old_card.id not in ids:
                cards.append(CardReview(old_card.id, str(old_card.location), "removed", ()))
    deck_views = _field_views(deck, previous, deck_names, DECK_LISTED, new=previous is None)
    if previous is not None:
        deck_views = [v for v in deck_views if v.changed]
    return Review(tuple(deck_views), tuple(cards), unchanged, previous is not None)


def _field_views(
    obj: Any, old: Any | None, names: list[str], labels: Mapping[str, str], *, new: bool
) -> list[FieldReview]:
    defaults = {f.name: f for f in fields(obj)}
    card = isinstance(obj, Card)
    out = []
    for name in names:
        value = getattr(obj, name)
        shown = _worth_showing(value, defaults[name])
        if card and (name in IN_HEADING or (name == "family" and value == family_of(obj.id))):
            shown = False  # the heading says it (a change is still listed)
        if old is None:
            if shown:
                out.append(
                    FieldReview(name, labels.get(name, name), field_text(name, value), changed=not new)
                )
            continue
        before = getattr(old, name)
        changed = not _same(value, before)
        if shown or changed:
            out.append(
                FieldReview(
                    name,
                    labels.get(name, name),
                    field_text(name, value),
                    changed=changed,
                    before=field_text(name, before) if changed else None,
                )
            )
    return out


def _same(a: Any, b: Any) -> bool:
    return exact(a, b)


def _worth_showing(value: Any, f: Any) -> bool:
    """Required fields always (but an empty one); others when not their default (a default timeout tells nothing)."""
    if f.default is MISSING and f.default_factory is MISSING:
        return value is not None
    default = f.default if f.default is not MISSING else f.default_factory()
    return not _same(value, default) and value not in (None, "", (), {})


def field_text(name: str, value: Any) -> str:
    """A field's value as the review prints it (deck-like TOML where it helps)."""
    if name == "variables":
        return "\n".join(f"{var} = {_inline(spec)}" for var, spec in value)
    if name == "choices":
        return "\n".join(f"{chr(ord('a') + i)}) {c}" for i, c in enumerate(value))
    if isinstance(value, str):
        return value
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Tolerance):
        return f"rtol = {value.rtol:g}, atol = {value.atol:g}"
    if isinstance(value, Location):
        return str(value)
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    if isinstance(value, dict):
        return "\n".join(f"{k} = {_inline(v)}" for k, v in value.items())
    return _inline(value)


def _inline(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Enum):
        return json.dumps(str(value.value))
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return repr(value)
