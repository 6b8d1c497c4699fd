"""Orders remember the connector that reported them (its name, e.g. "抖音小店 A"), so the
order list says which platform a synced sale came from, not only 平台同步.

Revision ID: 2300
Revises: 1910
Create Date: 2026-12-05 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "2300"
down_revision: str | Sequence[str] | None = "1910"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("channel")
