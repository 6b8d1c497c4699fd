"""users: token_version (revocation) replaces the per-account lockout columns

A staff token carries its user's `token_version`; disabling the user, changing their
role or password, or logging out bumps it, and every request and open console checks
it. Login throttling moved out of the users table (per username and address, and per
address, app/services/login_throttle.py), so the lockout columns go.

Revision ID: 0270
Revises: 0261
Create Date: 2026-12-05 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0270"
down_revision: str | Sequence[str] | None = "0261"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch.drop_column("token_version")
