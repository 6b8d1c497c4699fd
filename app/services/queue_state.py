"""What the queue's state says beyond the queue itself: a stream's queue thresholds and
how long its oldest open question has waited, for the queue (app/services/queue.py) and
the alerts engine (app/services/alerts.py `question_wait`), which both read it here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.models import ItemStatus, QueueItem, QueueSettings
from app.models.queue import DEFAULT_CUE_THRESHOLD, DEFAULT_SLA_SECONDS
from app.realtime.state import Live

ACTIVE = (ItemStatus.open, ItemStatus.claimed)  # a queue item still waiting for an answer


@dataclass(frozen=True)
class QueueThresholds:
    """A stream's queue SLA and cue threshold (its `QueueSettings` row, or the defaults)."""

    sla_seconds: int = DEFAULT_SLA_SECONDS
    cue_threshold: int = DEFAULT_CUE_THRESHOLD

    @classmethod
    def of(cls, row: Any) -> QueueThresholds:
        return cls(row.sla_seconds, row.cue_threshold) if row is not None else cls()


async def get_settings(session: AsyncSession, stream_id: int) -> QueueThresholds:
    row = (
        await session.execute(
            select(QueueSettings.sla_seconds, QueueSettings.cue_threshold).where(
                QueueSettings.stream_id == stream_id
            )
        )
    ).first()
    return QueueThresholds.of(row)


async def oldest_open_wait_seconds(session: AsyncSession, stream_id: int) -> float | None:
    """How long the oldest unanswered question has waited (for the alerts engine)."""
    first: datetime | None = await session.scalar(
        select(func.min(QueueItem.first_at)).where(
            QueueItem.stream_id == stream_id,
            QueueItem.kind == "question",
            QueueItem.status.in_(ACTIVE),
        )
    )
    if first is None:
        return None
    return max(0.0, (utcnow() - first).total_seconds())


async def alert_inputs(session: AsyncSession, live: Live, stream_id: int) -> dict[str, Any]:
    """What the alerts engine cannot read from the live metrics: the cumulative count of
    negative comments (for `negative_spike`, from the incremental counter intake keeps,
    not a COUNT over the comments), the oldest open question's wait and the stream's
    SLA (for `question_wait`). Blocked abuse counts too: an abuse storm is 舆情 as well."""
    return {
        "negative_comments": await live.comment_counts.negative(stream_id),
        "oldest_question_wait_seconds": await oldest_open_wait_seconds(session, stream_id),
        "question_sla_seconds": (await get_settings(session, stream_id)).sla_seconds,
    }
