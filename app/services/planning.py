"""A stream's plan (lineup, script, checklist, contingency, warm-ups): whether it may
still change, and the lock that serializes edits which renumber it.

Below `streams` (the lifecycle, whose go-live reads the readiness of the plan), so the
plan's services and the lifecycle do not import each other.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.models import Stream, StreamStatus

CLOSED = frozenset({StreamStatus.ended, StreamStatus.archived})


async def lock_stream(session: AsyncSession, stream_id: int) -> None:
    """Serialize plan edits that renumber (lineup, script) per stream: a row lock on
    PostgreSQL; SQLite has a single writer anyway."""
    await session.execute(select(Stream.id).where(Stream.id == stream_id).with_for_update())


def ensure_plannable(stream: Stream) -> None:
    """Plans of an ended or archived stream are history: they no longer change."""
    if stream.status in CLOSED:
        raise Conflict(
            f"stream {stream.id} is {stream.status}; its plan can no longer change",
            code="stream_closed",
        )
