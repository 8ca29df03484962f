"""When a lender last received each pairwise ``sub`` (its latest sign-in or refresh), so that
which card it stands for is forgotten ``HUB_RETAIN_PAIRWISE_DAYS`` after that; rows kept before
this revision count from when they were first seen.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pairwise_subject") as batch:
        batch.add_column(sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pairwise_subject") as batch:
        batch.drop_column("last_seen")
