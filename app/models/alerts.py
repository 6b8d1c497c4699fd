"""Alerts for the control console and the thresholds that raise them, per stream."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class AlertLevel(enum.StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


class AlertThresholds(Base):
    """A stream's alert settings; a stream without a row uses the column defaults."""

    __tablename__ = "alert_thresholds"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(default=True)
    online_drop_pct: Mapped[int] = mapped_column(default=30)
    online_drop_window_seconds: Mapped[int] = mapped_column(default=60)
    online_drop_min_online: Mapped[int] = mapped_column(default=20)
    click_spike_factor: Mapped[float] = mapped_column(default=3.0)
    click_spike_min_clicks: Mapped[int] = mapped_column(default=20)
    click_window_seconds: Mapped[int] = mapped_column(default=10)
    stock_low_units: Mapped[int] = mapped_column(default=10)
    stock_low_pct: Mapped[int] = mapped_column(default=10)
    negative_spike_count: Mapped[int] = mapped_column(default=10)
    negative_window_seconds: Mapped[int] = mapped_column(default=60)
    # None: the stream's service-queue SLA (app/models/queue.py QueueSettings).
    question_wait_seconds: Mapped[int | None] = mapped_column(default=None)
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Alert(Base):
    """One alert episode: raised when its condition starts, resolved when it stops.

    `key` names the condition (e.g. "stock_low:12"); at most one open episode per key
    and stream, enforced by a partial unique index so that two instances evaluating
    the same stream cannot both raise it.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_open_episode",
            "stream_id",
            "key",
            unique=True,
            postgresql_where=text("resolved_at IS NULL"),
            sqlite_where=text("resolved_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    level: Mapped[AlertLevel] = mapped_column(
        Enum(AlertLevel, name="alert_level", native_enum=False, length=16)
    )
    message: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    acked_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    acked_at: Mapped[datetime | None] = mapped_column(default=None)
