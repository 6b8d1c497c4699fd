"""lineup per-viewer limit

Revision ID: 0350
Revises: 0651
Create Date: 2026-12-04 17:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0350"
down_revision: str | Sequence[str] | None = "0651"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lineup_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("per_viewer_limit", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            "per_viewer_limit_not_negative", "per_viewer_limit IS NULL OR per_viewer_limit >= 0"
        )


def downgrade() -> None:
    with op.batch_alter_table("lineup_items", schema=None) as batch_op:
        batch_op.drop_constraint("per_viewer_limit_not_negative", type_="check")
        batch_op.drop_column("per_viewer_limit")
