"""Contingency plans (应急预案): scenario → steps and owner."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Scenario(enum.StrEnum):
    technical_failure = "technical_failure"  # 卡顿, 音画不同步, 断流
    out_of_stock = "out_of_stock"
    quality_complaint = "quality_complaint"
    host_slip = "host_slip"  # 口误
    negative_comments = "negative_comments"  # 负面评论风暴
    custom = "custom"


class ContingencyPlan(Base):
    __tablename__ = "contingency_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    scenario: Mapped[Scenario] = mapped_column(
        Enum(Scenario, name="scenario", native_enum=False, length=32)
    )
    title: Mapped[str] = mapped_column(String(200))
    steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
