"""What a buyer asks of an order after placing it (cancel, change the address) and what
staff decide: an unpaid order is cancelled at once, the rest become order requests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import Conflict
from app.models import (
    Order,
    OrderRequest,
    OrderRequestKind,
    OrderRequestStatus,
    OrderStatus,
    User,
)
from app.realtime.outbox import queue_event
from app.services.access import Buyer
from app.services.orders import (
    HELD,
    STAFF_EVENT_ROLES,
    get_buyer_order,
    get_order,
    release_order,
)
from app.services.stream_rows import get_in_stream
from app.services.uow import UnitOfWork


async def cancel_order(
    uow: UnitOfWork, stream_id: int, order_id: int, buyer: Buyer, reason: str
) -> tuple[Order, OrderRequest | None]:
    """An unpaid order is cancelled at once; a paid one becomes a request for staff."""
    session = uow.session
    order = await get_buyer_order(session, stream_id, order_id, buyer)
    if order.status == OrderStatus.created:
        return await release_order(
            uow, order, expected=OrderStatus.created, to=OrderStatus.cancelled
        ), None
    if order.status == OrderStatus.paid:
        return order, await _open_request(session, order, OrderRequestKind.cancel, reason, None)
    if order.status == OrderStatus.cancelled:
        return order, None
    raise Conflict(f"a {order.status} order cannot be cancelled", code="order_not_cancellable")


async def request_address_change(
    session: AsyncSession,
    stream_id: int,
    order_id: int,
    buyer: Buyer,
    address: dict[str, str],
    reason: str,
) -> OrderRequest:
    order = await get_buyer_order(session, stream_id, order_id, buyer)
    if order.status not in HELD:
        raise Conflict(f"a {order.status} order has no address to change", code="order_not_open")
    return await _open_request(session, order, OrderRequestKind.address_change, reason, address)


async def _open_request(
    session: AsyncSession,
    order: Order,
    kind: OrderRequestKind,
    reason: str,
    address: dict[str, str] | None,
) -> OrderRequest:
    existing = await session.scalar(
        select(OrderRequest).where(
            OrderRequest.order_id == order.id,
            OrderRequest.kind == kind,
            OrderRequest.status == OrderRequestStatus.pending,
        )
    )
    if existing is not None:
        if kind == OrderRequestKind.address_change:
            existing.address = address
            existing.reason = reason
            await session.flush()
        return existing
    req = OrderRequest(
        stream_id=order.stream_id, order_id=order.id, kind=kind, reason=reason, address=address
    )
    session.add(req)
    await session.flush()
    queue_event(
        session,
        order.stream_id,
        "order_request.created",
        request_payload(req, order),
        roles=STAFF_EVENT_ROLES,
    )
    return req


def request_payload(req: OrderRequest, order: Order) -> dict[str, Any]:
    return {
        "request_id": req.id,
        "order_id": order.id,
        "kind": str(req.kind),
        "status": str(req.status),
        "reason": req.reason,
        "address": req.address,
        "viewer_id": order.viewer_id,
        "product_id": order.product_id,
        "order_status": str(order.status),
    }


async def list_requests(
    session: AsyncSession, stream_id: int, status: OrderRequestStatus | None = None
) -> list[OrderRequest]:
    query = select(OrderRequest).where(OrderRequest.stream_id == stream_id)
    if status is not None:
        query = query.where(OrderRequest.status == status)
    rows = await session.scalars(query.order_by(OrderRequest.id))
    return list(rows.all())


async def _decide(
    session: AsyncSession,
    stream_id: int,
    request_id: int,
    user: User,
    to: OrderRequestStatus,
    note: str,
) -> OrderRequest:
    result = await session.execute(
        update(OrderRequest)
        .where(
            OrderRequest.id == request_id,
            OrderRequest.stream_id == stream_id,
            OrderRequest.status == OrderRequestStatus.pending,
        )
        .values(status=to, decided_by=user.id, decided_at=utcnow(), note=note)
        .returning(OrderRequest.id)
        .execution_options(synchronize_session=False)
    )
    if result.one_or_none() is None:
        got = await get_in_stream(session, OrderRequest, stream_id, request_id, "order request")
        raise Conflict(f"this request is already {got.status}", code="order_request_decided")
    req = await session.get(OrderRequest, request_id, populate_existing=True)
    assert req is not None
    return req


async def approve_request(
    uow: UnitOfWork, stream_id: int, request_id: int, user: User, note: str = ""
) -> OrderRequest:
    """Approve: a cancellation cancels (unpaid) or refunds (paid) the order and gives its
    stock back; an address change writes the new address on the order."""
    session = uow.session
    req = await _decide(session, stream_id, request_id, user, OrderRequestStatus.approved, note)
    order = await get_order(session, stream_id, req.order_id)
    if req.kind == OrderRequestKind.cancel:
        if order.status == OrderStatus.paid:
            order = await release_order(
                uow, order, expected=OrderStatus.paid, to=OrderStatus.refunded
            )
        elif order.status == OrderStatus.created:
            order = await release_order(
                uow, order, expected=OrderStatus.created, to=OrderStatus.cancelled
            )
    else:
        if order.status not in HELD:
            raise Conflict(
                f"a {order.status} order has no address to change", code="order_not_open"
            )
        await session.execute(
            update(Order)
            .where(Order.id == order.id)
            .values(address=req.address, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        order = await get_order(session, stream_id, order.id)
    _announce(uow, req, order)
    return req


def _announce(uow: UnitOfWork, req: OrderRequest, order: Order) -> None:
    """Tell the staff consoles a request was decided."""
    uow.emit(req.stream_id, "order_request.updated", request_payload(req, order), STAFF_EVENT_ROLES)


async def reject_request(
    uow: UnitOfWork, stream_id: int, request_id: int, user: User, note: str = ""
) -> OrderRequest:
    session = uow.session
    req = await _decide(session, stream_id, request_id, user, OrderRequestStatus.rejected, note)
    order = await get_order(session, stream_id, req.order_id)
    _announce(uow, req, order)
    return req
