"""The eligibility API: pairwise subjects, the lookup record, rate-limit windows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pairwise_subject",
        sa.Column("lender", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("sub", sqlmodel.AutoString(length=100), nullable=False),
        sa.Column("home_library", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("card", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("scope", sqlmodel.AutoString(length=500), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lender", "sub"),
    )
    op.create_table(
        "eligibility_lookup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_id", sqlmodel.AutoString(length=100), nullable=False),
        sa.Column("lender", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("home_library", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("card", sqlmodel.AutoString(length=64), nullable=True),
        sa.Column("by", sqlmodel.AutoString(length=8), nullable=False),
        sa.Column("answer", sqlmodel.AutoString(length=40), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_eligibility_lookup_at", "eligibility_lookup", ["at"])
    op.create_index("ix_eligibility_lookup_client_id", "eligibility_lookup", ["client_id"])
    op.create_index("ix_eligibility_lookup_home_library", "eligibility_lookup", ["home_library"])
    op.create_table(
        "rate_window",
        sa.Column("client_id", sqlmodel.AutoString(length=100), nullable=False),
        sa.Column("window", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "window"),
    )


def downgrade() -> None:
    op.drop_table("rate_window")
    op.drop_table("eligibility_lookup")
    op.drop_table("pairwise_subject")
