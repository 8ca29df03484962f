"""Sign-ins waiting at a library's own identity provider (SAML, OpenID Connect).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "federated_signin",
        sa.Column("id", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("library", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("protocol", sqlmodel.AutoString(length=8), nullable=False),
        sa.Column("expects", sqlmodel.AutoString(length=256), nullable=False),
        sa.Column("verifier", sqlmodel.AutoString(length=128), nullable=True),
        sa.Column("authorization", sa.Text(), nullable=False),
        sa.Column("binding", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("patron", sa.Text(), nullable=True),
        sa.Column("continued_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("binding"),
    )
    op.create_index("ix_federated_signin_expires_at", "federated_signin", ["expires_at"])


def downgrade() -> None:
    op.drop_table("federated_signin")
