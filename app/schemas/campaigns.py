from __future__ import annotations

from datetime import datetime

from pydantic import Field

from app.schemas.common import Money, Schema, StrictInput


class SplitPart(StrictInput):
    stream_id: int
    gmv_target: Money


class CampaignIn(StrictInput):
    name: str = Field(min_length=1, max_length=200)
    gmv_target: Money
    description: str = Field(default="", max_length=5000)
    split: list[SplitPart] = Field(
        default_factory=list,
        max_length=200,
        description="Optional: the per-stream parts, which must add up to gmv_target",
    )


class CampaignUpdate(StrictInput):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)


class SplitIn(StrictInput):
    parts: list[SplitPart] = Field(max_length=200, description="Every stream of the campaign")
    gmv_target: Money | None = Field(
        default=None, description="A new campaign target, changed together with its split"
    )


class PartOut(Schema):
    stream_id: int
    title: str
    status: str
    scheduled_start: datetime | None
    gmv_target: Money | None
    gmv_actual: Money | None = Field(
        default=None,
        description="GMV so far (paid, before refunds; the review's figure); null before "
        "the stream went live",
    )


class CampaignOut(Schema):
    id: int
    name: str
    gmv_target: Money
    description: str
    allocated: Money = Field(description="Sum of the parts")
    unallocated: Money
    parts: list[PartOut]
    created_at: datetime
