"""Connecting a platform (issue 18): outbound action webhooks and their durable
deliveries, inbound connectors with a declarative mapping, and what they received."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Webhook(Base):
    """An endpoint that receives the stream's control actions and public events.

    `secret` is kept in clear: we must sign with it (like a password of a remote
    service, not like a login password). `next_seq` numbers the deliveries; the row is
    locked while a transaction adds deliveries, so numbering follows commit order.
    """

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(200), default="")
    next_seq: Mapped[int] = mapped_column(default=0)
    # A dispatcher that delivers this endpoint's queue holds it until then (one
    # dispatcher per endpoint at a time keeps the order; another takes over after).
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    delivered = "delivered"
    dead = "dead"  # gave up after the last try (dead letter)


class WebhookDelivery(Base):
    """One event for one endpoint: retried with backoff until delivered or dead."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_queue", "webhook_id", "status", "seq"),
        Index("ix_webhook_deliveries_stream", "stream_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(40), unique=True, doc="X-LCR-Delivery")
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    seq: Mapped[int]
    event_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    action_id: Mapped[int | None] = mapped_column(default=None)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, name="delivery_status", native_enum=False, length=16),
        default=DeliveryStatus.pending,
    )
    tries: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    latency_ms: Mapped[int | None] = mapped_column(default=None)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class Connector(Base):
    """A platform feed into one stream: its mapping, the platform's signing secret, and
    the ingest key its events are recorded under (revoking the key stops it)."""

    __tablename__ = "connectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    mapping: Mapped[str] = mapped_column(String(100), doc="A shipped mapping's name")
    secret: Mapped[str] = mapped_column(String(200), doc="The platform's signing secret")
    params: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    ingest_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("ingest_keys.id", ondelete="SET NULL"), default=None
    )
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_received_at: Mapped[datetime | None] = mapped_column(default=None)
    last_event_at: Mapped[datetime | None] = mapped_column(default=None)
    last_lag_ms: Mapped[int | None] = mapped_column(default=None)
    # The platform's clock ahead of ours by at least this much (its events stamped
    # after we received them), last seen at `clock_skew_at`; the lag is corrected by it.
    clock_skew_ms: Mapped[int | None] = mapped_column(default=None)
    clock_skew_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(String(500), default="")


class PayloadOutcome(enum.StrEnum):
    mapped = "mapped"  # became events (some may have been duplicates)
    unmapped = "unmapped"  # no rule matched: kept for inspection
    invalid = "invalid"  # a rule matched but its events were not valid (kept)
    rejected = "rejected"  # bad signature, not JSON, key revoked or stream not live (kept)


class ConnectorPayload(Base):
    """Every payload a connector received and what became of it; the body is kept
    whenever it did not become events, so nothing is dropped silently."""

    __tablename__ = "connector_payloads"
    __table_args__ = (Index("ix_connector_payloads_connector_time", "connector_id", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("connectors.id", ondelete="CASCADE"))
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[PayloadOutcome] = mapped_column(
        Enum(PayloadOutcome, name="payload_outcome", native_enum=False, length=16)
    )
    events: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(String(500), default="")
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    body: Mapped[str | None] = mapped_column(Text, default=None)


class RehearsalReplay(Base):
    """A past stream's recorded log replayed into a live rehearsal (issue 18): the row
    is the replay. Its progress (`cursor_*`, `sent`, `skipped`) is written in the same
    transaction as the events it replayed, and a server works on it only while it holds
    the claim (`claimed_by` until `claimed_until`, renewed as it goes): when that server
    stops or dies, any server's replay worker resumes it where it was."""

    __tablename__ = "rehearsal_replays"
    __table_args__ = (Index("ix_rehearsal_replays_state", "state", "claimed_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rehearsal_id: Mapped[int] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), index=True
    )
    source_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    speed: Mapped[float] = mapped_column(Float)
    total: Mapped[int]
    sent: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(
        String(16), default="running", doc="running | done | stopped | failed"
    )
    error: Mapped[str] = mapped_column(String(500), default="")
    # The replay's clock: a recorded event at offset t (from the source's first event,
    # `first_ts`) is due at base_at + t ÷ speed. A server that resumes the replay moves
    # base_at so that it goes on from the cursor (the pause is not caught up at once).
    first_ts: Mapped[datetime | None] = mapped_column(default=None)
    base_at: Mapped[datetime] = mapped_column(default=utcnow)
    cursor_ts: Mapped[datetime | None] = mapped_column(default=None)
    cursor_id: Mapped[int | None] = mapped_column(default=None)
    resumed: Mapped[int] = mapped_column(default=0, doc="Times another claim took it over")
    claimed_by: Mapped[str | None] = mapped_column(String(40), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    started_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
