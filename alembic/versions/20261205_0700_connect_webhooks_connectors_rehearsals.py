"""connecting a platform: webhooks and their deliveries, connectors and their
payloads, platform results of control actions, rehearsal streams (issue 18)

Revision ID: 0700
Revises: 0271
Create Date: 2026-12-05 17:03:24.078275
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.db
from alembic import op

revision: str = "0700"
down_revision: str | Sequence[str] | None = "0271"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("next_seq", sa.Integer(), nullable=False),
        sa.Column("claimed_until", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_webhooks_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
            name=op.f("fk_webhooks_stream_id_streams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhooks_stream_id"), ["stream_id"], unique=False)

    op.create_table(
        "connectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("mapping", sa.String(length=100), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("ingest_key_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_received_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_event_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_lag_ms", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_connectors_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ingest_key_id"],
            ["ingest_keys.id"],
            name=op.f("fk_connectors_ingest_key_id_ingest_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
            name=op.f("fk_connectors_stream_id_streams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connectors")),
    )
    with op.batch_alter_table("connectors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connectors_stream_id"), ["stream_id"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=40), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "delivered", "dead", name="delivery_status", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("next_attempt_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
            name=op.f("fk_webhook_deliveries_stream_id_streams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("uid", name=op.f("uq_webhook_deliveries_uid")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_queue", ["webhook_id", "status", "seq"], unique=False
        )
        batch_op.create_index("ix_webhook_deliveries_stream", ["stream_id", "id"], unique=False)

    op.create_table(
        "connector_payloads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("received_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "mapped",
                "unmapped",
                "invalid",
                "rejected",
                name="payload_outcome",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connector_id"],
            ["connectors.id"],
            name=op.f("fk_connector_payloads_connector_id_connectors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
            name=op.f("fk_connector_payloads_stream_id_streams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_payloads")),
    )
    with op.batch_alter_table("connector_payloads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_connector_payloads_connector_time", ["connector_id", "received_at"], unique=False
        )

    with op.batch_alter_table("control_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("platform_status", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("platform_message", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("platform_result_at", app.db.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("streams", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_rehearsal", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("rehearsal_of", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_streams_is_rehearsal"), ["is_rehearsal"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_streams_rehearsal_of_streams"),
            "streams",
            ["rehearsal_of"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("streams", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_streams_rehearsal_of_streams"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_streams_is_rehearsal"))
        batch_op.drop_column("rehearsal_of")
        batch_op.drop_column("is_rehearsal")

    with op.batch_alter_table("control_actions", schema=None) as batch_op:
        batch_op.drop_column("platform_result_at")
        batch_op.drop_column("platform_message")
        batch_op.drop_column("platform_status")

    with op.batch_alter_table("connector_payloads", schema=None) as batch_op:
        batch_op.drop_index("ix_connector_payloads_connector_time")

    op.drop_table("connector_payloads")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_stream")
        batch_op.drop_index("ix_webhook_deliveries_queue")

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("connectors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connectors_stream_id"))

    op.drop_table("connectors")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhooks_stream_id"))

    op.drop_table("webhooks")
