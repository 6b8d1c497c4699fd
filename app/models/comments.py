"""Viewer comments and their moderation: blocked words, mutes, the watch-page pin."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Comment(Base):
    """One viewer comment, as classified and moderated on arrival.

    `blocked` comments are kept (the controller sees them, marked) but never reach the
    host or the watch page; `hidden` is a moderator's later decision with the same effect.
    """

    __tablename__ = "comments"
    __table_args__ = (
        UniqueConstraint("stream_id", "event_id", name="uq_comments_stream_event"),
        Index("ix_comments_stream_id_id", "stream_id", "id"),
        Index("ix_comments_stream_viewer", "stream_id", "viewer_id"),
        # The alerts engine counts a stream's negative comments about once a second.
        Index("ix_comments_stream_sentiment", "stream_id", "sentiment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    viewer_id: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), doc="ingest | watch")
    event_id: Mapped[str | None] = mapped_column(String(160), default=None)
    kind: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(16))
    sentiment: Mapped[str] = mapped_column(String(16))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    block_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("queue_items.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BlockedWord(Base):
    """A word a stream's team (or an admin, for every stream when `stream_id` is null)
    does not want on screen, matched through disguises (see app/text/moderation.py)."""

    __tablename__ = "blocked_words"
    __table_args__ = (UniqueConstraint("stream_id", "word", name="uq_blocked_words_stream_word"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int | None] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), default=None, index=True
    )
    word: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ViewerMute(Base):
    """A viewer silenced on a stream until `until` (禁言): their comments are refused."""

    __tablename__ = "viewer_mutes"
    __table_args__ = (Index("ix_viewer_mutes_stream_viewer", "stream_id", "viewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    viewer_id: Mapped[str] = mapped_column(String(128))
    until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WatchPin(Base):
    """What the watch page shows pinned: a viewer comment or a public answer.

    The current pin is the newest row with `unpinned_at` null (one at a time).
    """

    __tablename__ = "watch_pins"
    __table_args__ = (Index("ix_watch_pins_stream_id", "stream_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), doc="comment | answer")
    text: Mapped[str] = mapped_column(Text)
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL"), default=None
    )
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("queue_items.id", ondelete="SET NULL"), default=None
    )
    pinned_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    pinned_at: Mapped[datetime] = mapped_column(default=utcnow)
    unpinned_at: Mapped[datetime | None] = mapped_column(default=None)
