"""Contingency plans of a stream."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.deps import SessionDep, stream_access
from app.models import Role, Stream
from app.schemas.contingency import ContingencyIn, ContingencyOut, ContingencyUpdate
from app.services import contingency as contingency_service

router = APIRouter(prefix="/api/v1/streams/{stream_id}/contingency-plans", tags=["contingency"])

TeamStream = Annotated[Stream, Depends(stream_access())]
PlannerStream = Annotated[Stream, Depends(stream_access(Role.controller))]


@router.get("", response_model=list[ContingencyOut], summary="Contingency plans (its team, admin)")
async def list_plans(stream: TeamStream, session: SessionDep) -> object:
    return await contingency_service.plans(session, stream.id)


@router.post(
    "",
    response_model=ContingencyOut,
    status_code=201,
    summary="Add a contingency plan: scenario → steps and owner (admin, team controller)",
    description="422 `owner_not_on_team` when the owner is not on the stream's team.",
)
async def add_plan(body: ContingencyIn, stream: PlannerStream, session: SessionDep) -> object:
    return await contingency_service.add_plan(session, stream, body)


@router.patch(
    "/{plan_id}",
    response_model=ContingencyOut,
    summary="Change a contingency plan (admin, team controller)",
)
async def update_plan(
    plan_id: int, body: ContingencyUpdate, stream: PlannerStream, session: SessionDep
) -> object:
    return await contingency_service.update_plan(session, stream, plan_id, body)


@router.delete(
    "/{plan_id}", status_code=204, summary="Delete a contingency plan (admin, team controller)"
)
async def delete_plan(plan_id: int, stream: PlannerStream, session: SessionDep) -> Response:
    await contingency_service.delete_plan(session, stream, plan_id)
    return Response(status_code=204)
