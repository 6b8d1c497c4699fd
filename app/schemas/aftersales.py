"""Request and response shapes of after-sales: shipments, returns, complaints."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field, model_validator

from app.models.aftersales import (
    ComplaintCategory,
    ComplaintStatus,
    ReturnKind,
    ReturnStatus,
    ShipmentStatus,
)
from app.schemas.common import Schema, StrictInput


class ShipmentIn(StrictInput):
    carrier: str = Field(min_length=1, max_length=64, description="e.g. 顺丰, 中通")
    tracking_number: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-]+$")
    status: ShipmentStatus = ShipmentStatus.shipped


class ShipmentOut(Schema):
    id: int
    stream_id: int
    order_id: int
    carrier: str
    tracking_number: str
    status: ShipmentStatus
    shipped_at: datetime | None
    delivered_at: datetime | None
    updated_at: datetime


class ReturnIn(StrictInput):
    kind: ReturnKind
    reason: str = Field(min_length=1, max_length=2000)


class ReturnPatch(StrictInput):
    status: ReturnStatus
    note: str = Field(default="", max_length=2000)


class ReturnOut(Schema):
    id: int
    stream_id: int
    order_id: int
    kind: ReturnKind
    reason: str
    status: ReturnStatus
    note: str
    created_at: datetime
    updated_at: datetime


class ComplaintIn(StrictInput):
    viewer_id: str = Field(min_length=1, max_length=128)
    category: ComplaintCategory
    description: str = Field(min_length=1, max_length=5000)
    order_id: int | None = None
    deadline: AwareDatetime | None = Field(
        default=None, description="When it must be answered; default 48 hours from now"
    )


class ComplaintPatch(StrictInput):
    status: ComplaintStatus | None = None
    resolution: str | None = Field(default=None, max_length=5000)
    deadline: AwareDatetime | None = None

    @model_validator(mode="after")
    def _resolved_needs_resolution(self) -> ComplaintPatch:
        if not self.model_fields_set:
            raise ValueError("nothing to change")
        if self.status == ComplaintStatus.resolved and not (self.resolution or "").strip():
            raise ValueError("a resolved complaint needs a resolution (the feedback given)")
        return self


class ComplaintOut(Schema):
    id: int
    stream_id: int
    order_id: int | None
    viewer_id: str
    category: ComplaintCategory
    description: str
    deadline: datetime
    status: ComplaintStatus
    resolution: str
    resolved_at: datetime | None
    overdue: bool = False
    created_at: datetime
