"""What the watch page shows pinned: a comment or a public answer, one at a time.

Below both `comments` (pin a comment) and `queue` (pin a public answer), so neither
imports the other for it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.models import User, WatchPin
from app.realtime.outbox import queue_event
from app.realtime.protocol import VIEWER
from app.services.controls import log_action

PUBLIC = frozenset({VIEWER, "admin", "host", "controller", "service", "analyst"})
"""Every console and the watch page."""


def pin_payload(pin: WatchPin | None) -> dict[str, Any] | None:
    if pin is None:
        return None
    return {
        "id": pin.id,
        "kind": pin.kind,
        "text": pin.text,
        "comment_id": pin.comment_id,
        "item_id": pin.item_id,
        "pinned_at": pin.pinned_at.isoformat(),
    }


async def current_pin(session: AsyncSession, stream_id: int) -> WatchPin | None:
    pin: WatchPin | None = await session.scalar(
        select(WatchPin)
        .where(WatchPin.stream_id == stream_id, WatchPin.unpinned_at.is_(None))
        .order_by(WatchPin.id.desc())
        .limit(1)
    )
    return pin


async def set_pin(
    session: AsyncSession,
    stream_id: int,
    *,
    kind: str,
    text: str,
    user: User,
    comment_id: int | None = None,
    item_id: int | None = None,
) -> WatchPin:
    """Pin something on the watch page; the previous pin comes down (one at a time)."""
    now = utcnow()
    await session.execute(
        update(WatchPin)
        .where(WatchPin.stream_id == stream_id, WatchPin.unpinned_at.is_(None))
        .values(unpinned_at=now)
        .execution_options(synchronize_session=False)
    )
    pin = WatchPin(
        stream_id=stream_id,
        kind=kind,
        text=text,
        comment_id=comment_id,
        item_id=item_id,
        pinned_by=user.id,
        pinned_at=now,
    )
    session.add(pin)
    await session.flush()
    queue_event(session, stream_id, "pin.changed", {"pin": pin_payload(pin)}, roles=PUBLIC)
    # A control action too (a platform pins it as well): a pinned comment or public answer.
    log_action(
        session,
        stream_id,
        user,
        "pin",
        pin_id=pin.id,
        kind=kind,
        text=text,
        comment_id=comment_id,
        item_id=item_id,
    )
    return pin


async def unpin(session: AsyncSession, stream_id: int, user: User | None = None) -> None:
    result = await session.execute(
        update(WatchPin)
        .where(WatchPin.stream_id == stream_id, WatchPin.unpinned_at.is_(None))
        .values(unpinned_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0):
        queue_event(session, stream_id, "pin.changed", {"pin": None}, roles=PUBLIC)
        log_action(session, stream_id, user, "unpin")
