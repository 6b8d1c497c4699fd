from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from app.models import StreamStatus
from app.schemas.common import Schema, StrictInput


class StreamCreate(StrictInput):
    title: str = Field(min_length=1, max_length=200)
    scheduled_start: AwareDatetime | None = None
    planned_minutes: int | None = Field(default=None, ge=1, le=24 * 60)


class StreamOut(Schema):
    id: int
    title: str
    status: StreamStatus
    scheduled_start: datetime | None
    planned_minutes: int | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
