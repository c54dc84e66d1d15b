"""A learner's settings in the `setting` table: one JSON value per key and profile."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz.store.models import Setting

__all__ = ["load_settings", "save_settings"]


def load_settings(session: Session, profile: str) -> dict[str, Any]:
    rows = session.scalars(select(Setting).where(Setting.profile == profile).order_by(Setting.key))
    return {row.key: row.value for row in rows}


def save_settings(session: Session, profile: str, values: Mapping[str, Any], now: datetime) -> None:
    """Insert or update each key. Commits."""
    existing = {
        row.key: row
        for row in session.scalars(
            select(Setting).where(Setting.profile == profile, Setting.key.in_(list(values)))
        )
    }
    for key, value in values.items():
        row = existing.get(key)
        if row is None:
            session.add(Setting(profile=profile, key=key, value=value, updated_at=now))
        elif row.value != value:
            row.value = value
            row.updated_at = now
    session.commit()
