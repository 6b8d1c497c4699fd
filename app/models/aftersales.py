"""After-sales (售后): satisfaction surveys; shipments, returns and complaints per order."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, String, Text, UniqueConstraint
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
    """One respondent's answers: `answers[i]` answers `questions[i]` (int 1–5 or text).

    `source` is `viewer` when the viewer answered on the watch page (viewer token) or
    `staff` when customer service entered it (`entered_by`), e.g. after a phone visit.
    """

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
    source: Mapped[str] = mapped_column(String(16), default="staff", server_default="staff")
    entered_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShipmentStatus(enum.StrEnum):
    pending = "pending"  # 待发货
    shipped = "shipped"  # 已发货
    delivered = "delivered"  # 已签收
    returned = "returned"  # 退回


class Shipment(Base):
    """Shipping of one order: carrier and tracking number (物流单号)."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    carrier: Mapped[str] = mapped_column(String(64), default="")
    tracking_number: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[ShipmentStatus] = mapped_column(
        Enum(ShipmentStatus, name="shipment_status", native_enum=False, length=16),
        default=ShipmentStatus.pending,
    )
    shipped_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReturnKind(enum.StrEnum):
    return_ = "return"  # 退货退款
    exchange = "exchange"  # 换货


class ReturnStatus(enum.StrEnum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"
    received = "received"  # the goods came back
    completed = "completed"  # refunded or the replacement shipped


RETURN_TRANSITIONS: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    ReturnStatus.requested: frozenset({ReturnStatus.approved, ReturnStatus.rejected}),
    ReturnStatus.approved: frozenset({ReturnStatus.received, ReturnStatus.completed}),
    ReturnStatus.received: frozenset({ReturnStatus.completed}),
    ReturnStatus.rejected: frozenset(),
    ReturnStatus.completed: frozenset(),
}


class ReturnRequest(Base):
    """A return or exchange request for an order (退换货), with its reason and status."""

    __tablename__ = "return_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReturnKind] = mapped_column(
        Enum(
            ReturnKind,
            name="return_kind",
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[ReturnStatus] = mapped_column(
        Enum(ReturnStatus, name="return_status", native_enum=False, length=16),
        default=ReturnStatus.requested,
    )
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decided_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ComplaintCategory(enum.StrEnum):
    quality = "quality"  # 质量
    logistics = "logistics"  # 物流
    service = "service"  # 服务


class ComplaintStatus(enum.StrEnum):
    open = "open"
    in_progress = "in_progress"
    resolved = "resolved"


class Complaint(Base):
    """A complaint: intake, category, deadline, and the resolution fed back (投诉处理)."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), default=None
    )
    viewer_id: Mapped[str] = mapped_column(String(128))
    category: Mapped[ComplaintCategory] = mapped_column(
        Enum(ComplaintCategory, name="complaint_category", native_enum=False, length=16)
    )
    description: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime]
    status: Mapped[ComplaintStatus] = mapped_column(
        Enum(ComplaintStatus, name="complaint_status", native_enum=False, length=16),
        default=ComplaintStatus.open,
    )
    resolution: Mapped[str] = mapped_column(Text, default="")
    handled_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
