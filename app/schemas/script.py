from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.models import SegmentKind
from app.schemas.common import Schema, StrictInput

DAY = 24 * 3600
Line = Annotated[str, Field(min_length=1, max_length=2000)]


class SegmentIn(StrictInput):
    kind: SegmentKind = Field(
        description="opening, product, interaction, promotion, closing, other"
    )
    title: str = Field(min_length=1, max_length=200)
    start_offset_seconds: int | None = Field(
        default=None,
        ge=0,
        le=DAY,
        description="Planned start from the stream start; default: right after the last one",
    )
    duration_seconds: int = Field(ge=1, le=DAY)
    talking_points: list[Line] = Field(default_factory=list, max_length=50, description="话术")
    cues: list[Line] = Field(default_factory=list, max_length=50)
    product_id: int | None = None
    notes: str = Field(default="", max_length=5000)


class SegmentUpdate(StrictInput):
    kind: SegmentKind | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    start_offset_seconds: int | None = Field(default=None, ge=0, le=DAY)
    duration_seconds: int | None = Field(default=None, ge=1, le=DAY)
    talking_points: list[Line] | None = Field(default=None, max_length=50)
    cues: list[Line] | None = Field(default=None, max_length=50)
    product_id: int | None = None
    notes: str | None = Field(default=None, max_length=5000)


class SegmentOut(Schema):
    id: int
    stream_id: int
    position: int
    kind: SegmentKind
    title: str
    start_offset_seconds: int
    duration_seconds: int
    end_offset_seconds: int
    talking_points: list[str]
    cues: list[str]
    product_id: int | None
    notes: str


class ScriptIn(StrictInput):
    segments: list[SegmentIn] = Field(max_length=300)


class ScriptCopyIn(StrictInput):
    source_stream_id: int = Field(description="The past stream whose script is the template")
    replace: bool = Field(default=False, description="Replace a script that already exists")


class Gap(Schema):
    start_offset_seconds: int
    seconds: int
    after_segment_id: int | None
    before_segment_id: int


class Overlap(Schema):
    segment_ids: list[int]
    start_offset_seconds: int
    seconds: int


class ScriptOut(Schema):
    segments: list[SegmentOut]
    total_seconds: int = Field(description="Sum of segment durations")
    span_seconds: int = Field(description="End of the last segment")
    planned_seconds: int | None = Field(description="The stream's planned duration")
    difference_seconds: int | None = Field(description="span − planned (negative: too short)")
    gaps: list[Gap]
    overlaps: list[Overlap]
