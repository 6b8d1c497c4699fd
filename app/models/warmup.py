"""Warm-up (预热引流): announcements per channel, and viewers' reservations (预约)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Channel(enum.StrEnum):
    short_video = "short_video"  # 短视频
    wechat = "wechat"  # 微信
    weibo = "weibo"  # 微博
    community_group = "community_group"  # 社群
    shop_homepage = "shop_homepage"  # 店铺首页
    app_push = "app_push"  # App 推送
    other = "other"


CHANNEL_ENUM = Enum(Channel, name="channel", native_enum=False, length=32)


class WarmupCampaign(Base):
    __tablename__ = "warmup_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    channel: Mapped[Channel] = mapped_column(CHANNEL_ENUM)
    title: Mapped[str] = mapped_column(String(200))
    publish_at: Mapped[datetime]
    content: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    exclusive_offer: Mapped[str] = mapped_column(String(500), default="", doc="专属福利")
    published: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Reservation(Base):
    """A viewer's reservation (预约) for a stream; one per viewer and stream."""

    __tablename__ = "reservations"
    __table_args__ = (UniqueConstraint("stream_id", "viewer_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    viewer_ref: Mapped[str] = mapped_column(String(128), doc="Platform user id or phone")
    name: Mapped[str] = mapped_column(String(100), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[Channel | None] = mapped_column(CHANNEL_ENUM, default=None)
    reminded_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
