"""Test data builders shared by the store, classroom and TUI tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from quiz.core.cards import Backend, Card, Kind
from quiz.store import repo

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def review_input(
    uid: str = "d/a", *, when: datetime = NOW, rating: int = 3, **fields: Any
) -> repo.ReviewInput:
    """An answered card as the app saves it; any field can be overridden."""
    values: dict[str, Any] = dict(
        card_uid=uid,
        deck_id=uid.split("/")[0],
        seed=1,
        variables={"a": 1},
        answer_given="(2, 3)",
        expected="(2, 3)",
        correct=True,
        error=None,
        rating=rating,
        backend="torch",
        device="cpu",
        framework_version="2.13.0",
        response_ms=900,
        run_ms=0.3,
        shown_at=when,
        reviewed_at=when,
    )
    values.update(fields)
    return repo.ReviewInput(**values)


def card(kind: Kind, **fields: Any) -> Card:
    """A minimal torch card of `kind`; any field can be overridden."""
    values: dict[str, Any] = dict(
        deck_id="d",
        id="c",
        section="s",
        backend=Backend.TORCH,
        kind=kind,
        prompt="p",
        code="x = 1",
        answer="x",
        explain="e",
        family="c",
    )
    values.update(fields)
    return Card(**values)
