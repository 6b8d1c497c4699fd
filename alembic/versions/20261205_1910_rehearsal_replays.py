"""Durable rehearsal replays (issue 18): a replay is a row with its progress and a
claim, so it survives its server and any server can show and resume it.

Revision ID: 1910
Revises: 1900
Create Date: 2026-12-05 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.db
from alembic import op

revision: str = "1910"
down_revision: str | Sequence[str] | None = "1900"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rehearsal_replays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rehearsal_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("speed", sa.Float(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("first_ts", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("base_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cursor_ts", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cursor_id", sa.Integer(), nullable=True),
        sa.Column("resumed", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=40), nullable=True),
        sa.Column("claimed_until", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_by", sa.Integer(), nullable=True),
        sa.Column("started_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rehearsal_id"],
            ["streams.id"],
            name=op.f("fk_rehearsal_replays_rehearsal_id_streams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["streams.id"],
            name=op.f("fk_rehearsal_replays_source_id_streams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["started_by"],
            ["users.id"],
            name=op.f("fk_rehearsal_replays_started_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rehearsal_replays")),
    )
    with op.batch_alter_table("rehearsal_replays", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rehearsal_replays_rehearsal_id"), ["rehearsal_id"], unique=False
        )
        batch_op.create_index(
            "ix_rehearsal_replays_state", ["state", "claimed_until"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rehearsal_replays", schema=None) as batch_op:
        batch_op.drop_index("ix_rehearsal_replays_state")
        batch_op.drop_index(batch_op.f("ix_rehearsal_replays_rehearsal_id"))
    op.drop_table("rehearsal_replays")
