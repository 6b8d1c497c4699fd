"""The public storefront of a stream, read by the viewers' watch page (no login)."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import SessionDep
from app.schemas.storefront import StorefrontOut
from app.services import storefront as storefront_service

router = APIRouter(prefix="/api/v1/streams", tags=["watch page"])


@router.get(
    "/{stream_id}/storefront",
    response_model=StorefrontOut,
    summary="What viewers see on sale: listed products with live price and stock (public)",
    description=(
        "No login: this is what the watch page shows everyone. Only products that are "
        "listed (上架), the one being explained first; `stock_left` is allotted stock minus "
        "units held by orders that are not cancelled. A draft stream is not public (404)."
    ),
    responses={404: {"description": "No such stream, or still a draft"}},
)
async def get_storefront(stream_id: int, session: SessionDep) -> object:
    return await storefront_service.storefront(session, stream_id)
