"""The script / rundown (脚本) of a stream."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.deps import CurrentUser, SessionDep, authorize_stream, stream_access
from app.models import Role, Stream
from app.schemas.script import (
    ScriptCopyIn,
    ScriptIn,
    ScriptOut,
    SegmentIn,
    SegmentOut,
    SegmentUpdate,
)
from app.services import script as script_service

router = APIRouter(prefix="/api/v1/streams/{stream_id}/script", tags=["script"])

TeamStream = Annotated[Stream, Depends(stream_access())]
PlannerStream = Annotated[Stream, Depends(stream_access(Role.controller))]


@router.get(
    "",
    response_model=ScriptOut,
    summary="The rundown with its timing report (its team incl. host, admin)",
    description="Segments ordered by planned start, with `gaps` (time without a segment), "
    "`overlaps`, the total and span in seconds, and the difference to the planned duration.",
)
async def get_script(stream: TeamStream, session: SessionDep) -> object:
    return await script_service.script_report(session, stream)


@router.put(
    "",
    response_model=ScriptOut,
    summary="Replace the whole rundown (admin, team controller)",
    description="Segments without `start_offset_seconds` follow the previous one.",
)
async def replace_script(body: ScriptIn, stream: PlannerStream, session: SessionDep) -> object:
    await script_service.replace_script(session, stream, body.segments)
    return await script_service.script_report(session, stream)


@router.post(
    "/segments",
    response_model=SegmentOut,
    status_code=201,
    summary="Add a segment (admin, team controller)",
    description="Without `start_offset_seconds` the segment starts where the script ends.",
)
async def add_segment(body: SegmentIn, stream: PlannerStream, session: SessionDep) -> object:
    return script_service.segment_out(await script_service.add_segment(session, stream, body))


@router.patch(
    "/segments/{segment_id}",
    response_model=SegmentOut,
    summary="Change a segment (admin, team controller)",
)
async def update_segment(
    segment_id: int, body: SegmentUpdate, stream: PlannerStream, session: SessionDep
) -> object:
    seg = await script_service.update_segment(session, stream, segment_id, body)
    return script_service.segment_out(seg)


@router.delete(
    "/segments/{segment_id}",
    status_code=204,
    summary="Delete a segment (admin, team controller)",
)
async def delete_segment(segment_id: int, stream: PlannerStream, session: SessionDep) -> Response:
    await script_service.delete_segment(session, stream, segment_id)
    return Response(status_code=204)


@router.post(
    "/copy",
    response_model=ScriptOut,
    summary="Copy a past stream's script as the template (admin, team controller)",
    description="The caller must be on the source stream's team (or admin). 409 "
    "`script_not_empty` if this stream has a script and `replace` is false; 409 "
    "`source_script_empty` if the source has none.",
)
async def copy_script(
    body: ScriptCopyIn, stream: PlannerStream, session: SessionDep, user: CurrentUser
) -> object:
    source = await authorize_stream(session, user, body.source_stream_id)
    await script_service.copy_script(session, stream, source, body.replace)
    return await script_service.script_report(session, stream)
