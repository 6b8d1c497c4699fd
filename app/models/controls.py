"""Live controls (场控): the action log, cues to the host and incidents."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class ControlAction(Base):
    """One thing a controller (or host) did to a live stream: who, when, what.

    Append-only: the review and any dispute ("who delisted it?") read it back.
    """

    __tablename__ = "control_actions"
    __table_args__ = (Index("ix_control_actions_stream_created", "stream_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    action: Mapped[str] = mapped_column(String(32), doc="e.g. list, delist, explain, stock")
    product_id: Mapped[int | None] = mapped_column(default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Whether the platform really did it (issue 18): None = no webhook took the action;
    # "pending" once one did; "done" / "failed" when a receiver reported back.
    platform_status: Mapped[str | None] = mapped_column(String(16), default=None)
    platform_message: Mapped[str] = mapped_column(String(500), default="")
    platform_result_at: Mapped[datetime | None] = mapped_column(default=None)


class CuePriority(enum.StrEnum):
    normal = "normal"
    high = "high"
    urgent = "urgent"


class Cue(Base):
    """A message from the control room to the host's teleprompter (提词 / 提醒)."""

    __tablename__ = "cues"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    # Automatic cues: a stable code and its params (app/i18n.py), worded per language;
    # a person's cue has none (its text is what they typed).
    code: Mapped[str | None] = mapped_column(String(64), default=None)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    priority: Mapped[CuePriority] = mapped_column(
        Enum(CuePriority, name="cue_priority", native_enum=False, length=16),
        default=CuePriority.normal,
    )
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), default=None
    )
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acked_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    acked_at: Mapped[datetime | None] = mapped_column(default=None)


class IncidentType(enum.StrEnum):
    technical = "technical"  # 卡顿, 音画不同步, 断流
    product = "product"  # quality complaint, out of stock
    host = "host"  # 口误
    other = "other"


class Incident(Base):
    """Something that went wrong during the stream (突发问题), logged and resolved."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    type: Mapped[IncidentType] = mapped_column(
        Enum(IncidentType, name="incident_type", native_enum=False, length=16)
    )
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved: Mapped[bool] = mapped_column(default=False)
    resolved_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution: Mapped[str] = mapped_column(Text, default="")


class SegmentCursor(Base):
    """Which script segment a stream is in now, since when, and who moved it there."""

    __tablename__ = "segment_cursors"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("script_segments.id", ondelete="SET NULL"), default=None
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    moved_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
