"""The script / rundown (脚本): time-coded segments of a stream."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class SegmentKind(enum.StrEnum):
    opening = "opening"  # 开场
    product = "product"  # 产品介绍
    interaction = "interaction"  # 互动
    promotion = "promotion"  # 促销
    closing = "closing"  # 收尾 + 下期预告
    other = "other"


class ScriptSegment(Base):
    __tablename__ = "script_segments"
    __table_args__ = (
        CheckConstraint("start_offset_seconds >= 0", name="start_not_negative"),
        CheckConstraint("duration_seconds > 0", name="duration_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0, doc="Order in the rundown, 1-based")
    kind: Mapped[SegmentKind] = mapped_column(
        Enum(SegmentKind, name="segment_kind", native_enum=False, length=16)
    )
    title: Mapped[str] = mapped_column(String(200))
    start_offset_seconds: Mapped[int] = mapped_column(doc="Planned start, from the stream start")
    duration_seconds: Mapped[int]
    talking_points: Mapped[list[str]] = mapped_column(JSON, default=list, doc="话术")
    cues: Mapped[list[str]] = mapped_column(JSON, default=list, doc="Cues for host and crew")
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), default=None
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
