from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from app.models import Scenario
from app.schemas.common import Schema, StrictInput

Step = Annotated[str, Field(min_length=1, max_length=1000)]


class ContingencyIn(StrictInput):
    scenario: Scenario = Field(
        description="technical_failure, out_of_stock, quality_complaint, host_slip, "
        "negative_comments or custom"
    )
    title: str = Field(min_length=1, max_length=200)
    steps: list[Step] = Field(min_length=1, max_length=30)
    owner_id: int | None = Field(default=None, description="A user on the stream's team")


class ContingencyUpdate(StrictInput):
    scenario: Scenario | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    steps: list[Step] | None = Field(default=None, min_length=1, max_length=30)
    owner_id: int | None = None


class ContingencyOut(Schema):
    id: int
    stream_id: int
    scenario: Scenario
    title: str
    steps: list[str]
    owner_id: int | None
    created_at: datetime
