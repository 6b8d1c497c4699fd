"""The post-stream review (复盘): meeting findings and actions, highlight markers."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class FindingKind(enum.StrEnum):
    went_well = "went_well"  # 亮点
    problem = "problem"  # 问题
    idea = "idea"  # 想法 / 机会


class ActionStatus(enum.StrEnum):
    open = "open"
    in_progress = "in_progress"
    done = "done"


class ReviewFinding(Base):
    """One finding of the review meeting (复盘会), optionally citing a diagnosis."""

    __tablename__ = "review_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    kind: Mapped[FindingKind] = mapped_column(
        Enum(FindingKind, name="finding_kind", native_enum=False, length=16)
    )
    text: Mapped[str] = mapped_column(Text)
    diagnosis_code: Mapped[str | None] = mapped_column(String(64), default=None)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewAction(Base):
    """An improvement action with an owner and a due date (改进措施).

    Open actions of earlier streams are shown again when the team plans its next stream.
    """

    __tablename__ = "review_actions"
    __table_args__ = (Index("ix_review_actions_status_stream", "status", "stream_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    finding_id: Mapped[int | None] = mapped_column(
        ForeignKey("review_findings.id", ondelete="SET NULL"), default=None
    )
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[ActionStatus] = mapped_column(
        Enum(ActionStatus, name="action_status", native_enum=False, length=16),
        default=ActionStatus.open,
    )
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(default=None)


class Highlight(Base):
    """A manual highlight marker for clip editors (二次剪辑): a moment and a note.

    Automatic markers (GMV and comment peaks) are computed from the per-minute series
    when read, so they always follow the data.
    """

    __tablename__ = "highlights"
    __table_args__ = (
        CheckConstraint("duration_seconds > 0", name="duration_positive"),
        Index("ix_highlights_stream_at", "stream_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    duration_seconds: Mapped[int] = mapped_column(default=60)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
