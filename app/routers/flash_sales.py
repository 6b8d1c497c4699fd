"""Flash sales (秒杀): launched by the controller, bought through the order endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.deps import CurrentUser, SessionDep, UowDep, stream_access
from app.models import Role, Stream
from app.schemas.orders import FlashSaleCreate, FlashSaleOut
from app.services import flash_sales as flash_service

router = APIRouter(prefix="/api/v1/streams/{stream_id}/flash-sales", tags=["flash sales"])

Controller = Annotated[Stream, Depends(stream_access(Role.controller))]
TeamStream = Annotated[Stream, Depends(stream_access())]


@router.post(
    "",
    response_model=FlashSaleOut,
    status_code=201,
    summary="Launch a flash sale (admin, controller)",
    description=(
        "`quantity` units of a lineup product at `price`, at most `per_user_limit` per "
        "viewer, for `duration_seconds` from now or from `starts_at`. Ends on time or "
        "when sold out; `flash_sale.started` / `flash_sale.ended` events carry `ends_at`, "
        "`server_time`, `quantity` and `remaining` for the countdown. 409 "
        "`flash_sale_exists` (one per product at a time), `insufficient_stock`."
    ),
    responses={404: {"description": "`not_in_lineup`"}, 409: {"description": "see above"}},
)
async def create_flash_sale(
    body: FlashSaleCreate, stream: Controller, user: CurrentUser, uow: UowDep
) -> object:
    fs = await flash_service.create_flash_sale(uow, stream, body, user)
    return flash_service.to_out(fs)


@router.get("", response_model=list[FlashSaleOut], summary="The stream's flash sales (team)")
async def list_flash_sales(stream: TeamStream, session: SessionDep) -> object:
    return [
        flash_service.to_out(fs) for fs in await flash_service.list_flash_sales(session, stream.id)
    ]


@router.get("/{flash_id}", response_model=FlashSaleOut, summary="One flash sale (team)")
async def get_flash_sale(stream: TeamStream, flash_id: int, session: SessionDep) -> object:
    return flash_service.to_out(await flash_service.get_flash_sale(session, stream.id, flash_id))


@router.post(
    "/{flash_id}/stop",
    response_model=FlashSaleOut,
    summary="End a flash sale now (admin, controller)",
    responses={409: {"description": "`flash_sale_ended`"}},
)
async def stop_flash_sale(
    stream: Controller, flash_id: int, uow: UowDep, user: CurrentUser
) -> object:
    stopped = await flash_service.stop_flash_sale(uow, stream.id, flash_id, user)
    return flash_service.to_out(stopped)
