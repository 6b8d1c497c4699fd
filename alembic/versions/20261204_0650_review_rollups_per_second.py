"""review rollups per second (backfilled); who entered a survey response

Script segments and explanation windows are attributed by the second an event happened
in, so they sum these instead of the per-minute rollups. Existing streams are filled
from the event log. Survey responses record whether the viewer answered or staff
entered them (existing ones were all entered by staff).

Revision ID: 0650
Revises: 0401
Create Date: 2026-12-04 17:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.db
from alembic import op

revision: str = "0650"
down_revision: str | Sequence[str] | None = "0401"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WINDOW = {
    "product_clicks": "product_click",
    "add_to_cart": "add_to_cart",
    "orders": "order_created",
    "paid_orders": "order_paid",
}


def _sums() -> list[sa.Column[int]]:
    return [sa.Column(c, sa.Integer(), nullable=False) for c in (*WINDOW, "units_sold")] + [
        sa.Column("gmv", sa.Numeric(precision=12, scale=2), nullable=False)
    ]


def _backfill_select(second: str, with_product: bool) -> str:
    counts = {"comments": "comment", **WINDOW} if not with_product else WINDOW
    cols = [f"SUM(CASE WHEN type = '{t}' THEN 1 ELSE 0 END)" for t in counts.values()]
    cols.append("SUM(CASE WHEN type = 'order_paid' THEN COALESCE(quantity, 1) ELSE 0 END)")
    cols.append("SUM(CASE WHEN type = 'order_paid' THEN COALESCE(amount, 0) ELSE 0 END)")
    keys = "stream_id, product_id" if with_product else "stream_id"
    types = ", ".join(f"'{t}'" for t in counts.values())
    where = f"type IN ({types})" + (" AND product_id IS NOT NULL" if with_product else "")
    return (
        f"SELECT {keys}, {second}, {', '.join(cols)} FROM stream_events "
        f"WHERE {where} GROUP BY {keys}, {second}"
    )


def upgrade() -> None:
    op.create_table(
        "stream_seconds",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("second", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        *_sums(),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
            name=op.f("fk_stream_seconds_stream_id_streams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stream_id", "second", name=op.f("pk_stream_seconds")),
    )
    op.create_table(
        "stream_product_seconds",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("second", app.db.UTCDateTime(timezone=True), nullable=False),
        *_sums(),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
            name=op.f("fk_stream_product_seconds_stream_id_streams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "stream_id", "product_id", "second", name=op.f("pk_stream_product_seconds")
        ),
    )
    # SQLite keeps times as text 'YYYY-MM-DD HH:MM:SS.ffffff' (always with microseconds).
    if op.get_bind().dialect.name == "postgresql":
        second = "date_trunc('second', ts)"
    else:
        second = "substr(ts, 1, 19) || '.000000'"
    sums = ", ".join((*WINDOW, "units_sold", "gmv"))
    op.execute(
        f"INSERT INTO stream_seconds (stream_id, second, comments, {sums}) "
        + _backfill_select(second, with_product=False)
    )
    op.execute(
        f"INSERT INTO stream_product_seconds (stream_id, product_id, second, {sums}) "
        + _backfill_select(second, with_product=True)
    )

    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), server_default="staff", nullable=False)
        )
        batch_op.add_column(sa.Column("entered_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_survey_responses_entered_by_users"),
            "users",
            ["entered_by"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_survey_responses_entered_by_users"), type_="foreignkey"
        )
        batch_op.drop_column("entered_by")
        batch_op.drop_column("source")
    op.drop_table("stream_product_seconds")
    op.drop_table("stream_seconds")
