"""Sales reported by a platform connector become orders in the order book.

An ingested order event that carries the platform's order id in `order_id`
(`order_created`, `order_paid`, `order_cancelled`, `order_refunded`) is applied to the
order row of (stream, source "connector", external id = order_id), the same table the
watch page and the ingest-key path write:

* `order_created` makes the row (once: a repeat is a duplicate) and takes its units
  from the lineup item's allotment like any order, whatever the listing status (the
  sale happened on the platform). If fewer units are left than it sold, it takes what
  is left (the product is then sold out here too) and records that in `stock_units`.
  While a flash sale of the product runs, a sale at the flash price (amount =
  price × quantity) is a sale of it: the sale's remaining quantity moves.
* `order_paid` marks it paid (making the row first if the connector never reported
  its creation); a repeat is a duplicate.
* `order_cancelled` cancels an unpaid order (a paid one is refunded) and gives its
  units back; `order_refunded` refunds a paid one (an unpaid one is cancelled).
  A repeat is a duplicate; naming an order id never reported → 422.

Each transition is logged and counted under the order's own event id
(`order:<id>:created`, …), exactly as an order placed through the API, so the order
list, the exports, the live counters and the review count the same orders. Anything
that contradicts the order already recorded (another buyer, product or quantity) makes
the batch invalid: 422 with each index and reason, nothing applied.

Locks: the running flash sales of the touched products, then their lineup rows (each
in id order), then the order rows, and the stream's log lock last (as every order).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import Unprocessable
from app.models import FlashSale, FlashSaleStatus, LineupItem, Order, OrderStatus, Product
from app.realtime.outbox import after_commit
from app.schemas.events import EventIn
from app.services import flash_sales
from app.services.uow import UnitOfWork

SOURCE = "connector"
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class ConnectorOutcome:
    rest: list[EventIn]  # the batch minus the connector order events
    applied: int  # connector order events that changed an order
    duplicates: int  # connector order events that changed nothing (repeats)
    log: list[EventIn]  # the orders' own events to log and count (order:<id>:<kind>)


def connector_key(order_id: str) -> str:
    """The Idempotency-Key column of a connector order (unique per stream)."""
    return "connector:" + hashlib.sha256(order_id.encode()).hexdigest()


def _bad(errors: list[dict[str, Any]]) -> Unprocessable:
    return Unprocessable(sorted(errors, key=lambda e: e["index"]), code="invalid_batch")


async def apply_connector_orders(
    uow: UnitOfWork, stream_id: int, events: Sequence[EventIn], channel: str | None = None
) -> ConnectorOutcome:
    """`channel`: the configured connector's name when the events came through one (kept
    on the orders it makes); None for `POST /events` and rehearsal replays."""
    session = uow.session
    ours = [(i, ev) for i, ev in enumerate(events) if ev.order_id is not None]
    if not ours:
        return ConnectorOutcome(list(events), 0, 0, [])
    rest = [ev for ev in events if ev.order_id is None]
    errors: list[dict[str, Any]] = []
    product_ids = {ev.product_id for _, ev in ours if ev.product_id is not None}
    external_ids = {ev.order_id for _, ev in ours if ev.order_id is not None}
    existing = {
        o.external_id: o
        for o in await session.scalars(
            select(Order)
            .where(
                Order.stream_id == stream_id,
                Order.source == SOURCE,
                Order.external_id.in_(external_ids),
            )
            .execution_options(populate_existing=True)
        )
    }
    product_ids |= {o.product_id for o in existing.values()}
    known = set(
        await session.scalars(select(Product.id).where(Product.id.in_(product_ids)))
        if product_ids
        else []
    )
    for i, ev in ours:
        if ev.product_id is not None and ev.product_id not in known:
            errors.append({"index": i, "reason": f"product {ev.product_id} does not exist"})
    if errors:
        raise _bad(errors)
    # Locks in one order for every writer: flash sales, then lineup rows, by id.
    flashes = {
        fs.product_id: fs
        for fs in await session.scalars(
            select(FlashSale)
            .where(
                FlashSale.stream_id == stream_id,
                FlashSale.product_id.in_(product_ids),
                FlashSale.status == FlashSaleStatus.active,
                FlashSale.ends_at > utcnow(),
            )
            .order_by(FlashSale.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    items = {
        it.product_id: it
        for it in await session.scalars(
            select(LineupItem)
            .where(LineupItem.stream_id == stream_id, LineupItem.product_id.in_(product_ids))
            .order_by(LineupItem.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    prices: dict[int, Decimal] = {}
    if product_ids:
        rows = await session.execute(
            select(Product.id, Product.list_price).where(Product.id.in_(product_ids))
        )
        prices = {pid: price for pid, price in rows}
    applier = _Applier(uow, stream_id, existing, flashes, items, prices, channel)
    for i, ev in ours:
        try:
            await applier.apply(ev)
        except _Mismatch as exc:
            errors.append({"index": i, "reason": str(exc)})
    if errors:
        raise _bad(errors)
    applier.after_commit_mirror()
    return ConnectorOutcome(rest, applier.applied, applier.duplicates, applier.log)


class _Mismatch(Exception):
    pass


class _Applier:
    def __init__(
        self,
        uow: UnitOfWork,
        stream_id: int,
        existing: dict[str | None, Order],
        flashes: dict[int, FlashSale],
        items: dict[int, LineupItem],
        prices: dict[int, Decimal],
        channel: str | None = None,
    ) -> None:
        self.uow = uow
        self.channel = channel
        self.session = uow.session
        self.stream_id = stream_id
        self.orders = existing
        self.flashes = flashes
        self.items = items
        self.prices = prices
        self.applied = 0
        self.duplicates = 0
        self.log: list[EventIn] = []
        self.touched: set[int] = set()

    async def apply(self, ev: EventIn) -> None:
        assert ev.order_id is not None
        order = self.orders.get(ev.order_id)
        if order is not None:
            self._check_same(order, ev)
        if ev.type == "order_created":
            if order is not None:
                self.duplicates += 1
                return
            await self._create(ev)
        elif ev.type == "order_paid":
            if order is None:
                order = await self._create(ev)
            if order.status != OrderStatus.created:
                if order.paid_at is None:
                    raise _Mismatch(f"order {ev.order_id} is {order.status}: it cannot be paid")
                self.duplicates += 1
                return
            if ev.amount is not None and ev.amount != order.amount:
                raise _Mismatch(f"amount does not match order {ev.order_id} ({order.amount:.2f})")
            order.status = OrderStatus.paid
            order.paid_at = ev.ts
            self._log(order, "order_paid", ev)
        elif ev.type in ("order_cancelled", "order_refunded"):
            if order is None:
                if ev.type == "order_refunded":
                    raise _Mismatch(f"order {ev.order_id} was never reported: nothing to refund")
                order = await self._create(ev)
            if order.status == OrderStatus.paid:
                await self._release(order, OrderStatus.refunded, ev)
            elif order.status == OrderStatus.created:
                await self._release(order, OrderStatus.cancelled, ev)
            else:
                self.duplicates += 1
                return
        else:  # pragma: no cover - parse_event allows order_id on order events only
            raise _Mismatch(f"order_id is not meaningful on {ev.type}")
        self.applied += 1

    def _check_same(self, order: Order, ev: EventIn) -> None:
        if ev.user_id != order.viewer_id:
            raise _Mismatch(f"user_id does not match the buyer of order {ev.order_id}")
        if ev.product_id is not None and ev.product_id != order.product_id:
            raise _Mismatch(f"product_id does not match order {ev.order_id}")
        if ev.quantity is not None and ev.quantity != order.quantity:
            raise _Mismatch(f"quantity does not match order {ev.order_id} ({order.quantity})")

    async def _create(self, ev: EventIn) -> Order:
        assert ev.order_id is not None
        if ev.product_id is None:
            raise _Mismatch(f"order {ev.order_id} was never reported: product_id is required")
        pid, qty = ev.product_id, ev.units
        item = self.items.get(pid)
        live_price = item.live_price if item is not None else self.prices[pid]
        amount = ev.amount if ev.amount is not None else live_price * qty
        unit_price = (amount / qty).quantize(CENTS)
        flash = self.flashes.get(pid)
        flash_id: int | None = None
        flash_row = None
        if flash is not None and flash.price * qty == amount:
            flash_row = await flash_sales.take_units(self.session, flash.id, qty)
            flash_id = flash.id if flash_row is not None else None
        taken = 0
        if item is not None:
            taken = await _take_units(self.session, item.id, qty)
            self.touched.add(pid)
        order = Order(
            stream_id=self.stream_id,
            product_id=pid,
            viewer_id=ev.user_id,
            quantity=qty,
            unit_price=unit_price,
            discount=max(Decimal("0.00"), unit_price * qty - amount),
            amount=amount,
            status=OrderStatus.created,
            idempotency_key=connector_key(ev.order_id),
            flash_sale_id=flash_id,
            source=SOURCE,
            external_id=ev.order_id,
            channel=self.channel,
            stock_units=taken if item is not None and taken < qty else None,
            list_price=self.prices.get(pid),
            live_price=live_price,
            created_at=ev.ts,
        )
        if item is None:
            order.stock_units = 0
        self.session.add(order)
        await self.session.flush()
        if flash_row is not None and flash_row.sold >= flash_row.quantity:
            await flash_sales.end_sale(self.uow, flash_row_id(flash), "sold_out")
        self.orders[ev.order_id] = order
        self._log(order, "order_created", ev)
        return order

    async def _release(self, order: Order, to: OrderStatus, ev: EventIn) -> None:
        order.status = to
        order.cancelled_at = ev.ts
        units = order.quantity if order.stock_units is None else order.stock_units
        item = self.items.get(order.product_id)
        if item is not None and units:
            await self.session.execute(
                update(LineupItem)
                .where(LineupItem.id == item.id, LineupItem.sold_units >= units)
                .values(sold_units=LineupItem.sold_units - units)
                .execution_options(synchronize_session=False)
            )
            self.touched.add(order.product_id)
        if order.flash_sale_id is not None:
            await flash_sales.give_back_units(self.session, order.flash_sale_id, order.quantity)
        await self.session.flush()
        if to == OrderStatus.refunded:
            self._log(order, "order_refunded", ev)
        self._log(order, "order_cancelled", ev)

    def _log(self, order: Order, kind: str, ev: EventIn) -> None:
        units = order.quantity
        if kind == "order_cancelled" and order.stock_units is not None:
            units = order.stock_units  # the counters' units held drop by what it held
        self.log.append(
            EventIn(
                kind,
                order.viewer_id,
                event_id=f"order:{order.id}:{kind.removeprefix('order_')}",
                ts=ev.ts,
                product_id=order.product_id,
                quantity=units if kind == "order_cancelled" else order.quantity,
                amount=order.amount,
            )
        )

    def after_commit_mirror(self) -> None:
        """The stock book's mirrors of the touched items are rebuilt from the database
        by the next order (a stale mirror costs a retry, never an oversold unit)."""
        if not self.touched:
            return
        rs = self.uow.live.stock
        stream_id, touched = self.stream_id, sorted(self.touched)

        async def _drop() -> None:
            for product_id in touched:
                await rs.drop(stream_id, product_id)

        after_commit(self.session, _drop)


def flash_row_id(flash: FlashSale | None) -> int:
    assert flash is not None
    return flash.id


async def _take_units(session: AsyncSession, item_id: int, qty: int) -> int:
    """Take `qty` units of the item's allotment, or what is left if fewer: the units
    taken. Conditional UPDATEs (never past the allotment), retried if the row moved."""
    want = qty
    for _ in range(20):
        if want <= 0:
            return 0
        taken = await session.scalar(
            update(LineupItem)
            .where(
                LineupItem.id == item_id, LineupItem.sold_units + want <= LineupItem.allotted_stock
            )
            .values(sold_units=LineupItem.sold_units + want)
            .returning(LineupItem.id)
            .execution_options(synchronize_session=False)
        )
        if taken is not None:
            return want
        left = await session.scalar(
            select(LineupItem.allotted_stock - LineupItem.sold_units).where(
                LineupItem.id == item_id
            )
        )
        want = min(qty, max(0, int(left or 0)))
    return 0
