"""Rehearsals (彩排, issue 18): a rehearsal copy of a stream's plan, a recorded log
replayed into it, and the check `controlroom simulate` makes before it sends."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field

from app.deps import CurrentUser, SessionDep, authorize_stream, verify_ingest_key
from app.errors import NotFound, Unauthorized
from app.models import Stream
from app.realtime.outbox import after_commit
from app.routers._common import ControllerStream, TeamStream
from app.schemas.streams import StreamOut
from app.services import rehearsals as service

router = APIRouter(prefix="/api/v1/streams", tags=["connect: rehearsals"])


class RehearsalIn(BaseModel):
    start: bool = Field(default=True, description="Live at once (else scheduled)")


class ReplayIn(BaseModel):
    source_stream_id: int = Field(ge=1, le=2**31 - 1, description="A past real stream")
    speed: float = Field(default=1.0, ge=1.0, le=20.0, description="1× to 20×")


class ReplayOut(BaseModel):
    id: int
    rehearsal_id: int
    source_stream_id: int
    speed: float
    total: int
    sent: int
    skipped: int = Field(description="Clicks/carts of products not in the rehearsal's lineup")
    state: str = Field(description="running | done | stopped | failed")
    error: str
    resumed: int = Field(
        description="Times a server resumed it after the one running it stopped or died"
    )
    started_at: datetime
    finished_at: datetime | None


class IngestCheckOut(BaseModel):
    stream_id: int
    status: str
    is_rehearsal: bool


@router.post(
    "/{stream_id}/rehearsals",
    status_code=201,
    response_model=StreamOut,
    summary="Make a rehearsal (彩排) copy of the stream's plan: lineup, script, team "
    "(admin, controller)",
    description="The copy is a stream of its own marked `is_rehearsal`: its figures never "
    "enter the team comparison or the history of real streams, and it belongs to no "
    "campaign. `start` (default true) makes it live at once.",
)
async def create_rehearsal(
    stream: ControllerStream,
    user: CurrentUser,
    session: SessionDep,
    body: RehearsalIn | None = None,
) -> Stream:
    return await service.create_rehearsal(session, stream, user, body.start if body else True)


@router.post(
    "/{stream_id}/replay",
    status_code=202,
    response_model=ReplayOut,
    summary="Replay a past stream's recorded events into this live rehearsal at 1×–20× "
    "(admin, controller; also a team member of the source)",
    responses={409: {"description": "Not a rehearsal, not live, or a replay is running"}},
)
async def start_replay(
    body: ReplayIn,
    stream: ControllerStream,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
) -> dict[str, Any]:
    source = await authorize_stream(session, user, body.source_stream_id)
    replays: service.Replays = request.app.state.replays
    replay = await replays.start(session, stream, source, body.speed, user)

    async def _go() -> None:
        replays.kick()

    after_commit(session, _go)
    return service.view(replay)


@router.get(
    "/{stream_id}/replay",
    response_model=ReplayOut,
    summary="The rehearsal's latest replay and its progress, whichever server runs it (team)",
    responses={404: {"description": "No replay yet (`replay_not_found`)"}},
)
async def get_replay(stream: TeamStream, session: SessionDep) -> dict[str, Any]:
    return service.view(await service.latest_replay(session, stream.id))


@router.delete(
    "/{stream_id}/replay",
    response_model=ReplayOut,
    summary="Stop the replay, whichever server runs it (admin, controller)",
)
async def stop_replay(
    stream: ControllerStream, session: SessionDep, request: Request
) -> dict[str, Any]:
    replays: service.Replays = request.app.state.replays
    return service.view(await replays.stop(session, stream.id))


@router.get(
    "/{stream_id}/ingest-check",
    response_model=IngestCheckOut,
    summary="What an ingest key feeds: the stream's status and whether it is a rehearsal "
    "(X-Ingest-Key; `controlroom simulate` asks before it sends)",
    responses={401: {"description": "Missing or invalid ingest key"}},
)
async def ingest_check(
    stream_id: int,
    session: SessionDep,
    x_ingest_key: Annotated[str | None, Header(description="The stream's ingest key")] = None,
) -> IngestCheckOut:
    if not x_ingest_key or not await verify_ingest_key(session, stream_id, x_ingest_key):
        raise Unauthorized("invalid or revoked ingest key", code="ingest_key_invalid")
    stream = await session.get(Stream, stream_id)
    if stream is None:
        raise NotFound(f"stream {stream_id} not found", code="stream_not_found")
    return IngestCheckOut(
        stream_id=stream.id, status=str(stream.status), is_rehearsal=stream.is_rehearsal
    )
