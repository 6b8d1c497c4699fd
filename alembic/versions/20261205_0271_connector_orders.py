"""Connector orders in the order book, and what an order records of its price.

`orders.external_id` is the platform's order id of a connector's order (ingest events
with `order_id`), unique per stream and source; `stock_units` the units of the
allotment it holds when fewer than its quantity; `list_price`, `live_price`,
`discounts` and `gift` what the order was priced at and given.

Revision ID: 0271
Revises: 0270
Create Date: 2026-12-05 17:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0271"
down_revision: str | Sequence[str] | None = "0270"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("stock_units", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("list_price", sa.Numeric(12, 2), nullable=True))
        batch_op.add_column(sa.Column("live_price", sa.Numeric(12, 2), nullable=True))
        batch_op.add_column(sa.Column("discounts", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("gift", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(
            "uq_orders_external", ["stream_id", "source", "external_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint("uq_orders_external", type_="unique")
        for column in ("gift", "discounts", "live_price", "list_price", "stock_units"):
            batch_op.drop_column(column)
        batch_op.drop_column("external_id")
