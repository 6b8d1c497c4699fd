"""Fixtures for the service-queue tests: the controls tests' room, crew and listener,
and `take_in`, which feeds comments through intake like a request would."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from app.realtime.outbox import take_events
from app.services.comments import IncomingComment, IntakeResult, intake_comments
from tests.controls.conftest import (  # noqa: F401  (fixtures re-exported for this package)
    Crew,
    EventLog,
    Room,
    crew,
    events,
    listen,
    room,
)


async def take_in(
    app: FastAPI,
    stream_id: int,
    comments: Sequence[tuple[str, str] | IncomingComment],
    source: str = "ingest",
) -> IntakeResult:
    """Intake in its own transaction, then publish its events: what a request does."""
    incoming = [
        c if isinstance(c, IncomingComment) else IncomingComment(viewer_id=c[0], text=c[1])
        for c in comments
    ]
    async with app.state.sessionmaker() as session:
        result = await intake_comments(session, stream_id, incoming, source)
        await session.commit()
        for pending in take_events(session):
            await app.state.live.publish_event(pending)
    return result
