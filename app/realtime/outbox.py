"""Publish after commit: services queue discrete events on the session; the request's
session dependency publishes them only once the transaction has committed, so a console
never hears of something the database then rolled back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

OUTBOX_KEY = "lcr_outbox"


@dataclass(frozen=True)
class PendingEvent:
    stream_id: int
    type: str
    data: dict[str, Any]
    roles: frozenset[str] | None = None  # None: every console of the stream may see it
    id: int | None = None  # the outbox row's id once written (consoles de-duplicate by it)


def queue_event(
    session: AsyncSession,
    stream_id: int,
    type: str,
    data: dict[str, Any],
    roles: frozenset[str] | None = None,
) -> None:
    """Announce `type` (e.g. "product.listed") to the stream's consoles after commit."""
    session.info.setdefault(OUTBOX_KEY, []).append(PendingEvent(stream_id, type, data, roles))


def take_events(session: AsyncSession) -> list[PendingEvent]:
    events: list[PendingEvent] = session.info.pop(OUTBOX_KEY, [])
    return events


def drop_events(session: AsyncSession) -> None:
    session.info.pop(OUTBOX_KEY, None)


def after_commit(session: AsyncSession, hook: Callable[[], Awaitable[None]]) -> None:
    """Run `hook()` once the session's transaction has committed (never on rollback).
    The same mechanism as `app.db.after_commit`; outside a request use
    `app.db.unit_of_work(maker, live)` so hooks and queued events run after commit."""
    from app.db import after_commit as _after_commit

    _after_commit(session, hook)
