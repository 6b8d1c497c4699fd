"""live outbox: discrete live events written with the change they announce

Relayed to the broker after commit by every instance (app/realtime/outbox.py), so a
process dying between commit and publish loses no event.

Revision ID: 1700
Revises: 1600
Create Date: 2026-12-05 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "1700"
down_revision: str | Sequence[str] | None = "1600"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("roles", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_outbox")),
        # ids are never reused (see app/models/outbox.py)
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("live_outbox")
