"""comment corrections (who, when, from what to what) and a team's compliance terms (#14)

Revision ID: 1710
Revises: 1700
Create Date: 2026-12-05 17:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.db
from alembic import op

revision: str = "1710"
down_revision: str | Sequence[str] | None = "1700"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "comment_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("norm", sa.String(length=500), nullable=False),
        sa.Column("was_kind", sa.String(length=16), nullable=False),
        sa.Column("was_topic", sa.String(length=16), nullable=False),
        sa.Column("was_sentiment", sa.String(length=16), nullable=False),
        sa.Column("was_blocked", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.String(length=16), nullable=False),
        sa.Column("sentiment", sa.String(length=16), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("corrected_by", sa.Integer(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["corrected_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["stream_id"], ["streams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_comment_corrections_comment_id", "comment_corrections", ["comment_id"], unique=False
    )
    op.create_index(
        "ix_comment_corrections_stream_norm",
        "comment_corrections",
        ["stream_id", "norm"],
        unique=False,
    )
    op.create_table(
        "compliance_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("phrase", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("suggestion", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["stream_id"], ["streams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stream_id", "phrase", name="uq_compliance_terms_stream_phrase"),
    )
    op.create_index(
        "ix_compliance_terms_stream_id", "compliance_terms", ["stream_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_compliance_terms_stream_id", table_name="compliance_terms")
    op.drop_table("compliance_terms")
    op.drop_index("ix_comment_corrections_stream_norm", table_name="comment_corrections")
    op.drop_index("ix_comment_corrections_comment_id", table_name="comment_corrections")
    op.drop_table("comment_corrections")
