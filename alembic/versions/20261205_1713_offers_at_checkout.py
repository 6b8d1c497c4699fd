"""Offers honoured at checkout, return policy, product price history (issue #13).

`lineup_items.gift_stock` / `gifts_given` count gift sets (one per unit ordered);
`lineup_items.restock_on_return` is the return policy; `orders.gift_units`,
`orders.bundle` and `orders.components` say which gift and which bundle an order got;
`product_prices` is each product's price history (the basis of 「日常价」).

Revision ID: 1713
Revises: 1710
Create Date: 2026-12-05 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.db
from alembic import op

revision: str = "1713"
down_revision: str | Sequence[str] | None = "1710"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lineup_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gift_stock", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("gifts_given", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("restock_on_return", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.create_check_constraint("gifts_given_not_negative", "gifts_given >= 0")
        batch_op.create_check_constraint(
            "no_gift_overgiven", "gift_stock IS NULL OR gifts_given <= gift_stock"
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("gift_units", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("bundle", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("components", sa.JSON(), nullable=True))
    op.create_table(
        "product_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("recorded_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.CheckConstraint("price >= 0", name=op.f("ck_product_prices_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_prices_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_prices")),
    )
    op.create_index(
        "ix_product_prices_product_recorded", "product_prices", ["product_id", "recorded_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_product_prices_product_recorded", table_name="product_prices")
    op.drop_table("product_prices")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for column in ("components", "bundle", "gift_units"):
            batch_op.drop_column(column)
    with op.batch_alter_table("lineup_items", schema=None) as batch_op:
        batch_op.drop_constraint("no_gift_overgiven", type_="check")
        batch_op.drop_constraint("gifts_given_not_negative", type_="check")
        for column in ("restock_on_return", "gifts_given", "gift_stock"):
            batch_op.drop_column(column)
