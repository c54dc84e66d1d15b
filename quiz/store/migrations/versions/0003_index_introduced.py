"""Index card_state(profile, introduced_at): today's new-card count without a table scan.

The daily new-card limit counts the cards first answered today; on a 50,000-card
collection that count scanned the whole table and dominated choosing the next card.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_card_state_introduced", "card_state", ["profile", "introduced_at"])


def downgrade() -> None:
    op.drop_index("ix_card_state_introduced", table_name="card_state")
