"""The durable side of the live path: ingest keys, the event log and its rollups.

* `stream_events` is the log: every accepted viewer event, written in batches. A
  repeated `event_id` is refused by the unique (stream_id, event_id) index, so the log
  never holds an event twice, however often a connector retries.
* `stream_viewers` (one row per viewer) and `stream_minutes` (one row per minute) are
  rollups; the review reads them instead of scanning the log.
* `stream_projections` holds, per stream, the id of the last log row folded into the
  rollups, the review's rollups and the comment intake (app/services/projection.py).
  They are derived from the log after it commits, in the transaction that moves this
  cursor, so each log row is folded exactly once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    insert,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.models.product import MONEY, MONEY_SUM
from app.models.stream import Stream

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BIGID = BigInteger().with_variant(Integer(), "sqlite")


class IngestKey(Base):
    """A connector's key for one stream. Only its SHA-256 is stored (the key is random
    and 256 bits long, so a fast hash is safe and keeps the per-batch check cheap)."""

    __tablename__ = "ingest_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12), doc="First characters, to recognise a key")
    label: Mapped[str] = mapped_column(String(100), default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class StreamEvent(Base):
    """One accepted viewer event (the durable log)."""

    __tablename__ = "stream_events"
    __table_args__ = (
        UniqueConstraint("stream_id", "event_id"),
        Index("ix_stream_events_stream_ts", "stream_id", "ts"),
        # The projection (and rebuilds) read a stream's log in id order from a cursor.
        Index("ix_stream_events_stream_id_id", "stream_id", "id"),
    )

    id: Mapped[int] = mapped_column(BIGID, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    event_id: Mapped[str | None] = mapped_column(String(128), default=None)
    type: Mapped[str] = mapped_column(String(32))
    viewer_id: Mapped[str] = mapped_column(String(128), doc="The event's `user_id`")
    ts: Mapped[datetime] = mapped_column(doc="When it happened (the sender's clock)")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # No foreign key: a platform may report clicks on products outside the catalog.
    product_id: Mapped[int | None] = mapped_column(default=None)
    quantity: Mapped[int | None] = mapped_column(default=None)
    amount: Mapped[Decimal | None] = mapped_column(MONEY, default=None)
    text: Mapped[str | None] = mapped_column(Text, default=None)
    source: Mapped[str | None] = mapped_column(String(16), default=None)


class StreamProjection(Base):
    """How far the stream's log has been folded into its derived tables."""

    __tablename__ = "stream_projections"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    last_event_id: Mapped[int] = mapped_column(
        BigInteger, default=0, doc="stream_events.id of the last row folded in"
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


@event.listens_for(Stream, "after_insert")
def _new_stream_projects_from_the_start(_mapper: Any, connection: Any, target: Stream) -> None:
    """Every stream has its cursor from birth, so no writer ever has to create one."""
    connection.execute(
        insert(StreamProjection).values(stream_id=target.id, last_event_id=0, updated_at=utcnow())
    )


class StreamViewer(Base):
    """Per-viewer rollup: what the review needs for distinct-viewer and funnel figures."""

    __tablename__ = "stream_viewers"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    viewer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    source: Mapped[str | None] = mapped_column(String(16), default=None)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    joins: Mapped[int] = mapped_column(default=0)
    leaves: Mapped[int] = mapped_column(default=0)
    comments: Mapped[int] = mapped_column(default=0)
    likes: Mapped[int] = mapped_column(default=0)
    shares: Mapped[int] = mapped_column(default=0)
    follows: Mapped[int] = mapped_column(default=0)
    product_clicks: Mapped[int] = mapped_column(default=0)
    add_to_cart: Mapped[int] = mapped_column(default=0)
    orders: Mapped[int] = mapped_column(default=0)
    paid_orders: Mapped[int] = mapped_column(default=0)
    cancelled_orders: Mapped[int] = mapped_column(default=0)
    refunded_orders: Mapped[int] = mapped_column(default=0)
    units_bought: Mapped[int] = mapped_column(default=0)
    paid_amount: Mapped[Decimal] = mapped_column(MONEY_SUM, default=Decimal("0"))
    refunded_amount: Mapped[Decimal] = mapped_column(MONEY_SUM, default=Decimal("0"))


class StreamMinute(Base):
    """Per-minute rollup (by the event's own timestamp, floored to the minute)."""

    __tablename__ = "stream_minutes"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    joins: Mapped[int] = mapped_column(default=0)
    leaves: Mapped[int] = mapped_column(default=0)
    comments: Mapped[int] = mapped_column(default=0)
    likes: Mapped[int] = mapped_column(default=0)
    shares: Mapped[int] = mapped_column(default=0)
    follows: Mapped[int] = mapped_column(default=0)
    product_clicks: Mapped[int] = mapped_column(default=0)
    add_to_cart: Mapped[int] = mapped_column(default=0)
    orders: Mapped[int] = mapped_column(default=0)
    paid_orders: Mapped[int] = mapped_column(default=0)
    cancelled_orders: Mapped[int] = mapped_column(default=0)
    refunded_orders: Mapped[int] = mapped_column(default=0)
    units_sold: Mapped[int] = mapped_column(default=0)
    gmv: Mapped[Decimal] = mapped_column(MONEY_SUM, default=Decimal("0"))
    refunds: Mapped[Decimal] = mapped_column(MONEY_SUM, default=Decimal("0"))
