"""The order book: an order's record on the live path, reading, pricing and writing an
order row, taking and giving back its units, and the database's truth for the stock
book. The workflows are beside it: placing (order_placement.py, with group commit in
order_groups.py), paying (order_payment.py) and buyers' requests (order_requests.py)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import utcnow
from app.errors import Conflict, NotFound
from app.models import (
    Coupon,
    FlashSale,
    FlashSaleStatus,
    LineupItem,
    ListingStatus,
    Order,
    OrderStatus,
)
from app.realtime.outbox import after_commit
from app.realtime.ports import Mirror
from app.schemas.common import format_money
from app.schemas.events import EventIn
from app.schemas.orders import OrderCreate
from app.services import coupons as coupons_service
from app.services import flash_sales, offers
from app.services.access import Buyer
from app.services.ingest import record_events
from app.services.stream_rows import get_in_stream
from app.services.uow import UnitOfWork

HELD = (OrderStatus.created, OrderStatus.paid)  # statuses whose units are taken


STAFF_EVENT_ROLES = frozenset({"admin", "controller", "service", "analyst"})


ABANDONED_AFTER_MS = 30_000  # an in-flight entry this old belongs to a dead request


def sold_out(detail: str = "sold out") -> Conflict:
    return Conflict(detail, code="sold_out")


def not_listed(product_id: int) -> Conflict:
    return Conflict(f"product {product_id} is not on sale in this stream", code="not_listed")


def limit_exceeded(limit: int) -> Conflict:
    return Conflict(f"at most {limit} units per viewer", code="limit_exceeded", limit=limit)


def now_ms() -> int:
    return int(time.time() * 1000)


def fingerprint(viewer_id: str, data: OrderCreate) -> str:
    return f"{data.product_id}:{data.quantity}:{viewer_id}"


def check_same(order: Order, viewer_id: str, data: OrderCreate) -> None:
    if (order.product_id, order.quantity, order.viewer_id) != (
        data.product_id,
        data.quantity,
        viewer_id,
    ):
        raise Conflict(
            "this Idempotency-Key was already used for another order",
            code="idempotency_key_reused",
            order_id=order.id,
        )


async def order_unit_price(
    session: AsyncSession, stream_id: int, product_id: int, flash_id: int | None
) -> Decimal:
    """The flash sale's price, or the item's live price (409 `not_listed` if it is gone)."""
    if flash_id is not None:
        price = await session.scalar(select(FlashSale.price).where(FlashSale.id == flash_id))
    else:
        price = await session.scalar(
            select(LineupItem.live_price).where(
                LineupItem.stream_id == stream_id, LineupItem.product_id == product_id
            )
        )
    if price is None:
        raise not_listed(product_id)
    return price


async def insert_order(
    session: AsyncSession,
    stream_id: int,
    viewer_id: str,
    data: OrderCreate,
    key: str,
    buyer: Buyer,
    unit_price: Decimal,
    flash_id: int | None,
) -> tuple[Order, offers.Terms]:
    """Price the order (app/services/offers.py: tiers, the item's coupon, a claimed
    coupon) and write it. Its gift is attached once its units are taken (`attach_gift`:
    the item's row is locked after the flash sale's, as in every path)."""
    terms = await offers.load_terms(session, stream_id, data.product_id)
    if terms is None:
        raise not_listed(data.product_id)
    priced = offers.price(terms, unit_price, data.quantity, flash=flash_id is not None)
    if flash_id is not None:
        priced.live_price = unit_price  # the flash sale's price is this order's live price
    subtotal = unit_price * data.quantity - priced.discount
    coupon_id, claim_id = await redeem_coupon(session, stream_id, viewer_id, data, subtotal, priced)
    order = new_order(stream_id, viewer_id, data, key, buyer, unit_price, flash_id, priced=priced)
    order.coupon_id = coupon_id
    session.add(order)
    await session.flush()
    if claim_id is not None:
        await coupons_service.mark_used(session, claim_id, order.id)
    return order, terms


async def redeem_coupon(
    session: AsyncSession,
    stream_id: int,
    viewer_id: str,
    data: OrderCreate,
    subtotal: Decimal,
    priced: offers.Priced,
) -> tuple[int | None, int | None]:
    """The order's coupon (the chosen one, or the best claimed one when asked) prepared
    for redemption, its discount added to `priced`: (coupon id, claim id), or Nones."""
    coupon_id = data.coupon_id
    if coupon_id is None and data.best_coupon:
        coupon_id = await offers.best_claim(
            session, stream_id, viewer_id, data.product_id, subtotal
        )
    if coupon_id is None:
        return None, None
    claim_id, off = await coupons_service.prepare_redemption(
        session, stream_id, coupon_id, viewer_id, data.product_id, subtotal
    )
    coupon = await session.get(Coupon, coupon_id)
    assert coupon is not None
    priced.discounts.append(
        {"kind": "coupon", "label": offers.coupon_label(coupon), "amount": format_money(off)}
    )
    return coupon_id, claim_id


async def attach_gift(session: AsyncSession, order: Order, terms: offers.Terms) -> None:
    gift, units = await offers.take_gift(session, terms, order.quantity)
    if gift is not None:
        order.gift, order.gift_units = gift, units
        await session.flush()


def new_order(
    stream_id: int,
    viewer_id: str,
    data: OrderCreate,
    key: str,
    buyer: Buyer,
    unit_price: Decimal,
    flash_id: int | None,
    *,
    priced: offers.Priced | None = None,
) -> Order:
    discount = priced.discount if priced is not None else Decimal("0.00")
    subtotal = unit_price * data.quantity
    discount = min(discount, subtotal)
    return Order(
        stream_id=stream_id,
        product_id=data.product_id,
        viewer_id=viewer_id,
        quantity=data.quantity,
        unit_price=unit_price,
        discount=discount,
        amount=subtotal - discount,
        status=OrderStatus.created,
        idempotency_key=key,
        flash_sale_id=flash_id,
        coupon_id=data.coupon_id,
        address=data.address.model_dump() if data.address else None,
        source=buyer.source,
        list_price=priced.list_price if priced is not None else None,
        live_price=priced.live_price if priced is not None else None,
        discounts=priced.discounts if priced is not None else None,
        created_at=utcnow(),
    )


def per_viewer_limit(item_limit: int | None, settings: Settings) -> int:
    """The units one viewer may hold at the live price: the lineup item's own limit, or
    the ORDER_UNITS_PER_VIEWER setting when it has none (0 = no limit)."""
    return settings.order_units_per_viewer if item_limit is None else item_limit


async def take_lineup_units(
    session: AsyncSession, stream_id: int, product_id: int, qty: int
) -> Row[Decimal, int, int, int | None] | None:
    result = await session.execute(
        update(LineupItem)
        .where(
            LineupItem.stream_id == stream_id,
            LineupItem.product_id == product_id,
            LineupItem.status == ListingStatus.listed,
            LineupItem.sold_units + qty <= LineupItem.allotted_stock,
        )
        .values(sold_units=LineupItem.sold_units + qty)
        .returning(
            LineupItem.live_price,
            LineupItem.allotted_stock,
            LineupItem.sold_units,
            LineupItem.per_viewer_limit,
        )
        .execution_options(synchronize_session=False)
    )
    return result.one_or_none()


async def refusal(session: AsyncSession, stream_id: int, product_id: int) -> Conflict:
    status = await session.scalar(
        select(LineupItem.status).where(
            LineupItem.stream_id == stream_id, LineupItem.product_id == product_id
        )
    )
    return not_listed(product_id) if status != ListingStatus.listed else sold_out()


async def order_by_key(session: AsyncSession, stream_id: int, key: str) -> Order | None:
    return await session.scalar(
        select(Order)
        .where(Order.stream_id == stream_id, Order.idempotency_key == key)
        .execution_options(populate_existing=True)
    )


async def load_mirror(
    session: AsyncSession, settings: Settings, stream_id: int, product_id: int
) -> Mirror:
    """The database's truth for a lineup item's stock mirror (app/realtime/ports.py)."""
    item = await session.scalar(
        select(LineupItem).where(
            LineupItem.stream_id == stream_id, LineupItem.product_id == product_id
        )
    )
    if item is None:
        raise not_listed(product_id)
    held = (
        select(Order.viewer_id, Order.flash_sale_id, func.sum(Order.quantity))
        .where(
            Order.stream_id == stream_id,
            Order.product_id == product_id,
            Order.status.in_(HELD),
        )
        .group_by(Order.viewer_id, Order.flash_sale_id)
    )
    flash = await session.scalar(
        select(FlashSale).where(
            FlashSale.stream_id == stream_id,
            FlashSale.product_id == product_id,
            FlashSale.status == FlashSaleStatus.active,
        )
    )
    bought: dict[str, int] = {}
    for viewer_id, order_flash_id, units in (await session.execute(held)).all():
        if order_flash_id is None:
            bought[viewer_id] = int(units)
        elif flash is not None and order_flash_id == flash.id:
            bought[f"f:{flash.id}:{viewer_id}"] = int(units)
    mirror = Mirror(
        stock=item.allotted_stock - item.sold_units,
        allotted=item.allotted_stock,
        listed=item.status == ListingStatus.listed,
        limit=per_viewer_limit(item.per_viewer_limit, settings),
        bought=bought,
    )
    if flash is not None:
        mirror = replace(
            mirror,
            flash_id=flash.id,
            flash_left=flash.quantity - flash.sold,
            flash_limit=flash.per_user_limit,
            flash_ends_ms=int(flash.ends_at.timestamp() * 1000),
        )
    return mirror


async def record(uow: UnitOfWork, kind: str, order: Order, ts: datetime | None = None) -> None:
    """Feed an order transition to the live path (durable event log + live counters:
    orders, paid_orders, units_sold, gmv, stock_left), in this transaction; counted once
    it commits. The event id names the order, so a connector reporting the same order
    (e.g. `order_paid` with event_id `order:<id>:paid`) is not counted twice."""
    events = [_event(kind, order, ts)]
    if kind == "order_refunded":
        # A refund puts the units back on sale too: the counters' stock held drops.
        events.append(
            EventIn(
                "order_cancelled",
                order.viewer_id,
                event_id=f"order:{order.id}:cancelled",
                product_id=order.product_id,
                quantity=order.quantity,
            )
        )
    await record_events(uow, order.stream_id, events)


async def record_many(uow: UnitOfWork, kind: str, orders: Sequence[Order]) -> None:
    """`record` for several orders of one stream at once (one write of the event log)."""
    if not orders:
        return
    assert kind != "order_refunded"  # that one records two events per order (`record`)
    await record_events(uow, orders[0].stream_id, [_event(kind, o) for o in orders])


def _event(kind: str, order: Order, ts: datetime | None = None) -> EventIn:
    return EventIn(
        kind,
        order.viewer_id,
        event_id=f"order:{order.id}:{kind.removeprefix('order_')}",
        ts=ts or utcnow(),
        product_id=order.product_id,
        quantity=order.quantity,
        amount=order.amount,
    )


async def get_order(session: AsyncSession, stream_id: int, order_id: int) -> Order:
    return await get_in_stream(session, Order, stream_id, order_id, "order", fresh=True)


async def get_buyer_order(
    session: AsyncSession, stream_id: int, order_id: int, buyer: Buyer
) -> Order:
    """An order the buyer may act on: a viewer only their own, the ingest key any."""
    order = await get_order(session, stream_id, order_id)
    if not buyer.is_ingest and order.viewer_id != buyer.viewer_id:
        raise NotFound(f"order {order_id} not found", code="order_not_found")
    return order


async def list_orders(
    session: AsyncSession,
    stream_id: int,
    *,
    status: OrderStatus | None = None,
    viewer_id: str | None = None,
    product_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Order]:
    query = select(Order).where(Order.stream_id == stream_id)
    if status is not None:
        query = query.where(Order.status == status)
    if viewer_id is not None:
        query = query.where(Order.viewer_id == viewer_id)
    if product_id is not None:
        query = query.where(Order.product_id == product_id)
    rows = await session.scalars(query.order_by(Order.id.desc()).limit(limit).offset(offset))
    return list(rows.all())


async def set_status(
    session: AsyncSession, order_id: int, expected: OrderStatus, **values: Any
) -> bool:
    result = await session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == expected)
        .values(**values, updated_at=utcnow())
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    return result.one_or_none() is not None


async def release_order(
    uow: UnitOfWork, order: Order, *, expected: OrderStatus, to: OrderStatus
) -> Order:
    """Cancel (or refund) an order and give its units back: database now, the stock
    book after commit. The status change is conditional, so two cancellations give back once.
    A refund puts the units back on sale only where the lineup item's return policy
    says so (`restock_on_return`); an unpaid cancellation always does."""
    session = uow.session
    if not await set_status(session, order.id, expected, status=to, cancelled_at=utcnow()):
        fresh = await get_order(session, order.stream_id, order.id)
        raise Conflict(
            f"the order is {fresh.status}", code="order_changed", status=str(fresh.status)
        )
    if to == OrderStatus.refunded and not await restocks(session, order):
        fresh = await get_order(session, order.stream_id, order.id)
        await record(uow, "order_refunded", fresh)
        return fresh
    units = held_units(order) if not order.components else 0
    for part in order.components or []:  # a bundle: each of its products' units
        await session.execute(
            update(LineupItem)
            .where(
                LineupItem.stream_id == order.stream_id,
                LineupItem.product_id == part["product_id"],
            )
            .values(sold_units=LineupItem.sold_units - part["units"])
            .execution_options(synchronize_session=False)
        )
    await offers.give_back_gift(session, order.stream_id, order.product_id, order.gift_units)
    if units:
        await session.execute(
            update(LineupItem)
            .where(
                LineupItem.stream_id == order.stream_id,
                LineupItem.product_id == order.product_id,
            )
            .values(sold_units=LineupItem.sold_units - units)
            .execution_options(synchronize_session=False)
        )
    flash_id = order.flash_sale_id
    if flash_id is not None:  # back to the sale while it runs, else to ordinary stock
        await flash_sales.give_back_units(session, flash_id, order.quantity)
    if order.coupon_id is not None:
        await coupons_service.release_for_order(session, order.id)
    rs = uow.live.stock
    if order.components:
        stream_id, parts = order.stream_id, [p["product_id"] for p in order.components]

        async def _rebuild() -> None:  # a bundle's products: rebuilt from the database
            for product_id in parts:
                await rs.drop(stream_id, product_id)

        after_commit(session, _rebuild)
    else:
        args = (order.stream_id, order.product_id, order.viewer_id, units, flash_id)

        async def _give_back() -> None:
            # The script returns units to the sale only while the mirror still runs it.
            await rs.give_back(*args)

        after_commit(session, _give_back)
    fresh = await get_order(session, order.stream_id, order.id)
    await record(uow, "order_refunded" if to == OrderStatus.refunded else "order_cancelled", fresh)
    return fresh


async def restocks(session: AsyncSession, order: Order) -> bool:
    """The return policy of the order's lineup item: do refunded units go back on sale?"""
    policy = await session.scalar(
        select(LineupItem.restock_on_return).where(
            LineupItem.stream_id == order.stream_id, LineupItem.product_id == order.product_id
        )
    )
    return policy is not False


async def refund_order(uow: UnitOfWork, order: Order) -> Order:
    """A paid order refunded after sale (an approved refund, a completed return):
    `order_refunded` with its amount and units, units back on sale per the policy."""
    return await release_order(uow, order, expected=OrderStatus.paid, to=OrderStatus.refunded)


def held_units(order: Order) -> int:
    """Units of the allotment the order holds (a connector's sale reported when fewer
    were left holds only those: `stock_units`)."""
    return order.quantity if order.stock_units is None else order.stock_units
