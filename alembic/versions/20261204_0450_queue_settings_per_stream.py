"""queue settings per stream (SLA, host-cue threshold); question wait follows the SLA

Revision ID: 0450
Revises: 0350
Create Date: 2026-12-04 17:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.db
from alembic import op

revision: str = "0450"
down_revision: str | Sequence[str] | None = "0350"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queue_settings",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("sla_seconds", sa.Integer(), nullable=False),
        sa.Column("cue_threshold", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
            name=op.f("fk_queue_settings_stream_id_streams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_queue_settings_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("stream_id", name=op.f("pk_queue_settings")),
    )
    # NULL now means "the stream's service-queue SLA"; rows keep what they had.
    with op.batch_alter_table("alert_thresholds", schema=None) as batch_op:
        batch_op.alter_column("question_wait_seconds", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute(
        "UPDATE alert_thresholds SET question_wait_seconds = 120 "
        "WHERE question_wait_seconds IS NULL"
    )
    with op.batch_alter_table("alert_thresholds", schema=None) as batch_op:
        batch_op.alter_column("question_wait_seconds", existing_type=sa.Integer(), nullable=False)
    op.drop_table("queue_settings")
