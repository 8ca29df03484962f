"""Authorization codes, tokens, revoked sign-ins, spent consent tickets, and clients'
post-logout redirect URIs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("login_attempt") as batch:  # room for "unanswered"
        batch.alter_column(
            "outcome",
            type_=sqlmodel.AutoString(length=10),
            existing_type=sqlmodel.AutoString(length=8),
            existing_nullable=False,
        )
    with op.batch_alter_table("oauth_client") as batch:
        batch.add_column(
            sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False, server_default="[]")
        )
    op.create_table(
        "authorization_code",
        sa.Column("code_sha256", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("client_id", sqlmodel.AutoString(length=100), nullable=False),
        sa.Column("redirect_uri", sqlmodel.AutoString(length=2000), nullable=False),
        sa.Column("scope", sqlmodel.AutoString(length=500), nullable=False),
        sa.Column("nonce", sqlmodel.AutoString(length=500), nullable=True),
        sa.Column("code_challenge", sqlmodel.AutoString(length=128), nullable=False),
        sa.Column("code_challenge_method", sqlmodel.AutoString(length=8), nullable=False),
        sa.Column("patron", sa.JSON(), nullable=False),
        sa.Column("family", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("auth_time", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("code_sha256"),
    )
    op.create_index("ix_authorization_code_client_id", "authorization_code", ["client_id"])
    op.create_table(
        "oauth_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jti", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("family", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("client_id", sqlmodel.AutoString(length=100), nullable=False),
        sa.Column("scope", sqlmodel.AutoString(length=500), nullable=False),
        sa.Column("subject", sqlmodel.AutoString(length=100), nullable=False),
        sa.Column("patron", sa.JSON(), nullable=True),
        sa.Column("access_sha256", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("refresh_sha256", sqlmodel.AutoString(length=64), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refresh_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("jti"),
        sa.UniqueConstraint("access_sha256"),
        sa.UniqueConstraint("refresh_sha256"),
    )
    op.create_index("ix_oauth_token_family", "oauth_token", ["family"])
    op.create_index("ix_oauth_token_client_id", "oauth_token", ["client_id"])
    op.create_table(
        "revoked_family",
        sa.Column("family", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("family"),
    )
    op.create_table(
        "spent_ticket",
        sa.Column("ticket", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket"),
    )
    op.create_index("ix_spent_ticket_at", "spent_ticket", ["at"])


def downgrade() -> None:
    op.drop_table("spent_ticket")
    op.drop_table("revoked_family")
    op.drop_table("oauth_token")
    op.drop_table("authorization_code")
    with op.batch_alter_table("oauth_client") as batch:
        batch.drop_column("post_logout_redirect_uris")
    with op.batch_alter_table("login_attempt") as batch:
        batch.alter_column(
            "outcome",
            type_=sqlmodel.AutoString(length=8),
            existing_type=sqlmodel.AutoString(length=10),
            existing_nullable=False,
        )
