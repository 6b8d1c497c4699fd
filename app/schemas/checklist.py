from __future__ import annotations

from datetime import datetime

from pydantic import Field

from app.models import ChecklistKind, CheckStatus
from app.schemas.common import Schema, StrictInput


class ChecklistItemIn(StrictInput):
    kind: ChecklistKind = Field(
        description="camera, microphone, lights, wired_network, backup_network, push_test, "
        "backup_device or custom"
    )
    label: str | None = Field(
        default=None, min_length=1, max_length=200, description="Default: named after the kind"
    )


class ChecklistCheckIn(StrictInput):
    status: CheckStatus = Field(description="pending, ok or failed")
    note: str | None = Field(default=None, max_length=500)


class ChecklistItemOut(Schema):
    id: int
    stream_id: int
    kind: ChecklistKind
    label: str
    status: CheckStatus
    note: str
    checked_by: int | None
    checked_at: datetime | None


class ChecklistOut(Schema):
    complete: bool = Field(description="Every item is ok (and there is at least one)")
    items: list[ChecklistItemOut]
