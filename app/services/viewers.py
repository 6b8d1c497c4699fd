"""Watch-page viewer sessions and their actions."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import Conflict, Unprocessable
from app.models import StreamStatus
from app.schemas.events import SOURCES, EventIn, ViewerActionIn
from app.security import create_token
from app.services.access import public_stream
from app.services.ingest import IngestOutcome, record_events
from app.services.uow import UnitOfWork

# What a watch page may report itself; comments and orders have their own endpoints.
VIEWER_ACTIONS = frozenset(
    {"viewer_join", "viewer_leave", "like", "share", "follow", "product_click", "add_to_cart"}
)


async def open_session(
    session: AsyncSession, settings: Settings, stream_id: int
) -> tuple[str, str, datetime]:
    """A new anonymous viewer of the stream: (viewer_id, viewer_token, expires_at)."""
    stream = await public_stream(session, stream_id)
    if stream.status in (StreamStatus.ended, StreamStatus.archived):
        raise Conflict("the stream has ended", code="stream_ended")
    viewer_id = "v_" + secrets.token_urlsafe(12)
    token, expires = create_token(
        settings.secret_key,
        viewer_id,
        "viewer",
        timedelta(hours=settings.viewer_token_hours),
        stream_id=stream_id,
    )
    return viewer_id, token, expires


async def record_action(
    uow: UnitOfWork,
    stream_id: int,
    viewer_id: str,
    action: ViewerActionIn,
) -> IngestOutcome:
    stream = await public_stream(uow.session, stream_id)
    if stream.status != StreamStatus.live:
        raise Conflict(f"stream {stream_id} is not live", code="stream_not_live")
    if action.type not in VIEWER_ACTIONS:
        raise Unprocessable(
            f"type must be one of {', '.join(sorted(VIEWER_ACTIONS))}", code="invalid_action"
        )
    if action.type in ("product_click", "add_to_cart") and action.product_id is None:
        raise Unprocessable(f"product_id is required for {action.type}", code="invalid_action")
    if action.source is not None and (action.type != "viewer_join" or action.source not in SOURCES):
        raise Unprocessable(
            f"source goes on viewer_join and is one of {', '.join(sorted(SOURCES))}",
            code="invalid_action",
        )
    if action.quantity is not None and not 1 <= action.quantity <= 10_000:
        raise Unprocessable("quantity must be between 1 and 10000", code="invalid_action")
    event = EventIn(
        action.type,
        viewer_id,
        # Scoped by viewer, so one viewer cannot cancel out another's event ids.
        event_id=f"{viewer_id}:{action.event_id}" if action.event_id else None,
        product_id=action.product_id,
        quantity=action.quantity,
        source=action.source,
    )
    return await record_events(uow, stream_id, [event])
