"""Which lender's sign-in page a sign-in attempt was made at (for the desk tools), and why a
proposal was rejected.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("login_attempt") as table:
        table.add_column(sa.Column("lender", sqlmodel.AutoString(length=64), nullable=True))
    with op.batch_alter_table("proposal") as table:
        table.add_column(sa.Column("reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("proposal") as table:
        table.drop_column("reason")
    with op.batch_alter_table("login_attempt") as table:
        table.drop_column("lender")
