from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.deps import CurrentUser, SessionDep, require_roles, stream_access
from app.models import Role, Stream, User
from app.schemas.streams import StreamCreate, StreamOut
from app.schemas.users import TeamMemberIn, TeamMemberOut
from app.services import streams as streams_service
from app.services import team as team_service

router = APIRouter(prefix="/api/v1/streams", tags=["streams"])

Planner = Annotated[User, Depends(require_roles(Role.controller))]
TeamStream = Annotated[Stream, Depends(stream_access())]
AdminUser = Annotated[User, Depends(require_roles())]


@router.post(
    "", response_model=StreamOut, status_code=201, summary="Create a stream (admin, controller)"
)
async def create_stream(body: StreamCreate, session: SessionDep, user: Planner) -> object:
    return await streams_service.create_stream(session, body, user)


@router.get(
    "",
    response_model=list[StreamOut],
    summary="Streams the user is on (all for an admin), newest first",
)
async def list_streams(session: SessionDep, user: CurrentUser) -> object:
    return await streams_service.list_streams(session, user)


@router.get("/{stream_id}", response_model=StreamOut, summary="One stream (its team, admin)")
async def get_stream(stream: TeamStream) -> object:
    return stream


@router.get("/{stream_id}/team", response_model=list[TeamMemberOut], summary="The stream's team")
async def list_team(stream: TeamStream, session: SessionDep) -> object:
    return await team_service.list_members(session, stream.id)


@router.put(
    "/{stream_id}/team/{user_id}",
    response_model=TeamMemberOut,
    summary="Put a user on the stream's team with a role (admin)",
)
async def set_team_member(
    stream_id: int, user_id: int, body: TeamMemberIn, session: SessionDep, _: AdminUser
) -> object:
    await streams_service.get_stream(session, stream_id)
    member = await team_service.set_member(session, stream_id, user_id, body.role)
    return TeamMemberOut(stream_id=member.stream_id, user_id=member.user_id, role=member.role)


@router.delete(
    "/{stream_id}/team/{user_id}",
    status_code=204,
    summary="Take a user off the stream's team (admin)",
)
async def remove_team_member(
    stream_id: int, user_id: int, session: SessionDep, _: AdminUser
) -> Response:
    await streams_service.get_stream(session, stream_id)
    await team_service.remove_member(session, stream_id, user_id)
    return Response(status_code=204)
