"""The review report (复盘报告), computed from persisted data. Filled in below."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Stream
from app.schemas.review import HighlightOut


async def minute_peaks(session: AsyncSession, stream: Stream) -> list[HighlightOut]:
    return []
