"""A federated patron's card at their library's standing source, kept with the pairwise subject
a lender received, so that the eligibility API can ask the source by ``patron``.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pairwise_subject") as batch:
        batch.add_column(sa.Column("standing_card", sqlmodel.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pairwise_subject") as batch:
        batch.drop_column("standing_card")
