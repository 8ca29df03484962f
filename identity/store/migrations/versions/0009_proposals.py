"""Proposals: changes to the agreement set waiting for the other party's consent.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposed_by", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("proposer_library", sqlmodel.AutoString(length=64), nullable=True),
        sa.Column("section", sqlmodel.AutoString(length=20), nullable=False),
        sa.Column("target", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("action", sqlmodel.AutoString(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("parties", sa.Text(), nullable=False),
        sa.Column("awaiting", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.AutoString(length=12), nullable=False),
        sa.Column("note", sqlmodel.AutoString(length=500), nullable=True),
        sa.Column("decided_by", sqlmodel.AutoString(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_proposal_target", "proposal", ["target"])
    op.create_index("ix_proposal_status", "proposal", ["status"])


def downgrade() -> None:
    op.drop_table("proposal")
