"""Patrons held by the hub for libraries whose connector is ``registry``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registry_patron",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("library", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("card", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("pin_hash", sqlmodel.AutoString(length=255), nullable=False),
        sa.Column("name", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("category", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("expires", sa.Date(), nullable=True),
        sa.Column("fines", sa.Numeric(precision=11, scale=2), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("library", "card"),
    )
    op.create_index("ix_registry_patron_library", "registry_patron", ["library"])


def downgrade() -> None:
    op.drop_table("registry_patron")
