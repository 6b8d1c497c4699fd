"""The service queue (客服队列): merged questions and complaints, quick replies, FAQ."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class ItemStatus(enum.StrEnum):
    open = "open"
    claimed = "claimed"
    answered = "answered"
    dismissed = "dismissed"


class QueueItem(Base):
    """Similar questions (or complaints) merged into one item: 「尺码怎么选 ×37」.

    `asker_count` counts distinct viewers, `mention_count` comments. Claiming is a
    conditional UPDATE on `status`, so one agent at a time holds an item.
    """

    __tablename__ = "queue_items"
    __table_args__ = (Index("ix_queue_items_stream_status", "stream_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), doc="question | complaint")
    topic: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200), doc="the first comment's text")
    norm: Mapped[str] = mapped_column(String(200), doc="normalised content used for merging")
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), default=None
    )
    asker_count: Mapped[int] = mapped_column(default=1)
    mention_count: Mapped[int] = mapped_column(default=1)
    negative_count: Mapped[int] = mapped_column(default=0)
    status: Mapped[ItemStatus] = mapped_column(
        Enum(ItemStatus, name="queue_item_status", native_enum=False, length=16),
        default=ItemStatus.open,
    )
    claimed_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    answer: Mapped[str | None] = mapped_column(Text, default=None)
    answer_public: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    dismissed_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    dismissed_at: Mapped[datetime | None] = mapped_column(default=None)
    cue_sent_at: Mapped[datetime | None] = mapped_column(default=None)
    first_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
    sla_due_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, doc="bumped on every change")


DEFAULT_SLA_SECONDS = 120
DEFAULT_CUE_THRESHOLD = 10


class QueueSettings(Base):
    """A stream's service-queue settings; a stream without a row uses the defaults.

    `sla_seconds` is how long a question may wait for an answer (the SLA clock, the
    ranking's overdue boost, the 「questions waiting」 alert unless the alert thresholds
    set their own); `cue_threshold` is how many askers make an item cue the host.
    """

    __tablename__ = "queue_settings"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    sla_seconds: Mapped[int] = mapped_column(default=DEFAULT_SLA_SECONDS)
    cue_threshold: Mapped[int] = mapped_column(default=DEFAULT_CUE_THRESHOLD)
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class QueueAsker(Base):
    """A viewer who asked an item's question (the private answer goes to each)."""

    __tablename__ = "queue_askers"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("queue_items.id", ondelete="CASCADE"), primary_key=True
    )
    viewer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL"), default=None
    )
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_queue_askers_stream_viewer", QueueAsker.stream_id, QueueAsker.viewer_id)


class QuickReply(Base):
    """A canned answer for a stream (and optionally one product), with variables
    {product}, {price} and {stock} filled from the lineup when used."""

    __tablename__ = "quick_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), default=None
    )
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FaqEntry(Base):
    """A known question and its answer, suggested for queue items that resemble it."""

    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), default=None
    )
    question: Mapped[str] = mapped_column(String(300))
    answer: Mapped[str] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
