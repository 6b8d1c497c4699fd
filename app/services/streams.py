"""Streams: create, list, read."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.models import Role, Stream, TeamMember, User
from app.schemas.streams import StreamCreate


async def create_stream(session: AsyncSession, data: StreamCreate, creator: User) -> Stream:
    stream = Stream(
        title=data.title,
        scheduled_start=data.scheduled_start,
        planned_minutes=data.planned_minutes,
        created_by=creator.id,
    )
    session.add(stream)
    await session.flush()
    if creator.role != Role.admin:
        # The creator joins the team, so they can go on planning it.
        session.add(TeamMember(stream_id=stream.id, user_id=creator.id, role=creator.role))
        await session.flush()
    return stream


async def list_streams(session: AsyncSession, user: User) -> list[Stream]:
    query = select(Stream).order_by(Stream.id.desc())
    if user.role != Role.admin:
        query = query.join(TeamMember, TeamMember.stream_id == Stream.id).where(
            TeamMember.user_id == user.id
        )
    return list((await session.scalars(query)).all())


async def get_stream(session: AsyncSession, stream_id: int) -> Stream:
    stream = await session.get(Stream, stream_id)
    if stream is None:
        raise NotFound(f"stream {stream_id} not found", code="stream_not_found")
    return stream
