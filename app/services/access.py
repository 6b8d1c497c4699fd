"""Who may act: a user's role on a stream, the stream if the role allows, a buyer.

Service-level rules (no web code): the request dependencies in app/deps.py and the
services that check a second stream (a campaign's parts) both call these.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Forbidden, NotFound
from app.models import Role, Stream, StreamStatus, TeamMember, User
from app.services.stream_rows import get_or_404


async def stream_role(session: AsyncSession, user: User, stream_id: int) -> Role | None:
    """The user's role on this stream: admin everywhere, else the team role or None."""
    if user.role == Role.admin:
        return Role.admin
    role = await session.scalar(
        select(TeamMember.role).where(
            TeamMember.stream_id == stream_id, TeamMember.user_id == user.id
        )
    )
    return role


async def authorize_stream(
    session: AsyncSession, user: User, stream_id: int, roles: frozenset[Role] | None = None
) -> Stream:
    """Load the stream and check the user's role on it (None = any team member)."""
    stream = await get_or_404(session, Stream, stream_id, "stream")
    role = await stream_role(session, user, stream_id)
    if role is None:
        raise Forbidden("you are not on this stream's team", code="not_on_team")
    if roles is not None and role not in roles and role != Role.admin:
        raise Forbidden(f"role '{role}' may not do this on this stream", code="role_forbidden")
    return stream


@dataclass(frozen=True)
class Buyer:
    """Who places or manages an order: a viewer (own orders) or the stream's ingest key
    (a merchant backend acting for any viewer of the stream)."""

    viewer_id: str | None  # None for the ingest key until the body names the buyer
    source: str  # "viewer" | "ingest"

    @property
    def is_ingest(self) -> bool:
        return self.source == "ingest"


async def public_stream(session: AsyncSession, stream_id: int) -> Stream:
    """The stream as the public (watch page, storefront) may see it: 404
    `stream_not_found` for a draft, as for a stream that does not exist."""
    stream = await session.get(Stream, stream_id)
    if stream is None or stream.status == StreamStatus.draft:
        raise NotFound(f"stream {stream_id} not found", code="stream_not_found")
    return stream
