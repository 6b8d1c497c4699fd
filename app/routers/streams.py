"""Streams: planning fields, team, lifecycle, readiness, go-live and end."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from app.deps import CurrentUser, SessionDep, require_roles, stream_access, stream_role
from app.i18n import lang_of, localize_findings
from app.models import Role, Stream, StreamStatus, User
from app.schemas.common import Schema
from app.schemas.streams import (
    GoLiveIn,
    GoLiveOut,
    ReadinessOut,
    ScheduleIn,
    StreamCreate,
    StreamOut,
    StreamUpdate,
)
from app.schemas.users import TeamMemberIn, TeamMemberOut
from app.services import readiness as readiness_service
from app.services import streams as streams_service
from app.services import team as team_service

router = APIRouter(prefix="/api/v1/streams", tags=["streams"])

Planner = Annotated[User, Depends(require_roles(Role.controller))]
TeamStream = Annotated[Stream, Depends(stream_access())]
PlannerStream = Annotated[Stream, Depends(stream_access(Role.controller))]
StarterStream = Annotated[Stream, Depends(stream_access(Role.controller, Role.host))]
ReviewerStream = Annotated[Stream, Depends(stream_access(Role.controller, Role.analyst))]


class OverrideOut(Schema):
    id: int
    stream_id: int
    user_id: int | None
    findings: list[dict[str, Any]] = Field(description="The blocking findings overridden")
    created_at: datetime


@router.post(
    "",
    response_model=StreamOut,
    status_code=201,
    summary="Create a stream (admin, controller)",
    description="Creates a `draft` stream with its goals, positioning and targets. A "
    "controller who creates it joins its team as controller.",
)
async def create_stream(body: StreamCreate, session: SessionDep, user: Planner) -> object:
    return await streams_service.create_stream(session, body, user)


@router.get(
    "",
    response_model=list[StreamOut],
    summary="Streams the user is on (all for an admin), newest first",
)
async def list_streams(
    session: SessionDep, user: CurrentUser, status: StreamStatus | None = None
) -> object:
    return await streams_service.list_streams(session, user, status)


@router.get("/{stream_id}", response_model=StreamOut, summary="One stream (its team, admin)")
async def get_stream(stream: TeamStream) -> object:
    return stream


@router.patch(
    "/{stream_id}",
    response_model=StreamOut,
    summary="Update goals, positioning, schedule and targets (admin, team controller)",
    description="Only the fields sent change; `null` clears an optional field. A stream "
    "whose GMV target comes from a campaign split answers 409 `target_from_campaign` to a "
    "new `target_gmv`. Ended and archived streams answer 409 `stream_closed`.",
)
async def update_stream(body: StreamUpdate, stream: PlannerStream, session: SessionDep) -> object:
    return await streams_service.update_stream(session, stream, body)


@router.post(
    "/{stream_id}/schedule",
    response_model=StreamOut,
    summary="draft → scheduled (admin, team controller)",
    description="Needs a `scheduled_start` (in the body or already on the stream); "
    "409 `invalid_transition` from any status but draft.",
)
async def schedule_stream(
    stream: PlannerStream, session: SessionDep, body: ScheduleIn | None = None
) -> object:
    return await streams_service.schedule(session, stream, body.scheduled_start if body else None)


@router.post(
    "/{stream_id}/unschedule",
    response_model=StreamOut,
    summary="scheduled → draft (admin, team controller)",
)
async def unschedule_stream(stream: PlannerStream, session: SessionDep) -> object:
    return await streams_service.unschedule(session, stream)


@router.post(
    "/{stream_id}/archive",
    response_model=StreamOut,
    summary="ended → archived (admin, team controller)",
)
async def archive_stream(stream: PlannerStream, session: SessionDep) -> object:
    return await streams_service.archive(session, stream)


@router.get(
    "/{stream_id}/readiness",
    response_model=ReadinessOut,
    summary="Is the stream ready to go live? (its team, admin)",
    description='`ready` is true when no finding has severity "block". Blockers: '
    "`checklist_incomplete`, `stock_shortfall`, `stock_shortfall_overlap`, `lineup_empty`, "
    "`no_host`, `product_ineligible`. Warnings: `script_missing`, `script_gap`, "
    "`script_overlap`, `script_duration_mismatch`, `script_product_not_in_lineup`, "
    "`no_contingency_plan`, `no_warmup`, `qc_pending`, `flash_allotment_exceeds_stock`.",
)
async def get_readiness(stream: TeamStream, session: SessionDep, request: Request) -> object:
    findings = await readiness_service.readiness(session, stream)
    lang = lang_of(request.headers.get("accept-language"))
    return {
        "ready": not any(f["severity"] == "block" for f in findings),
        "findings": localize_findings(findings, lang),
    }


@router.post(
    "/{stream_id}/go-live",
    response_model=GoLiveOut,
    summary="scheduled → live (admin, team controller or host)",
    description="With `schedule: true` a draft is scheduled and started in one step (admin "
    "or controller; a refusal leaves it a draft). Runs the readiness check. With blocking "
    "findings it answers 409 "
    '`{"code": "not_ready", "ready": false, "findings": [...]}` unless `force` is true; '
    "only an admin or controller may force (403 `force_forbidden` otherwise), and a forced "
    "start is logged (see `GET .../go-live-overrides`). Sets `started_at` and announces "
    "`stream.status` to the consoles.",
)
async def go_live(
    stream: StarterStream,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    body: GoLiveIn | None = None,
) -> object:
    role = await stream_role(session, user, stream.id)
    assert role is not None  # stream_access let the user through
    stream, findings, forced = await streams_service.go_live(
        session, stream, user, role, bool(body and body.force), bool(body and body.schedule)
    )
    return GoLiveOut.model_validate(
        {
            **StreamOut.model_validate(stream).model_dump(),
            "forced": forced,
            "findings": localize_findings(
                findings, lang_of(request.headers.get("accept-language"))
            ),
        }
    )


@router.post(
    "/{stream_id}/end",
    response_model=StreamOut,
    summary="live → ended (admin, team controller or host)",
    description="Sets `ended_at` and announces `stream.status`; 409 unless live.",
)
async def end_stream(stream: StarterStream, session: SessionDep) -> object:
    return await streams_service.end(session, stream)


@router.get(
    "/{stream_id}/go-live-overrides",
    response_model=list[OverrideOut],
    summary="Forced starts of the stream: who, when, which findings (admin, controller, analyst)",
)
async def list_overrides(stream: ReviewerStream, session: SessionDep) -> object:
    return await streams_service.overrides(session, stream.id)


@router.get("/{stream_id}/team", response_model=list[TeamMemberOut], summary="The stream's team")
async def list_team(stream: TeamStream, session: SessionDep) -> object:
    return await team_service.list_members(session, stream.id)


@router.put(
    "/{stream_id}/team/{user_id}",
    response_model=TeamMemberOut,
    summary="Put a user on the stream's team with a role (admin, team controller)",
    description="Adds the user or changes their role on this team. The user's open "
    "consoles of this stream are re-checked within seconds (4403 when the new role may "
    "not see them).",
)
async def set_team_member(
    stream: PlannerStream, user_id: int, body: TeamMemberIn, session: SessionDep
) -> object:
    stream_id = stream.id
    member = await team_service.set_member(session, stream_id, user_id, Role(body.role))
    return TeamMemberOut(stream_id=member.stream_id, user_id=member.user_id, role=member.role)


@router.delete(
    "/{stream_id}/team/{user_id}",
    status_code=204,
    summary="Take a user off the stream's team (admin, team controller)",
)
async def remove_team_member(stream: PlannerStream, user_id: int, session: SessionDep) -> Response:
    await team_service.remove_member(session, stream.id, user_id)
    return Response(status_code=204)
