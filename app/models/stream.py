"""The stream (one live-selling session), its goals and targets, and its lifecycle."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.models.product import MONEY


class StreamStatus(enum.StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    live = "live"
    ended = "ended"
    archived = "archived"


# The only moves the lifecycle allows; anything else is a 409.
ALLOWED_TRANSITIONS: dict[StreamStatus, frozenset[StreamStatus]] = {
    StreamStatus.draft: frozenset({StreamStatus.scheduled}),
    StreamStatus.scheduled: frozenset({StreamStatus.draft, StreamStatus.live}),
    StreamStatus.live: frozenset({StreamStatus.ended}),
    StreamStatus.ended: frozenset({StreamStatus.archived}),
    StreamStatus.archived: frozenset(),
}


class Platform(enum.StrEnum):
    douyin = "douyin"  # 抖音
    taobao = "taobao"  # 淘宝直播
    kuaishou = "kuaishou"  # 快手
    wechat_channels = "wechat_channels"  # 视频号
    xiaohongshu = "xiaohongshu"  # 小红书
    jd = "jd"  # 京东
    other = "other"


class GoalType(enum.StrEnum):
    launch = "launch"  # 新品首发
    clearance = "clearance"  # 清仓
    brand = "brand"  # 品牌曝光
    fans = "fans"  # 涨粉
    sales = "sales"  # 冲销量


class Stream(Base):
    __tablename__ = "streams"
    __table_args__ = (
        CheckConstraint("target_gmv IS NULL OR target_gmv >= 0", name="target_gmv_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[StreamStatus] = mapped_column(
        Enum(StreamStatus, name="stream_status", native_enum=False, length=16),
        default=StreamStatus.draft,
        index=True,
    )
    scheduled_start: Mapped[datetime | None] = mapped_column(default=None)
    planned_minutes: Mapped[int | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Goals and positioning (目标与定位)
    platform: Mapped[Platform | None] = mapped_column(
        Enum(Platform, name="platform", native_enum=False, length=32), default=None
    )
    theme: Mapped[str] = mapped_column(String(200), default="")
    goal_type: Mapped[GoalType | None] = mapped_column(
        Enum(GoalType, name="goal_type", native_enum=False, length=16), default=None
    )
    target_audience: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    rehearsal_at: Mapped[datetime | None] = mapped_column(default=None, doc="模拟直播 / 彩排")
    # A rehearsal (彩排) stream: its figures never enter comparisons or exports of real
    # streams. `rehearsal_of` is the stream whose plan it copies.
    is_rehearsal: Mapped[bool] = mapped_column(default=False, index=True)
    rehearsal_of: Mapped[int | None] = mapped_column(
        ForeignKey("streams.id", ondelete="SET NULL"), default=None
    )
    # Numeric targets; the review compares actuals against them.
    target_gmv: Mapped[Decimal | None] = mapped_column(MONEY, default=None)
    target_viewers: Mapped[int | None] = mapped_column(default=None)
    target_conversion_rate: Mapped[Decimal | None] = mapped_column(
        Numeric(7, 4), default=None, doc="Paying customers ÷ viewers, as a fraction 0–1"
    )
    target_new_followers: Mapped[int | None] = mapped_column(default=None)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Campaign(Base):
    """A GMV target split over several streams (GMV目标拆分到每个场次).

    The split lives on the streams (`Stream.target_gmv` of each stream whose
    `campaign_id` points here) and always adds up to `gmv_target`.
    """

    __tablename__ = "campaigns"
    __table_args__ = (CheckConstraint("gmv_target >= 0", name="gmv_target_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    gmv_target: Mapped[Decimal] = mapped_column(MONEY)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GoLiveOverride(Base):
    """A forced start: who overrode which blocking findings, and when."""

    __tablename__ = "go_live_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    findings: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
