"""Undo: what the learner did this session that can be taken back, and taking the last of it back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quiz.core.cards import Card
from quiz.core.variables import Variant, variant_from_values

if TYPE_CHECKING:
    from quiz.store.db import Store

__all__ = ["UndoStep", "Undone", "take_back"]


@dataclass(frozen=True, slots=True)
class UndoStep:
    """One thing the learner did that undo can take back."""

    kind: str  # "review", "bury" or "suspend"
    card_uid: str
    review_id: int | None = None
    previous: Any = None


@dataclass(frozen=True, slots=True)
class Undone:
    """What undo took back; for an answer, the card and variant to ask again and what was typed."""

    kind: str
    card: Card | None
    variant: Variant | None = None
    answer: str = ""


def take_back(store: Store, profile: str, step: UndoStep, cards: Mapping[str, Card]) -> Undone:
    """Undo `step` in the database, in one transaction (the caller drops it from its record after).

    Raises quiz.store.undo.UndoError when the step cannot be taken back.
    """
    from quiz.store.undo import set_buried, set_suspended, undo_review

    card = cards.get(step.card_uid)
    with store.session() as s:
        if step.kind == "review":
            assert step.review_id is not None
            undone = undo_review(s, profile, step.review_id)
            for uid, before in (step.previous or {}).items():  # the siblings it buried come back
                set_buried(s, profile, uid, before)
            variant = None
            if card is not None:
                try:
                    variant = variant_from_values(card, undone.seed, undone.variables)
                except Exception:  # the deck changed since: a fresh variant will do
                    variant = None
            return Undone("review", card, variant, undone.answer_given)
        if step.kind == "bury":
            set_buried(s, profile, step.card_uid, step.previous)
        else:
            set_suspended(s, profile, step.card_uid, bool(step.previous))
    return Undone(step.kind, card)
