"""Streams: create, update, list, read, and the lifecycle draft → scheduled → live → ended
→ archived. Every status change is a conditional UPDATE, so two racing requests cannot
both move the same stream (one of them gets the 409)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import Conflict, Forbidden, Unprocessable
from app.models import (
    ALLOWED_TRANSITIONS,
    GoLiveOverride,
    Role,
    Stream,
    StreamStatus,
    TeamMember,
    User,
)
from app.realtime.outbox import queue_event
from app.realtime.protocol import PUBLIC_ROLES
from app.schemas.streams import StreamCreate, StreamUpdate
from app.services.planning import ensure_plannable
from app.services.stream_rows import get_or_404


def model_values(
    model: BaseModel, *, only_set: bool = False, exclude: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The validated field values as Python objects (Decimal stays Decimal).

    `model_dump()` would apply the `Money` serializer and hand strings to the ORM."""
    names = model.model_fields_set if only_set else type(model).model_fields.keys()
    return {name: getattr(model, name) for name in names if name not in exclude}


FORCE_ROLES = frozenset({Role.admin, Role.controller})


async def create_stream(session: AsyncSession, data: StreamCreate, creator: User) -> Stream:
    stream = Stream(**model_values(data), created_by=creator.id)
    session.add(stream)
    await session.flush()
    if creator.role != Role.admin:
        # The creator joins the team, so they can go on planning it.
        session.add(TeamMember(stream_id=stream.id, user_id=creator.id, role=creator.role))
        await session.flush()
    return stream


async def update_stream(session: AsyncSession, stream: Stream, data: StreamUpdate) -> Stream:
    ensure_plannable(stream)
    changes = model_values(data, only_set=True)
    for name in ("title", "theme", "target_audience", "description"):
        if name in changes and changes[name] is None:
            if name == "title":
                raise Unprocessable("title cannot be cleared", code="title_required")
            changes[name] = ""
    if (
        "target_gmv" in changes
        and stream.campaign_id is not None
        and changes["target_gmv"] != stream.target_gmv
    ):
        raise Conflict(
            f"the GMV target comes from campaign {stream.campaign_id}'s split; "
            "change it with PUT /api/v1/campaigns/{id}/split",
            code="target_from_campaign",
            campaign_id=stream.campaign_id,
        )
    for name, value in changes.items():
        setattr(stream, name, value)
    await session.flush()
    return stream


async def list_streams(
    session: AsyncSession, user: User, status: StreamStatus | None = None
) -> list[Stream]:
    query = select(Stream).order_by(Stream.id.desc())
    if status is not None:
        query = query.where(Stream.status == status)
    if user.role != Role.admin:
        query = query.join(TeamMember, TeamMember.stream_id == Stream.id).where(
            TeamMember.user_id == user.id
        )
    return list((await session.scalars(query)).all())


async def get_stream(session: AsyncSession, stream_id: int) -> Stream:
    return await get_or_404(session, Stream, stream_id, "stream")


def _transition_error(stream: Stream, to: StreamStatus, hint: str = "") -> Conflict:
    allowed = sorted(ALLOWED_TRANSITIONS[stream.status])
    return Conflict(
        f"stream {stream.id} cannot go from {stream.status} to {to}{hint}",
        code="invalid_transition",
        status=stream.status.value,
        allowed=allowed,
    )


async def _move(
    session: AsyncSession,
    stream: Stream,
    to: StreamStatus,
    values: dict[str, Any] | None = None,
    hint: str = "",
) -> Stream:
    """Move the stream to `to` if it is still in its current status (atomic)."""
    current = stream.status
    if to not in ALLOWED_TRANSITIONS[current]:
        raise _transition_error(stream, to, hint)
    result = await session.execute(
        update(Stream)
        .where(Stream.id == stream.id, Stream.status == current)
        .values(status=to, updated_at=utcnow(), **(values or {}))
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        await session.refresh(stream)
        raise _transition_error(stream, to, " (it changed meanwhile)")
    await session.refresh(stream)
    return stream


async def schedule(
    session: AsyncSession, stream: Stream, scheduled_start: datetime | None
) -> Stream:
    start = scheduled_start or stream.scheduled_start
    if stream.status == StreamStatus.draft and start is None:
        raise Conflict(
            "a stream needs a scheduled_start before it is scheduled", code="no_start_time"
        )
    return await _move(session, stream, StreamStatus.scheduled, {"scheduled_start": start})


async def unschedule(session: AsyncSession, stream: Stream) -> Stream:
    return await _move(session, stream, StreamStatus.draft)


async def archive(session: AsyncSession, stream: Stream) -> Stream:
    return await _move(session, stream, StreamStatus.archived)


async def go_live(
    session: AsyncSession,
    stream: Stream,
    user: User,
    role: Role,
    force: bool,
    schedule_draft: bool = False,
) -> tuple[Stream, list[dict[str, Any]], bool]:
    """Start the stream if it is ready (or forced). Returns (stream, findings, forced).

    With `schedule_draft` a draft is scheduled first, in the same transaction: a refusal
    (not ready) rolls the scheduling back with it, so the stream stays a draft."""
    from app.services.readiness import readiness

    if force and role not in FORCE_ROLES:
        raise Forbidden("only an admin or controller may force a start", code="force_forbidden")
    if schedule_draft and stream.status == StreamStatus.draft:
        if role not in FORCE_ROLES:
            raise Forbidden(
                "only an admin or controller may schedule a stream", code="schedule_forbidden"
            )
        await _move(
            session,
            stream,
            StreamStatus.scheduled,
            {"scheduled_start": stream.scheduled_start or utcnow()},
        )
    if StreamStatus.live not in ALLOWED_TRANSITIONS[stream.status]:
        hint = (
            " (schedule it first: POST .../schedule, or go-live with schedule: true)"
            if stream.status == "draft"
            else ""
        )
        raise _transition_error(stream, StreamStatus.live, hint)
    findings = await readiness(session, stream)
    blockers = [f for f in findings if f["severity"] == "block"]
    if blockers and not force:
        raise Conflict(
            f"stream {stream.id} is not ready to go live: {len(blockers)} blocking finding(s)",
            code="not_ready",
            ready=False,
            findings=findings,
        )
    now = utcnow()
    await _move(session, stream, StreamStatus.live, {"started_at": now})
    forced = bool(blockers)
    if forced:
        session.add(GoLiveOverride(stream_id=stream.id, user_id=user.id, findings=blockers))
        await session.flush()
    queue_event(
        session,
        stream.id,
        "stream.status",
        {"status": "live", "started_at": now.isoformat(), "forced": forced},
    )
    return stream, findings, forced


async def end(session: AsyncSession, stream: Stream) -> Stream:
    now = utcnow()
    await _move(session, stream, StreamStatus.ended, {"ended_at": now})
    # The watch page hears it too: it says the stream is over and stops selling.
    queue_event(
        session,
        stream.id,
        "stream.status",
        {"status": "ended", "ended_at": now.isoformat()},
        PUBLIC_ROLES,
    )
    return stream


async def overrides(session: AsyncSession, stream_id: int) -> list[GoLiveOverride]:
    rows = await session.scalars(
        select(GoLiveOverride)
        .where(GoLiveOverride.stream_id == stream_id)
        .order_by(GoLiveOverride.id)
    )
    return list(rows.all())
