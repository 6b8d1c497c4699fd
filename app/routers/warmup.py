"""Warm-up campaigns and reservations of a stream."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.deps import SessionDep, stream_access
from app.models import Role, Stream
from app.schemas.warmup import (
    RemindersSentIn,
    ReservationIn,
    ReservationOut,
    ReservationsOut,
    WarmupIn,
    WarmupOut,
    WarmupUpdate,
)
from app.services import warmup as warmup_service

router = APIRouter(prefix="/api/v1/streams/{stream_id}", tags=["warm-up"])

TeamStream = Annotated[Stream, Depends(stream_access())]
PlannerStream = Annotated[Stream, Depends(stream_access(Role.controller))]
DeskStream = Annotated[Stream, Depends(stream_access(Role.controller, Role.service))]


@router.get(
    "/warmups",
    response_model=list[WarmupOut],
    summary="Warm-up campaigns by publish time (its team, admin)",
)
async def list_warmups(stream: TeamStream, session: SessionDep) -> object:
    return await warmup_service.campaigns(session, stream.id)


@router.post(
    "/warmups",
    response_model=WarmupOut,
    status_code=201,
    summary="Plan a warm-up announcement on a channel (admin, team controller)",
)
async def add_warmup(body: WarmupIn, stream: PlannerStream, session: SessionDep) -> object:
    return await warmup_service.add_campaign(session, stream, body)


@router.patch(
    "/warmups/{warmup_id}",
    response_model=WarmupOut,
    summary="Change a warm-up campaign, e.g. mark it published (admin, team controller)",
)
async def update_warmup(
    warmup_id: int, body: WarmupUpdate, stream: PlannerStream, session: SessionDep
) -> object:
    return await warmup_service.update_campaign(session, stream, warmup_id, body)


@router.delete(
    "/warmups/{warmup_id}",
    status_code=204,
    summary="Delete a warm-up campaign (admin, team controller)",
)
async def delete_warmup(warmup_id: int, stream: PlannerStream, session: SessionDep) -> Response:
    await warmup_service.delete_campaign(session, stream, warmup_id)
    return Response(status_code=204)


@router.post(
    "/reservations",
    response_model=ReservationOut,
    status_code=201,
    summary="Record a viewer's reservation (预约) (admin, team controller or service)",
    description="201 for a new reservation; the same `viewer_ref` again answers 200 with the "
    "existing one. 409 `reservations_closed` once the stream is live or over.",
    responses={200: {"model": ReservationOut, "description": "Already reserved"}},
)
async def reserve(
    body: ReservationIn, stream: DeskStream, session: SessionDep, response: Response
) -> object:
    reservation, created = await warmup_service.reserve(session, stream, body)
    if not created:
        response.status_code = 200
    return reservation


@router.get(
    "/reservations",
    response_model=ReservationsOut,
    summary="Reservations with counts by channel (admin, team controller or service)",
)
async def list_reservations(stream: DeskStream, session: SessionDep) -> object:
    return await warmup_service.reservations(session, stream.id)


@router.get(
    "/reservations/reminders",
    response_model=list[ReservationOut],
    summary="The reminder list: reservations not reminded yet (admin, team controller or service)",
)
async def reminder_list(stream: DeskStream, session: SessionDep) -> object:
    return await warmup_service.reminder_list(session, stream.id)


@router.post(
    "/reservations/reminders/sent",
    summary="Mark reservations as reminded (admin, team controller or service)",
    description="422 `reservation_not_found` (nothing marked) if any id is not this "
    "stream's. Answers how many were newly marked.",
)
async def reminders_sent(
    body: RemindersSentIn, stream: DeskStream, session: SessionDep
) -> dict[str, int]:
    marked = await warmup_service.mark_reminded(session, stream, body.reservation_ids)
    return {"marked": marked}
