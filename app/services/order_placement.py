"""Placing an order: the stock book takes the units, then the database writes the order.

One way to take stock on every backend, one rule: never read-then-write.

The stock book (`live.stock`, app/realtime/ports.py: the Lua scripts in Redis, the same
rules in memory in embedded mode) decides idempotency, flash sale, per-viewer limit and
stock and takes the units in one atomic step; a sold-out or over-limit answer never
touches the database. Then the order is written, and the database checks again
(`sold_units + q <= allotted_stock`, `sold <= quantity`), so a stale book can cost a
retry but never an oversold unit. If anything fails after the units were taken, the
rollback hook gives them back. Orders taken at the same time for one item are written
together (app/services/order_groups.py); a group that fails is written order by order.

The UNIQUE (stream_id, idempotency_key) constraint is the last word on idempotency: a
retry that slips past the stock book loses the insert and gets the order that won.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import BadRequest, Conflict, Unprocessable
from app.models import (
    LineupItem,
    ListingStatus,
    Order,
    Product,
)
from app.realtime.outbox import after_commit, after_rollback, rollback_now
from app.realtime.ports import StockBook, Take
from app.schemas.orders import OrderCreate
from app.services import coupons as coupons_service
from app.services import flash_sales, offers
from app.services.access import Buyer
from app.services.order_groups import Booking, GroupFailed, book_in_group
from app.services.orders import (
    ABANDONED_AFTER_MS,
    attach_gift,
    check_same,
    fingerprint,
    insert_order,
    limit_exceeded,
    load_mirror,
    new_order,
    not_listed,
    now_ms,
    order_by_key,
    order_unit_price,
    record,
    redeem_coupon,
    refusal,
    sold_out,
    take_lineup_units,
)
from app.services.uow import UnitOfWork


@dataclass(frozen=True)
class Placed:
    order: Order
    replayed: bool  # True: the Idempotency-Key named an existing order


WAIT_FOR_TWIN_SECONDS = 20.0  # a concurrent retry waits this long for the first attempt


async def place_order(
    uow: UnitOfWork,
    settings: Settings,
    stream_id: int,
    buyer: Buyer,
    data: OrderCreate,
    idempotency_key: str,
) -> Placed:
    if buyer.is_ingest:
        if data.viewer_id is None:
            raise Unprocessable("viewer_id is required with the ingest key", code="viewer_required")
        viewer_id = data.viewer_id
    else:
        if data.viewer_id is not None and data.viewer_id != buyer.viewer_id:
            raise BadRequest(
                "viewer_id may only be sent with the ingest key", code="viewer_id_not_allowed"
            )
        assert buyer.viewer_id is not None
        viewer_id = buyer.viewer_id
    if data.bundle is not None:
        return await _place_bundle(uow, stream_id, viewer_id, data, idempotency_key, buyer)
    return await _place(uow, settings, stream_id, viewer_id, data, idempotency_key, buyer)


async def _place(
    uow: UnitOfWork,
    settings: Settings,
    stream_id: int,
    viewer_id: str,
    data: OrderCreate,
    key: str,
    buyer: Buyer,
) -> Placed:
    session, live = uow.session, uow.live
    rs = live.stock
    fp = fingerprint(viewer_id, data)
    pending = f"p|{secrets.token_hex(8)}|{fp}|{now_ms()}"
    deadline = time.monotonic() + WAIT_FOR_TWIN_SECONDS
    product_id, qty = data.product_id, data.quantity
    take: Take | None = None
    for _ in range(100):
        take = await rs.take(
            stream_id, product_id, key, viewer_id, qty, pending, data.flash_sale_id
        )
        if take.outcome == "ok":
            break
        if take.outcome == "init":
            async with rs.build_lock(stream_id, product_id):
                if await rs.read_stock(stream_id, product_id) is None:
                    await _build_mirror(session, rs, settings, stream_id, product_id)
        elif take.outcome == "dup":
            order = await _wait_for_twin(session, rs, stream_id, key, take.existing, fp, deadline)
            if order is not None:
                check_same(order, viewer_id, data)
                return Placed(order, replayed=True)
        elif take.outcome == "not_listed":
            if not await _relist_if_listed(session, rs, stream_id, product_id):
                raise not_listed(product_id)
        elif take.outcome == "sold_out":
            raise sold_out()
        elif take.outcome == "limit_exceeded":
            raise limit_exceeded(take.limit or 0)
        elif take.outcome == "flash_over":
            raise sold_out("this flash sale is over")
        else:  # pragma: no cover - the script answers nothing else
            raise RuntimeError(f"unexpected stock answer {take.outcome}")
    if take is None or take.outcome != "ok":
        raise Conflict("the order could not be placed; retry", code="try_again")

    flash_id = take.flash_id

    async def _give_back() -> None:
        await rs.give_back(stream_id, product_id, viewer_id, qty, flash_id, key, pending)

    after_rollback(session, _give_back)
    if data.coupon_id is None and not data.best_coupon:
        booking = Booking(viewer_id, data, key, buyer, fp)
        try:
            order = await book_in_group(uow.maker, live, stream_id, product_id, flash_id, booking)
        except GroupFailed:
            pass  # then alone, below: the database decides this order by itself
        else:
            return Placed(order, replayed=False)
    try:
        order = await _book_taken(uow, stream_id, viewer_id, data, key, buyer, take)
    except IntegrityError:
        # The key already names an order that the stock book did not know about (e.g.
        # Redis lost its data, or the process restarted).
        twin = await _lost_to_twin(session, stream_id, viewer_id, data, key)
        if twin is None:
            raise
        return twin
    done = f"o|{order.id}|{fp}"

    async def _mark_done() -> None:
        await rs.mark_done(stream_id, key, done)

    after_commit(session, _mark_done)
    return Placed(order, replayed=False)


async def _lost_to_twin(
    session: AsyncSession, stream_id: int, viewer_id: str, data: OrderCreate, key: str
) -> Placed | None:
    """The insert lost to an order already holding the key: undo ours (the rollback
    hooks give the units back) and answer with that order (None: there is none, the
    error was something else)."""
    await rollback_now(session)
    existing = await order_by_key(session, stream_id, key)
    if existing is None:
        return None
    check_same(existing, viewer_id, data)
    return Placed(existing, replayed=True)


async def _place_bundle(
    uow: UnitOfWork,
    stream_id: int,
    viewer_id: str,
    data: OrderCreate,
    key: str,
    buyer: Buyer,
) -> Placed:
    """A bundle (组合) of the product's lineup item: one order line at the bundle's price
    that takes `quantity` units of each of its products (the item's own and the
    bundle's `product_ids`), each by a conditional UPDATE in product order (all or
    nothing: a product sold out refuses the bundle, 409 `sold_out`). The database path
    in both modes; the stock book's mirrors of its products are rebuilt after commit."""
    session = uow.session
    existing = await order_by_key(session, stream_id, key)
    if existing is not None:
        check_same(existing, viewer_id, data)
        return Placed(existing, replayed=True)
    item = await session.scalar(
        select(LineupItem).where(
            LineupItem.stream_id == stream_id, LineupItem.product_id == data.product_id
        )
    )
    if item is None or item.status != ListingStatus.listed:
        raise not_listed(data.product_id)
    bundle = next((b for b in item.bundles or [] if b.get("name") == data.bundle), None)
    if bundle is None:
        raise Conflict(
            f"product {data.product_id} has no bundle named {data.bundle!r}",
            code="bundle_not_found",
        )
    parts = sorted({data.product_id, *(int(p) for p in bundle.get("product_ids", []))})
    qty = data.quantity
    rows = {}
    for product_id in parts:  # one lock order for every bundle
        row = await take_lineup_units(session, stream_id, product_id, qty)
        if row is None:
            raise await refusal(session, stream_id, product_id)
        rows[product_id] = row
    list_prices = {
        pid: price
        for pid, price in await session.execute(
            select(Product.id, Product.list_price).where(Product.id.in_(parts))
        )
    }
    unit_price = Decimal(str(bundle["price"]))
    terms = await offers.load_terms(session, stream_id, data.product_id)
    assert terms is not None
    priced = offers.price(terms, unit_price, qty, flash=False)
    priced.list_price = sum((list_prices[p] for p in parts), Decimal("0.00"))
    priced.live_price = sum((rows[p].live_price for p in parts), Decimal("0.00"))
    subtotal = unit_price * qty - priced.discount
    coupon_id, claim_id = await redeem_coupon(session, stream_id, viewer_id, data, subtotal, priced)
    order = new_order(stream_id, viewer_id, data, key, buyer, unit_price, None, priced=priced)
    order.coupon_id = coupon_id
    order.bundle = str(bundle["name"])
    order.components = [{"product_id": p, "units": qty} for p in parts]
    session.add(order)
    try:
        await session.flush()
    except IntegrityError:
        twin = await _lost_to_twin(session, stream_id, viewer_id, data, key)
        if twin is None:
            raise
        return twin
    if claim_id is not None:
        await coupons_service.mark_used(session, claim_id, order.id)
    await attach_gift(session, order, terms)
    book = uow.live.stock

    async def _rebuild() -> None:
        for product_id in parts:
            await book.drop(stream_id, product_id)

    after_commit(session, _rebuild)
    await record(uow, "order_created", order)
    return Placed(order, replayed=False)


async def _wait_for_twin(
    session: AsyncSession,
    rs: StockBook,
    stream_id: int,
    key: str,
    entry: str | None,
    fp: str,
    deadline: float,
) -> Order | None:
    """A request with the same key got there first: wait for its order (None: it failed,
    so this one may try again)."""
    pause = 0.01
    while entry is not None:
        kind, ref, other_fp, *rest = entry.split("|")
        if other_fp != fp:
            raise Conflict(
                "this Idempotency-Key was already used for another order",
                code="idempotency_key_reused",
            )
        if kind == "o":
            order = await session.get(Order, int(ref))
            if order is not None:
                return order
            return await order_by_key(session, stream_id, key)
        if rest and now_ms() - int(rest[0]) > ABANDONED_AFTER_MS:
            existing = await order_by_key(session, stream_id, key)
            if existing is not None:
                return existing
            await rs.forget_key(stream_id, key, entry)
            return None
        if time.monotonic() > deadline:
            raise Conflict(
                "an order with this Idempotency-Key is still being placed; retry",
                code="idempotency_in_progress",
            )
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, 0.2)  # back off: many waiting twins must not crowd Redis
        entry = await rs.idem_entry(stream_id, key)
    return None


async def _book_taken(
    uow: UnitOfWork,
    stream_id: int,
    viewer_id: str,
    data: OrderCreate,
    key: str,
    buyer: Buyer,
    take: Take,
) -> Order:
    """Write an order whose units the stock book has taken. The database checks the stock again,
    with the two contended rows (lineup item, flash sale) updated late, so each order
    holds their locks only for those updates, its log rows and its commit."""
    session, rs = uow.session, uow.live.stock
    product_id, qty, flash_id = data.product_id, data.quantity, take.flash_id
    unit_price = await order_unit_price(session, stream_id, product_id, flash_id)
    order, terms = await insert_order(
        session, stream_id, viewer_id, data, key, buyer, unit_price, flash_id
    )

    async def _drop() -> None:  # the mirror disagreed with the database: rebuild it
        await rs.drop(stream_id, product_id)

    flash_row = None
    if flash_id is not None:
        flash_row = await flash_sales.take_units(session, flash_id, qty)
        if flash_row is None:
            after_rollback(session, _drop)
            raise sold_out()
    row = await take_lineup_units(session, stream_id, product_id, qty)
    if row is None:
        after_rollback(session, _drop)
        raise await refusal(session, stream_id, product_id)
    await attach_gift(session, order, terms)
    if flash_row is not None and flash_id is not None and flash_row.sold >= flash_row.quantity:
        await flash_sales.end_sale(uow, flash_id, "sold_out")
    # The stream's log lock is the last lock any transaction takes (eventlog.write_events).
    await record(uow, "order_created", order)
    return order


async def _build_mirror(
    session: AsyncSession, rs: StockBook, settings: Settings, stream_id: int, product_id: int
) -> None:
    """First order of a product (or the book lost it): copy the database state to it."""
    await rs.init(
        stream_id, product_id, await load_mirror(session, settings, stream_id, product_id)
    )


async def _relist_if_listed(
    session: AsyncSession, rs: StockBook, stream_id: int, product_id: int
) -> bool:
    """The book says "not listed": believe it only if the database agrees (a product listed
    a moment ago is then marked listed in the mirror and the order goes on)."""
    status = await session.scalar(
        select(LineupItem.status).where(
            LineupItem.stream_id == stream_id, LineupItem.product_id == product_id
        )
    )
    if status != ListingStatus.listed:
        return False
    await rs.patch(stream_id, product_id, listed="1")
    return True
