"""SAML: the service provider's keys, and the assertions accepted (each is accepted once).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saml_key",
        sa.Column("kid", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("use", sqlmodel.AutoString(length=10), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.Column("private_key_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("use_from", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kid"),
    )
    op.create_table(
        "saml_assertion_seen",
        sa.Column("key", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_saml_assertion_seen_expires_at", "saml_assertion_seen", ["expires_at"])


def downgrade() -> None:
    op.drop_table("saml_assertion_seen")
    op.drop_table("saml_key")
