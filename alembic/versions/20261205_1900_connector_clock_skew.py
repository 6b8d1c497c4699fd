"""Connector clock skew (issue 18): how far the platform's clock is ahead of ours, seen
from events stamped after we received them; the connector's lag is corrected by it.

Revision ID: 1900
Revises: 1713
Create Date: 2026-12-05 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.db
from alembic import op

revision: str = "1900"
down_revision: str | Sequence[str] | None = "1713"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connectors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock_skew_ms", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("clock_skew_at", app.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("connectors", schema=None) as batch_op:
        batch_op.drop_column("clock_skew_at")
        batch_op.drop_column("clock_skew_ms")
