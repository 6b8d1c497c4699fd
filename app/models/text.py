"""What a stream's team taught the text engine: corrections of comment labels and its own
compliance terms (issue #14)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class CommentCorrection(Base):
    """An agent's correction of a comment's labels (who, when, from what to what).

    The stream's classification uses it from the next comment on: a comment whose
    normalised text (`norm`) equals a corrected one gets the corrected labels (the
    newest correction wins). Exported as training data."""

    __tablename__ = "comment_corrections"
    __table_args__ = (Index("ix_comment_corrections_stream_norm", "stream_id", "norm"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL"), default=None, index=True
    )
    text: Mapped[str] = mapped_column(Text)
    norm: Mapped[str] = mapped_column(String(500))
    was_kind: Mapped[str] = mapped_column(String(16))
    was_topic: Mapped[str] = mapped_column(String(16))
    was_sentiment: Mapped[str] = mapped_column(String(16))
    was_blocked: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(16))
    sentiment: Mapped[str] = mapped_column(String(16))
    blocked: Mapped[bool] = mapped_column(Boolean)
    corrected_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ComplianceTerm(Base):
    """A phrase a stream's team does not want said (checked with the built-in 广告法 list)."""

    __tablename__ = "compliance_terms"
    __table_args__ = (
        UniqueConstraint("stream_id", "phrase", name="uq_compliance_terms_stream_phrase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    phrase: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(8), default="block")
    suggestion: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
