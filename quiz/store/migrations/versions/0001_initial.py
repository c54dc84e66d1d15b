"""The first schema: card_state (memory per learner and card) and review (every answer).

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from quiz.store.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "card_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile", sa.String(length=64), nullable=False),
        sa.Column("card_uid", sa.String(length=200), nullable=False),
        sa.Column("deck_id", sa.String(length=100), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("stability", sa.Float(), nullable=True),
        sa.Column("difficulty", sa.Float(), nullable=True),
        sa.Column("due", UTCDateTime(), nullable=True),
        sa.Column("last_review", UTCDateTime(), nullable=True),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.Column("lapses", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("introduced_at", UTCDateTime(), nullable=True),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_state")),
        sa.UniqueConstraint("profile", "card_uid", name=op.f("uq_card_state_profile")),
    )
    op.create_index("ix_card_state_due", "card_state", ["profile", "suspended", "due"])
    op.create_index("ix_card_state_new", "card_state", ["profile", "state", "suspended", "position"])
    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("profile", sa.String(length=64), nullable=False),
        sa.Column("card_uid", sa.String(length=200), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("answer_given", sa.Text(), nullable=False),
        sa.Column("expected", sa.Text(), nullable=True),
        sa.Column("correct", sa.Boolean(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(length=20), nullable=False),
        sa.Column("device", sa.String(length=20), nullable=False),
        sa.Column("framework_version", sa.String(length=40), nullable=False),
        sa.Column("response_ms", sa.Integer(), nullable=False),
        sa.Column("run_ms", sa.Float(), nullable=True),
        sa.Column("shown_at", UTCDateTime(), nullable=False),
        sa.Column("reviewed_at", UTCDateTime(), nullable=False),
        sa.Column("state_after", sa.JSON(), nullable=False),
        sa.Column("due_after", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review")),
        sa.UniqueConstraint("uuid", name=op.f("uq_review_uuid")),
    )
    op.create_index("ix_review_profile_time", "review", ["profile", "reviewed_at"])
    op.create_index("ix_review_card", "review", ["profile", "card_uid"])


def downgrade() -> None:
    op.drop_index("ix_review_card", table_name="review")
    op.drop_index("ix_review_profile_time", table_name="review")
    op.drop_table("review")
    op.drop_index("ix_card_state_new", table_name="card_state")
    op.drop_index("ix_card_state_due", table_name="card_state")
    op.drop_table("card_state")
