"""Request and response bodies of the live controls."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, Field, model_validator

from app.models import CuePriority, IncidentType, ListingStatus, SegmentKind
from app.schemas.common import Money, Schema, StrictInput


class LineupStateOut(Schema):
    """A lineup row as the control console shows it after an action."""

    product_id: int
    status: ListingStatus
    explaining: bool
    live_price: Money
    allotted_stock: int
    sold_units: int
    stock_left: int = Field(description="allotted_stock - sold_units")
    position: int
    updated_at: datetime


class StockAdjustIn(StrictInput):
    """Either `delta` (+20 / -5) or the new `allotted_stock`, always with a reason."""

    delta: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    allotted_stock: int | None = Field(default=None, ge=0, le=10_000_000)
    reason: str = Field(min_length=1, max_length=300, examples=["补货 200 件"])

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.delta is None) == (self.allotted_stock is None):
            raise ValueError("give exactly one of delta or allotted_stock")
        if self.delta == 0:
            raise ValueError("delta must not be 0")
        return self


class CueIn(StrictInput):
    text: str = Field(min_length=1, max_length=500, examples=["很多人问尺码，讲一下尺码表"])
    priority: CuePriority = CuePriority.normal
    product_id: int | None = Field(default=None, ge=1)


class CueOut(Schema):
    id: int
    stream_id: int
    text: str = Field(description="An automatic cue's text in the Accept-Language")
    code: str | None = Field(
        default=None, description="Automatic cues: e.g. `cue.questions` (params: count, title)"
    )
    params: dict[str, Any] | None = None
    priority: CuePriority
    product_id: int | None
    created_by: int | None
    created_at: datetime
    acked_by: int | None
    acked_at: datetime | None


class IncidentIn(StrictInput):
    type: IncidentType
    note: str = Field(min_length=1, max_length=2000, examples=["推流卡顿，切换备用网络"])


class IncidentResolveIn(StrictInput):
    resolution: str = Field(default="", max_length=2000)


class IncidentOut(Schema):
    id: int
    stream_id: int
    type: IncidentType
    note: str
    created_by: int | None
    created_at: datetime
    resolved: bool
    resolved_by: int | None
    resolved_at: datetime | None
    resolution: str


class ActionOut(Schema):
    id: int
    action: str
    product_id: int | None
    actor_id: int | None
    actor: str | None
    detail: dict[str, Any]
    created_at: datetime
    platform_status: str | None = Field(
        default=None,
        description="Whether the platform did it (issue 18): null = no webhook took the "
        "action; pending; done; failed (reported by the receiver)",
    )
    platform_message: str = ""
    platform_result_at: datetime | None = None


class SegmentBrief(Schema):
    id: int
    position: int
    kind: SegmentKind
    title: str
    start_offset_seconds: int
    duration_seconds: int
    talking_points: list[str]
    cues: list[str]
    product_id: int | None
    notes: str


class SegmentNowOut(BaseModel):
    """Where the stream is in its script; the teleprompter's header."""

    current: SegmentBrief | None
    next: SegmentBrief | None
    previous: SegmentBrief | None
    started_at: datetime | None = Field(description="when the current segment began")
    elapsed_seconds: int | None
    remaining_seconds: int | None = Field(
        description="planned duration minus elapsed; negative when overrunning"
    )
    total_segments: int


class SegmentMoveIn(StrictInput):
    """Optional guard: the segment the console showed, so two clicks do not skip one."""

    expected_current: int | None = Field(default=None, ge=1)
