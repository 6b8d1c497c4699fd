from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, Field

from app.models import GoalType, Platform, StreamStatus
from app.schemas.common import Money, Schema, StrictInput


class StreamFields(StrictInput):
    """Goals, positioning and targets, shared by create and update."""

    scheduled_start: AwareDatetime | None = None
    planned_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    platform: Platform | None = None
    theme: str = Field(default="", max_length=200)
    goal_type: GoalType | None = Field(
        default=None, description="launch, clearance, brand, fans or sales"
    )
    target_audience: str = Field(default="", max_length=2000)
    description: str = Field(default="", max_length=5000)
    rehearsal_at: AwareDatetime | None = Field(default=None, description="模拟直播 / rehearsal")
    target_gmv: Money | None = None
    target_viewers: int | None = Field(default=None, ge=0)
    target_conversion_rate: Decimal | None = Field(
        default=None, ge=0, le=1, max_digits=6, decimal_places=4, description="fraction 0–1"
    )
    target_new_followers: int | None = Field(default=None, ge=0)


class StreamCreate(StreamFields):
    title: str = Field(min_length=1, max_length=200)


class StreamUpdate(StreamFields):
    """Only the fields sent are changed; null clears an optional field."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    theme: str | None = Field(default=None, max_length=200)  # type: ignore[assignment]
    target_audience: str | None = Field(default=None, max_length=2000)  # type: ignore[assignment]
    description: str | None = Field(default=None, max_length=5000)  # type: ignore[assignment]


class ScheduleIn(StrictInput):
    scheduled_start: AwareDatetime | None = Field(
        default=None, description="Sets the start time; needed unless the stream has one"
    )


class GoLiveIn(StrictInput):
    force: bool = Field(
        default=False,
        description="Start despite blocking findings (admin or controller; logged)",
    )
    schedule: bool = Field(
        default=False,
        description="From a draft: schedule it (its `scheduled_start`, or now if it has "
        "none) and go live in the same step. Only an admin or controller may schedule "
        "(403 `schedule_forbidden` otherwise). Without it a draft answers 409 "
        "`invalid_transition` (schedule it first).",
    )


class StreamOut(Schema):
    id: int
    title: str
    status: StreamStatus
    scheduled_start: datetime | None
    planned_minutes: int | None
    started_at: datetime | None
    ended_at: datetime | None
    platform: Platform | None = None
    theme: str = ""
    goal_type: GoalType | None = None
    target_audience: str = ""
    description: str = ""
    rehearsal_at: datetime | None = None
    target_gmv: Money | None = None
    target_viewers: int | None = None
    target_conversion_rate: Decimal | None = None
    target_new_followers: int | None = None
    campaign_id: int | None = None
    created_at: datetime
    is_rehearsal: bool = Field(
        default=False, description="A rehearsal (彩排): its figures are kept apart"
    )
    rehearsal_of: int | None = Field(default=None, description="The stream whose plan it copies")


class ReadinessOut(Schema):
    ready: bool
    findings: list[dict[str, Any]] = Field(
        description='Each {code, severity: "block"|"warn", message, ...details}'
    )


class GoLiveOut(StreamOut):
    forced: bool = False
    findings: list[dict[str, Any]] = Field(default_factory=list)
