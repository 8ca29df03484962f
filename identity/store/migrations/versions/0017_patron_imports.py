"""Patron CSV imports started on the admin pages: each job's progress and outcome, readable by
every process of the hub.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patron_import",
        sa.Column("id", sqlmodel.AutoString(length=43), nullable=False),
        sa.Column("library", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("admin", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("file", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("state", sqlmodel.AutoString(length=10), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("not_in_file", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("message", sqlmodel.AutoString(length=500), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_patron_import_library", "patron_import", ["library"])
    op.create_index("ix_patron_import_finished_at", "patron_import", ["finished_at"])


def downgrade() -> None:
    op.drop_table("patron_import")
