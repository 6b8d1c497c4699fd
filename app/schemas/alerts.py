"""Alert thresholds and alerts, as the control console reads and sets them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from app.models import AlertLevel
from app.schemas.common import Schema, StrictInput


class ThresholdsIn(StrictInput):
    """A stream's alert thresholds. A field left out takes its default; 0 turns a rule off."""

    enabled: bool = True
    online_drop_pct: int = Field(default=30, ge=0, le=100, description="% fall from the peak")
    online_drop_window_seconds: int = Field(default=60, ge=5, le=3600)
    online_drop_min_online: int = Field(
        default=20, ge=0, le=10_000_000, description="ignore drops from smaller audiences"
    )
    click_spike_factor: float = Field(
        default=3.0, ge=0, le=1000, description="recent click rate ÷ the minute before"
    )
    click_spike_min_clicks: int = Field(default=20, ge=0, le=10_000_000)
    click_window_seconds: int = Field(default=10, ge=1, le=600)
    stock_low_units: int = Field(default=10, ge=0, le=10_000_000)
    stock_low_pct: int = Field(default=10, ge=0, le=100)
    negative_spike_count: int = Field(default=10, ge=0, le=10_000_000)
    negative_window_seconds: int = Field(default=60, ge=5, le=3600)
    question_wait_seconds: int | None = Field(
        default=None,
        ge=0,
        le=86_400,
        description="null (the default): the stream's service-queue SLA (GET/PUT /queue-settings)",
    )


class ThresholdsOut(ThresholdsIn):
    stream_id: int
    is_default: bool = Field(description="true while the stream has not set its own")
    updated_at: datetime | None = None


class AlertOut(Schema):
    id: int
    stream_id: int
    kind: str
    key: str
    level: AlertLevel
    message: str = Field(description="For people, in the Accept-Language (zh-CN default)")
    code: str = Field(default="", description="`alert.<kind>`; its params are `params`")
    params: dict[str, Any] = Field(
        default_factory=dict, description="`data`, plus `product` (its name) where it has one"
    )
    data: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None
    acked_by: int | None
    acked_at: datetime | None
