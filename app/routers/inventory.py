"""The catalog-wide inventory check: every planned or live stream short of stock."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from app.deps import SessionDep, require_roles
from app.models import Role, User
from app.services import inventory as inventory_service

router = APIRouter(prefix="/api/v1/inventory", tags=["lineup"])

Planner = Annotated[User, Depends(require_roles(Role.controller, Role.analyst))]


@router.get(
    "/shortfalls",
    summary="Shortfall report across all draft, scheduled and live streams (admin, "
    "controller, analyst)",
    description="One entry per (stream, product) whose allotment — alone, or with streams "
    "planned at overlapping times — exceeds the warehouse stock: `stream_id`, "
    "`product_id`, `warehouse_stock`, `allotted`, `overlapping`, `total_allotted`, "
    "`own_shortfall`, `shortfall`.",
)
async def shortfalls(session: SessionDep, _: Planner) -> list[dict[str, Any]]:
    return await inventory_service.shortfall_report(session)
