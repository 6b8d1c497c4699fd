"""After-sales (售后): satisfaction surveys; shipments, returns and complaints per order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Survey(Base):
    """A satisfaction survey for a stream's buyers and viewers (满意度调查).

    `questions` is a list of `{"text": str, "kind": "score" | "text"}`; score questions
    are answered 1–5.
    """

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyResponse(Base):
    """One respondent's answers: `answers[i]` answers `questions[i]` (int 1–5 or text)."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("survey_id", "viewer_id"),
        CheckConstraint("score IS NULL OR (score >= 1 AND score <= 5)", name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    viewer_id: Mapped[str] = mapped_column(String(128))
    order_id: Mapped[int | None] = mapped_column(default=None, doc="The order it is about")
    answers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    score: Mapped[float | None] = mapped_column(
        default=None, doc="Mean of this response's score answers (display only, not money)"
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
