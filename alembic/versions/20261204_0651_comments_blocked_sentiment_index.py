"""partial index: a stream's blocked comments by sentiment (the review's sentiment counts)

Revision ID: 0651
Revises: 0650
Create Date: 2026-12-04 18:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0651"
down_revision: str | Sequence[str] | None = "0650"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_comments_stream_blocked_sentiment",
            ["stream_id", "sentiment"],
            unique=False,
            postgresql_where=sa.text("blocked"),
            sqlite_where=sa.text("blocked"),
        )


def downgrade() -> None:
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_stream_blocked_sentiment")
