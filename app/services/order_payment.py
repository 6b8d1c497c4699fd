"""Paying orders: the pay step, and `order_paid` events of an ingest batch that name
one of our orders."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select

from app.db import utcnow
from app.errors import Conflict, Unprocessable
from app.models import (
    Order,
    OrderStatus,
)
from app.schemas.events import EventIn
from app.services.access import Buyer
from app.services.orders import (
    HELD,
    get_buyer_order,
    get_order,
    record,
    set_status,
)
from app.services.uow import UnitOfWork


async def pay_order(uow: UnitOfWork, stream_id: int, order_id: int, buyer: Buyer) -> Order:
    """created → paid. Paying a paid order again answers the same order."""
    session = uow.session
    order = await get_buyer_order(session, stream_id, order_id, buyer)
    if await set_status(
        session, order.id, OrderStatus.created, status=OrderStatus.paid, paid_at=utcnow()
    ):
        order = await get_order(session, stream_id, order_id)
        await record(uow, "order_paid", order)
        return order
    order = await get_order(session, stream_id, order_id)
    if order.status == OrderStatus.paid:
        return order
    raise Conflict(f"a {order.status} order cannot be paid", code="order_not_payable")


# The event id under which an order's payment is logged (see `record`): a connector
# that reports `order_paid` for an order placed through our API uses it.
ORDER_PAID_REF = re.compile(r"^order:([1-9][0-9]{0,17}):paid$")


@dataclass(frozen=True)
class IngestedPayments:
    external: list[EventIn]  # the batch minus payments of our orders: log and count these
    paid: int  # our orders marked paid by this batch
    duplicates: int  # payments of our orders that were paid already


async def pay_from_ingest(
    uow: UnitOfWork, stream_id: int, events: Sequence[EventIn]
) -> IngestedPayments:
    """`order_paid` events of an ingest batch that name one of this stream's orders by
    event id `order:<id>:paid` mark it paid, exactly as the watch-page pay step does
    (created → paid, logged and counted once under that id, with the order's own
    product, units and amount). Paying an order that was paid already (even if it was
    refunded since) is a duplicate. Any other `order_paid` is an external event,
    returned in `external` to be logged and counted like the rest of the batch; one
    naming an order id we do not have is logged as `external:order:<id>:paid`.

    A payment that contradicts the order (another buyer, product, quantity or amount;
    an order cancelled before it was paid) makes the whole batch invalid: 422 with the index
    and reason, nothing applied.
    """
    session = uow.session
    ours: dict[int, list[tuple[int, EventIn]]] = {}
    for i, ev in enumerate(events):
        match = ORDER_PAID_REF.match(ev.event_id or "") if ev.type == "order_paid" else None
        if match:
            ours.setdefault(int(match[1]), []).append((i, ev))
    if not ours:
        return IngestedPayments(list(events), 0, 0)
    orders = {
        o.id: o
        for o in await session.scalars(
            select(Order)
            .where(Order.stream_id == stream_id, Order.id.in_(list(ours)))
            .execution_options(populate_existing=True)
        )
    }
    errors: list[dict[str, Any]] = []
    for order_id, evs in ours.items():
        order = orders.get(order_id)
        if order is None:
            continue
        for i, ev in evs:
            reason = _payment_mismatch(order, ev)
            if reason:
                errors.append({"index": i, "reason": reason})
    if errors:
        raise Unprocessable(sorted(errors, key=lambda e: e["index"]), code="invalid_batch")
    taken = {i for order_id, evs in ours.items() if order_id in orders for i, _ in evs}
    duplicates = 0
    newly_paid: list[int] = []
    for order_id in sorted(orders):  # one lock order for concurrent batches
        duplicates += len(ours[order_id]) - 1
        if await set_status(
            session, order_id, OrderStatus.created, status=OrderStatus.paid, paid_at=utcnow()
        ):
            newly_paid.append(order_id)
            continue
        fresh = await get_order(session, stream_id, order_id)
        if fresh.paid_at is None:  # cancelled meanwhile, never paid
            raise Conflict(f"order {order_id} is {fresh.status}", code="order_not_payable")
        duplicates += 1
    # Logged once every order row is locked: the stream's log lock comes last.
    for order_id in newly_paid:
        order = await get_order(session, stream_id, order_id)
        await record(uow, "order_paid", order, ts=ours[order_id][0][1].ts)
    paid = len(newly_paid)
    # A reference to an order we do not have is logged under another id, so that it
    # cannot later swallow the payment of a real order that gets that id.
    unknown = {i for order_id, evs in ours.items() if order_id not in orders for i, _ in evs}
    external = [
        replace(ev, event_id=f"external:{ev.event_id}") if i in unknown else ev
        for i, ev in enumerate(events)
        if i not in taken
    ]
    return IngestedPayments(external, paid, duplicates)


def _payment_mismatch(order: Order, ev: EventIn) -> str | None:
    if order.status not in HELD and order.paid_at is None:
        return f"order {order.id} is {order.status}: it cannot be paid"
    if ev.user_id != order.viewer_id:
        return f"user_id does not match the buyer of order {order.id}"
    if ev.product_id is not None and ev.product_id != order.product_id:
        return f"product_id does not match order {order.id} (product {order.product_id})"
    if ev.quantity is not None and ev.quantity != order.quantity:
        return f"quantity does not match order {order.id} ({order.quantity})"
    if ev.amount is not None and ev.amount != order.amount:
        return f"amount does not match order {order.id} ({order.amount:.2f})"
    return None
