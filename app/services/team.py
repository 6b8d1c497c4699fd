"""Team membership per stream (user × stream × role)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.models import Role, TeamMember, User
from app.schemas.users import TeamMemberOut
from app.services.users import get_user


async def set_member(session: AsyncSession, stream_id: int, user_id: int, role: Role) -> TeamMember:
    user = await get_user(session, user_id)
    if not user.is_active:
        raise NotFound(f"user {user_id} is disabled", code="user_disabled")
    member = await session.scalar(
        select(TeamMember).where(TeamMember.stream_id == stream_id, TeamMember.user_id == user_id)
    )
    if member is None:
        member = TeamMember(stream_id=stream_id, user_id=user_id, role=role)
        session.add(member)
    else:
        member.role = role
    await session.flush()
    return member


async def remove_member(session: AsyncSession, stream_id: int, user_id: int) -> None:
    member = await session.scalar(
        select(TeamMember).where(TeamMember.stream_id == stream_id, TeamMember.user_id == user_id)
    )
    if member is None:
        raise NotFound(f"user {user_id} is not on stream {stream_id}'s team", code="not_on_team")
    await session.delete(member)
    await session.flush()


async def list_members(session: AsyncSession, stream_id: int) -> list[TeamMemberOut]:
    rows = await session.execute(
        select(TeamMember, User)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.stream_id == stream_id)
        .order_by(TeamMember.id)
    )
    return [
        TeamMemberOut(
            stream_id=m.stream_id,
            user_id=m.user_id,
            role=m.role,
            username=u.username,
            display_name=u.display_name,
        )
        for m, u in rows.all()
    ]
