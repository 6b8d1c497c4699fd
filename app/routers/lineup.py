"""The lineup (排品) of a stream: add, change, remove, reorder; inventory check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from app.deps import CurrentUser, SessionDep, stream_access
from app.models import Role, Stream
from app.schemas.common import Schema
from app.schemas.lineup import LineupIn, LineupOrderIn, LineupOut, LineupUpdate
from app.services import inventory as inventory_service
from app.services import lineup as lineup_service

router = APIRouter(prefix="/api/v1/streams/{stream_id}", tags=["lineup"])

TeamStream = Annotated[Stream, Depends(stream_access())]
PlannerStream = Annotated[Stream, Depends(stream_access(Role.controller))]


class InventoryOut(Schema):
    stream_id: int
    shortfalls: int = Field(description="Lineup products short of warehouse stock")
    items: list[dict[str, Any]] = Field(
        description="Per product: warehouse_stock, allotted, overlapping streams "
        "[{stream_id, title, allotted}], total_allotted, own_shortfall, shortfall"
    )


@router.get(
    "/lineup",
    response_model=list[LineupOut],
    summary="The lineup in explanation order (its team, admin)",
)
async def list_lineup(stream: TeamStream, session: SessionDep) -> object:
    return await lineup_service.list_items(session, stream.id)


@router.post(
    "/lineup",
    response_model=LineupOut,
    status_code=201,
    summary="Add a product to the lineup (admin, team controller)",
    description="`position` inserts at that place (later products move down); default is "
    "last. 409 `product_ineligible` (reason `qc_failed` or `unlicensed`) for a product that "
    "failed QC or is 三无; 409 `already_in_lineup`; 404 `product_not_found`. Allotting more "
    "than the warehouse holds is allowed here and reported by the readiness check.",
)
async def add_to_lineup(body: LineupIn, stream: PlannerStream, session: SessionDep) -> object:
    return await lineup_service.add_item(session, stream, body)


@router.put(
    "/lineup/order",
    response_model=list[LineupOut],
    summary="Reorder the whole lineup in one call (admin, team controller)",
    description="`product_ids` must name every lineup product exactly once; otherwise 422 "
    "`bad_order` with `missing`, `unknown` and `duplicates`, and nothing changes.",
)
async def reorder_lineup(body: LineupOrderIn, stream: PlannerStream, session: SessionDep) -> object:
    return await lineup_service.reorder(session, stream, body.product_ids)


@router.patch(
    "/lineup/{product_id}",
    response_model=LineupOut,
    summary="Change price, stock or offers of a lineup product (admin, team controller)",
    description="While the stream is live the allotted stock changes only through the live "
    "stock adjustment (409 `stream_live`); a live price change is written to the action log "
    "(`price`) and the product's price history.",
)
async def update_lineup_item(
    product_id: int,
    body: LineupUpdate,
    stream: PlannerStream,
    session: SessionDep,
    user: CurrentUser,
) -> object:
    return await lineup_service.update_item(session, stream, product_id, body, user)


@router.delete(
    "/lineup/{product_id}",
    status_code=204,
    summary="Take a never-listed product out of the lineup (admin, team controller)",
)
async def remove_from_lineup(
    product_id: int, stream: PlannerStream, session: SessionDep
) -> Response:
    await lineup_service.remove_item(session, stream, product_id)
    return Response(status_code=204)


@router.get(
    "/inventory",
    response_model=InventoryOut,
    summary="Inventory check: allotted vs warehouse stock (its team, admin)",
    description="Also counts the allotments of other draft, scheduled or live streams whose "
    "time window overlaps this one (start + planned duration, 120 min if unset).",
)
async def stream_inventory(stream: TeamStream, session: SessionDep) -> object:
    items = await inventory_service.stream_inventory(session, stream)
    return {
        "stream_id": stream.id,
        "shortfalls": sum(1 for i in items if i["shortfall"] > 0),
        "items": items,
    }
