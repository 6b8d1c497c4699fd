"""The technical checklist of a stream."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.deps import CurrentUser, SessionDep, stream_access
from app.models import CheckStatus, Role, Stream
from app.schemas.checklist import ChecklistCheckIn, ChecklistItemIn, ChecklistItemOut, ChecklistOut
from app.services import checklist as checklist_service

router = APIRouter(prefix="/api/v1/streams/{stream_id}/checklist", tags=["checklist"])

TeamStream = Annotated[Stream, Depends(stream_access())]
PlannerStream = Annotated[Stream, Depends(stream_access(Role.controller))]
CheckerStream = Annotated[Stream, Depends(stream_access(Role.controller, Role.host))]


@router.get("", response_model=ChecklistOut, summary="The technical checklist (its team, admin)")
async def get_checklist(stream: TeamStream, session: SessionDep) -> object:
    found = await checklist_service.items(session, stream.id)
    return {
        "complete": bool(found) and all(i.status == CheckStatus.ok for i in found),
        "items": found,
    }


@router.post(
    "",
    response_model=ChecklistItemOut,
    status_code=201,
    summary="Add a checklist item (admin, team controller)",
)
async def add_item(body: ChecklistItemIn, stream: PlannerStream, session: SessionDep) -> object:
    return await checklist_service.add_item(session, stream, body)


@router.post(
    "/defaults",
    response_model=list[ChecklistItemOut],
    summary="Add the standard items (camera, microphone, lights, networks, push test, backup "
    "device) that are missing (admin, team controller)",
)
async def add_defaults(stream: PlannerStream, session: SessionDep) -> object:
    return await checklist_service.add_defaults(session, stream)


@router.patch(
    "/{item_id}",
    response_model=ChecklistItemOut,
    summary="Record a check: status ok / failed / pending (admin, team controller or host)",
    description="Stores who checked and when; setting it back to pending clears both.",
)
async def check_item(
    item_id: int,
    body: ChecklistCheckIn,
    stream: CheckerStream,
    session: SessionDep,
    user: CurrentUser,
) -> object:
    return await checklist_service.check_item(session, stream, item_id, body, user)


@router.delete(
    "/{item_id}", status_code=204, summary="Remove a checklist item (admin, team controller)"
)
async def delete_item(item_id: int, stream: PlannerStream, session: SessionDep) -> Response:
    await checklist_service.delete_item(session, stream, item_id)
    return Response(status_code=204)
