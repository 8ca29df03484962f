"""Clients that can be disabled and have their secret rotated; client-credentials tokens revoked
without a row of their own; counters of the changes that processes cache.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the tables whose changes are counted, and the counter each one moves
COUNTED = {"oauth_client": "clients", "signing_key": "keys", "revoked_token": "revocations"}


def upgrade() -> None:
    with op.batch_alter_table("oauth_client") as batch:
        batch.add_column(sa.Column("epoch", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "revoked_token",
        sa.Column("jti", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("client_id", sqlmodel.AutoString(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )
    op.create_index("ix_revoked_token_expires_at", "revoked_token", ["expires_at"])
    # client-credentials tokens revoked while they were still stored row by row
    op.execute(
        "INSERT INTO revoked_token (jti, client_id, expires_at) "
        "SELECT jti, client_id, expires_at FROM oauth_token "
        "WHERE revoked_at IS NOT NULL AND refresh_sha256 IS NULL AND subject = client_id"
    )
    counters = op.create_table(
        "change_counter",
        sa.Column("topic", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("topic"),
    )
    op.bulk_insert(counters, [{"topic": topic, "version": 0} for topic in COUNTED.values()])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION count_change() RETURNS trigger AS $$
            BEGIN
                UPDATE change_counter SET version = version + 1 WHERE topic = TG_ARGV[0];
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table, topic in COUNTED.items():
            op.execute(
                f"CREATE TRIGGER {table}_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION count_change('{topic}')"
            )
    else:
        for table, topic in COUNTED.items():
            for verb in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_{verb.lower()}s AFTER {verb} ON {table} BEGIN "
                    f"UPDATE change_counter SET version = version + 1 WHERE topic = '{topic}'; "
                    "END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in COUNTED:
            op.execute(f"DROP TRIGGER {table}_changes ON {table}")
        op.execute("DROP FUNCTION count_change()")
    else:
        for table in COUNTED:
            for verb in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_{verb}s")
    op.drop_table("change_counter")
    op.drop_table("revoked_token")
    with op.batch_alter_table("oauth_client") as batch:
        batch.drop_column("disabled_at")
        batch.drop_column("epoch")
