"""Orders: placed by viewers (viewer token) or a merchant backend (the stream's ingest
key); read and handled by staff. Order requests (cancel a paid order, change the
address) wait for the service team's decision."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response

from app.deps import CurrentBuyer, CurrentUser, SessionDep, SettingsDep, UowDep, stream_access
from app.models import OrderRequestStatus, OrderStatus, Role, Stream
from app.schemas.orders import (
    AddressChangeIn,
    CancelIn,
    CancelOut,
    DecisionIn,
    OrderCreate,
    OrderOut,
    OrderRequestOut,
)
from app.services import order_payment, order_placement, order_requests
from app.services import orders as orders_service

router = APIRouter(prefix="/api/v1/streams/{stream_id}", tags=["orders"])

OrderReader = Annotated[Stream, Depends(stream_access(Role.controller, Role.service, Role.analyst))]
RequestHandler = Annotated[Stream, Depends(stream_access(Role.controller, Role.service))]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        description="Unique per order attempt; a retry with the same key gets the same order",
    ),
]
CONFLICTS: dict[int | str, dict[str, Any]] = {
    409: {"description": "`sold_out`, `limit_exceeded`, `not_listed`, coupon or key problems"},
    401: {"description": "Missing/invalid viewer token or ingest key"},
    403: {"description": "A staff token, or a viewer token of another stream"},
}


@router.post(
    "/orders",
    response_model=OrderOut,
    status_code=201,
    summary="Place an order (viewer token, or ingest key with viewer_id)",
    description=(
        "Takes the units atomically (Redis Lua script in production, a conditional UPDATE "
        "in embedded mode). `Idempotency-Key` is required: the same key again answers the "
        "same order (header `Idempotent-Replayed: true`) and takes nothing twice. While a "
        "flash sale of the product runs, the order is a flash-sale order at its price "
        "and per-user limit. 409 codes: `sold_out`, `limit_exceeded`, `not_listed`, "
        "`idempotency_key_reused`, `coupon_*`."
    ),
    responses=CONFLICTS,
)
async def place_order(
    stream_id: int,
    body: OrderCreate,
    buyer: CurrentBuyer,
    key: IdempotencyKey,
    uow: UowDep,
    settings: SettingsDep,
    response: Response,
) -> object:
    placed = await order_placement.place_order(uow, settings, stream_id, buyer, body, key)
    if placed.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return placed.order


@router.get(
    "/orders",
    response_model=list[OrderOut],
    summary="The stream's orders, newest first (admin, controller, service, analyst)",
)
async def list_orders(
    stream: OrderReader,
    session: SessionDep,
    status: OrderStatus | None = None,
    viewer_id: Annotated[str | None, Query(max_length=128)] = None,
    product_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> object:
    return await orders_service.list_orders(
        session,
        stream.id,
        status=status,
        viewer_id=viewer_id,
        product_id=product_id,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/orders/{order_id}",
    response_model=OrderOut,
    summary="One order (its viewer, or the ingest key)",
)
async def get_order(
    stream_id: int, order_id: int, buyer: CurrentBuyer, session: SessionDep
) -> object:
    return await orders_service.get_buyer_order(session, stream_id, order_id, buyer)


@router.post(
    "/orders/{order_id}/pay",
    response_model=OrderOut,
    summary="Pay an order (its viewer, or the ingest key)",
    description="created → paid; paying a paid order again answers it unchanged. "
    "409 `order_not_payable` for a cancelled or refunded order.",
    responses=CONFLICTS,
)
async def pay_order(stream_id: int, order_id: int, buyer: CurrentBuyer, uow: UowDep) -> object:
    return await order_payment.pay_order(uow, stream_id, order_id, buyer)


@router.post(
    "/orders/{order_id}/cancel",
    response_model=CancelOut,
    summary="Cancel an order (unpaid: at once; paid: a request for the service team)",
    description="An unpaid order is cancelled and its units go back on sale. For a paid "
    "order a pending cancellation request is opened (`request` in the answer); staff "
    "approve it (refund, units back) or reject it.",
    responses=CONFLICTS,
)
async def cancel_order(
    stream_id: int,
    order_id: int,
    buyer: CurrentBuyer,
    uow: UowDep,
    body: CancelIn | None = None,
) -> object:
    order, request = await order_requests.cancel_order(
        uow, stream_id, order_id, buyer, body.reason if body else ""
    )
    return CancelOut(
        order=OrderOut.model_validate(order),
        request=OrderRequestOut.model_validate(request) if request else None,
    )


@router.post(
    "/orders/{order_id}/address",
    response_model=OrderRequestOut,
    status_code=202,
    summary="Ask to change the delivery address (a request for the service team)",
    responses=CONFLICTS,
)
async def request_address_change(
    stream_id: int, order_id: int, body: AddressChangeIn, buyer: CurrentBuyer, session: SessionDep
) -> object:
    return await order_requests.request_address_change(
        session, stream_id, order_id, buyer, body.address.model_dump(), body.reason
    )


@router.get(
    "/order-requests",
    response_model=list[OrderRequestOut],
    summary="Cancellation and address-change requests (admin, controller, service)",
)
async def list_requests(
    stream: RequestHandler, session: SessionDep, status: OrderRequestStatus | None = None
) -> object:
    return await order_requests.list_requests(session, stream.id, status)


@router.post(
    "/order-requests/{request_id}/approve",
    response_model=OrderRequestOut,
    summary="Approve a request: refund/cancel (stock back) or change the address",
    responses={409: {"description": "`order_request_decided`, `order_not_open`"}},
)
async def approve_request(
    stream: RequestHandler,
    request_id: int,
    uow: UowDep,
    user: CurrentUser,
    body: DecisionIn | None = None,
) -> object:
    note = body.note if body else ""
    return await order_requests.approve_request(uow, stream.id, request_id, user, note)


@router.post(
    "/order-requests/{request_id}/reject",
    response_model=OrderRequestOut,
    summary="Reject a request (the order stays as it is)",
    responses={409: {"description": "`order_request_decided`"}},
)
async def reject_request(
    stream: RequestHandler,
    request_id: int,
    uow: UowDep,
    user: CurrentUser,
    body: DecisionIn | None = None,
) -> object:
    note = body.note if body else ""
    return await order_requests.reject_request(uow, stream.id, request_id, user, note)
