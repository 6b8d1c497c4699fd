"""rollups: money sums as NUMERIC(18, 2)

One amount is below 10^8, but a rollup sums many (a minute's GMV, a viewer's payments):
NUMERIC(12, 2) could overflow, and the projection would then fail on that fold for
ever. NUMERIC(18, 2) cannot be reached.

Revision ID: 0261
Revises: 0260
Create Date: 2026-12-05 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0261"
down_revision: str | Sequence[str] | None = "0260"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUMS = {
    "stream_viewers": ("paid_amount", "refunded_amount"),
    "stream_minutes": ("gmv", "refunds"),
    "stream_product_minutes": ("gmv", "refunds"),
    "stream_seconds": ("gmv",),
    "stream_product_seconds": ("gmv",),
}


def _retype(old: sa.Numeric, new: sa.Numeric) -> None:
    for table, columns in SUMS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=old, type_=new, existing_nullable=False)


def upgrade() -> None:
    _retype(sa.Numeric(12, 2), sa.Numeric(18, 2))


def downgrade() -> None:
    _retype(sa.Numeric(18, 2), sa.Numeric(12, 2))
