"""event log projection: a cursor per stream and a (stream_id, id) index on the log

The rollups, the review's rollups and the comment intake are now derived from the log
after it commits (app/services/projection.py). Existing streams were folded in as they
were logged, so their cursors start at their last logged event.

Revision ID: 0260
Revises: 0450
Create Date: 2026-12-05 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0260"
down_revision: str | Sequence[str] | None = "0450"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stream_projections",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
            name=op.f("fk_stream_projections_stream_id_streams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stream_id", name=op.f("pk_stream_projections")),
    )
    op.execute(
        "INSERT INTO stream_projections (stream_id, last_event_id, updated_at) "
        "SELECT s.id, COALESCE((SELECT MAX(e.id) FROM stream_events e "
        "WHERE e.stream_id = s.id), 0), CURRENT_TIMESTAMP FROM streams s"
    )
    with op.batch_alter_table("stream_events", schema=None) as batch_op:
        batch_op.create_index("ix_stream_events_stream_id_id", ["stream_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stream_events", schema=None) as batch_op:
        batch_op.drop_index("ix_stream_events_stream_id_id")
    op.drop_table("stream_projections")
