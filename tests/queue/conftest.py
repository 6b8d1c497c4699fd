"""Fixtures for the service-queue tests: the controls tests' room, crew and listener,
and `take_in`, which feeds comments through intake like a request would."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from app.services.comments import IncomingComment, IntakeResult, intake_comments
from app.services.uow import UnitOfWork
from tests.controls.conftest import (  # noqa: F401  (fixtures re-exported for this package)
    Crew,
    EventLog,
    Room,
    crew,
    events,
    listen,
    room,
)

# a real uvicorn server on both backends (websocket tests), with its committed rows cleaned
from tests.live.conftest import committed_app, real_app, served  # noqa: F401


async def take_in(
    app: FastAPI,
    stream_id: int,
    comments: Sequence[tuple[str, str] | IncomingComment],
    source: str = "ingest",
) -> IntakeResult:
    """Intake in its own transaction, then publish its events and run its after-commit
    hooks (the negative-comment count): what a request does."""
    incoming = [
        c if isinstance(c, IncomingComment) else IncomingComment(viewer_id=c[0], text=c[1])
        for c in comments
    ]
    async with UnitOfWork.begin(app.state.sessionmaker, app.state.live) as uow:
        result = await intake_comments(
            uow.session, uow.live.comment_counts, stream_id, incoming, source
        )
    return result
