"""Orders: place (with stock taken atomically), pay, cancel, and order requests.

One way to take stock on every backend, one rule: never read-then-write.

The stock book (`live.stock`, app/realtime/ports.py: the Lua scripts in Redis, the same
rules in memory in embedded mode) decides idempotency, flash sale, per-viewer limit and
stock and takes the units in one atomic step; a sold-out or over-limit answer never
touches the database. Then the order is written, and the database checks again
(`sold_units + q <= allotted_stock`, `sold <= quantity`), so a stale book can cost a
retry but never an oversold unit. If anything fails after the units were taken, the
rollback hook gives them back.

The orders whose units were taken at the same time for one item are written together
(`_book_in_group`: group commit, the database check applied to their sum); a group that
fails is written order by order.

Either way the UNIQUE (stream_id, idempotency_key) constraint is the last word on
idempotency: a retry that slips past the fast paths loses the insert and gets the
order that won.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import utcnow
from app.errors import BadRequest, Conflict, NotFound, Unprocessable
from app.models import (
    Coupon,
    FlashSale,
    FlashSaleStatus,
    LineupItem,
    ListingStatus,
    Order,
    OrderRequest,
    OrderRequestKind,
    OrderRequestStatus,
    OrderStatus,
    Product,
    User,
)
from app.realtime.outbox import after_commit, after_rollback, queue_event, rollback_now
from app.realtime.ports import Mirror, StockBook, Take
from app.realtime.state import Live
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
WAIT_FOR_TWIN_SECONDS = 20.0  # a concurrent retry waits this long for the first attempt
ABANDONED_AFTER_MS = 30_000  # an in-flight entry this old belongs to a dead request


@dataclass(frozen=True)
class Placed:
    order: Order
    replayed: bool  # True: the Idempotency-Key named an existing order


def sold_out(detail: str = "sold out") -> Conflict:
    return Conflict(detail, code="sold_out")


def not_listed(product_id: int) -> Conflict:
    return Conflict(f"product {product_id} is not on sale in this stream", code="not_listed")


def limit_exceeded(limit: int) -> Conflict:
    return Conflict(f"at most {limit} units per viewer", code="limit_exceeded", limit=limit)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _fingerprint(viewer_id: str, data: OrderCreate) -> str:
    return f"{data.product_id}:{data.quantity}:{viewer_id}"


def _check_same(order: Order, viewer_id: str, data: OrderCreate) -> None:
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


# ----------------------------------------------------------------------------- placing


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
    fp = _fingerprint(viewer_id, data)
    pending = f"p|{secrets.token_hex(8)}|{fp}|{_now_ms()}"
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
                _check_same(order, viewer_id, data)
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
        booking = _Booking(viewer_id, data, key, buyer, fp)
        try:
            order = await _book_in_group(uow.maker, live, stream_id, product_id, flash_id, booking)
        except _GroupFailed:
            pass  # then alone, below: the database decides this order by itself
        else:
            return Placed(order, replayed=False)
    try:
        order = await _book_taken(uow, stream_id, viewer_id, data, key, buyer, take)
    except IntegrityError:
        # The key already names an order that the stock book did not know about (e.g.
        # Redis lost its data, or the process restarted): undo ours, give the units back,
        # answer with that order.
        await rollback_now(session)
        existing = await _order_by_key(session, stream_id, key)
        if existing is None:
            raise
        _check_same(existing, viewer_id, data)
        return Placed(existing, replayed=True)
    done = f"o|{order.id}|{fp}"

    async def _mark_done() -> None:
        await rs.mark_done(stream_id, key, done)

    after_commit(session, _mark_done)
    return Placed(order, replayed=False)


# ----------------------------------------------------------------------------- bundles


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
    existing = await _order_by_key(session, stream_id, key)
    if existing is not None:
        _check_same(existing, viewer_id, data)
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
        row = await _take_lineup_units(session, stream_id, product_id, qty)
        if row is None:
            raise await _refusal(session, stream_id, product_id)
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
    coupon_id = data.coupon_id
    if coupon_id is None and data.best_coupon:
        coupon_id = await offers.best_claim(
            session, stream_id, viewer_id, data.product_id, subtotal
        )
    claim_id: int | None = None
    if coupon_id is not None:
        claim_id, off = await coupons_service.prepare_redemption(
            session, stream_id, coupon_id, viewer_id, data.product_id, subtotal
        )
        coupon = await session.get(Coupon, coupon_id)
        assert coupon is not None
        priced.discounts.append(
            {"kind": "coupon", "label": offers.coupon_label(coupon), "amount": format_money(off)}
        )
    order = _new_order(stream_id, viewer_id, data, key, buyer, unit_price, None, priced=priced)
    order.coupon_id = coupon_id
    order.bundle = str(bundle["name"])
    order.components = [{"product_id": p, "units": qty} for p in parts]
    session.add(order)
    try:
        await session.flush()
    except IntegrityError:
        await rollback_now(session)
        twin = await _order_by_key(session, stream_id, key)
        if twin is None:
            raise
        _check_same(twin, viewer_id, data)
        return Placed(twin, replayed=True)
    if claim_id is not None:
        await coupons_service.mark_used(session, claim_id, order.id)
    await _attach_gift(session, order, terms)
    book = uow.live.stock

    async def _rebuild() -> None:
        for product_id in parts:
            await book.drop(stream_id, product_id)

    after_commit(session, _rebuild)
    await record(uow, "order_created", order)
    return Placed(order, replayed=False)


# ----------------------------------------------------------------------------- groups

GROUP_MAX = 100  # orders written in one transaction at most


@dataclass(frozen=True)
class _Booking:
    """An order whose units the stock book has taken, waiting to be written with others."""

    viewer_id: str
    data: OrderCreate
    key: str
    buyer: Buyer
    fp: str


class _GroupFailed(Exception):
    """The group's transaction failed: each of its orders is then written alone."""


@dataclass
class _Groups:
    """Orders waiting per (stream, product, flash sale), and which have a writer."""

    waiting: dict[tuple[int, int, int | None], list[tuple[_Booking, asyncio.Future[Order]]]]
    writing: set[tuple[int, int, int | None]]
    tasks: set[asyncio.Future[None]]


# The groups of each stock book (one per app instance; tests run several apps).
_GROUPS: weakref.WeakKeyDictionary[StockBook, _Groups] = weakref.WeakKeyDictionary()


def _groups(book: StockBook) -> _Groups:
    groups = _GROUPS.get(book)
    if groups is None:
        groups = _GROUPS[book] = _Groups({}, set(), set())
    return groups


async def _book_in_group(
    maker: async_sessionmaker[AsyncSession],
    live: Live,
    stream_id: int,
    product_id: int,
    flash_id: int | None,
    booking: _Booking,
) -> Order:
    """Write the order together with the other orders of the same item that are
    waiting, in one transaction (group commit), and answer once it has committed.

    A winner's own transaction holds the item's (and the flash sale's) row lock from
    its UPDATE to its COMMIT, so winners commit one after another, each paying for a
    session, a dozen statements and a commit (~9 ms of CPU). Here one writer per item
    takes every order that arrived meanwhile (up to GROUP_MAX): one INSERT of all of
    them, one UPDATE of each contended row by their sum, one commit; the next group
    forms while it commits. Each order is still checked by the database (the sum must
    fit `sold_units <= allotted_stock`), is durable before its 201, and keeps its own
    Idempotency-Key (UNIQUE). If the group's transaction fails for any reason (a key
    that already names an order, a mirror that disagreed with the database), nothing of
    it was written and every order of it is written alone by the ordinary path.
    """
    groups = _groups(live.stock)
    gkey = (stream_id, product_id, flash_id)
    fut: asyncio.Future[Order] = asyncio.get_running_loop().create_future()
    groups.waiting.setdefault(gkey, []).append((booking, fut))
    if gkey not in groups.writing:
        groups.writing.add(gkey)
        task = asyncio.ensure_future(_write_groups(maker, live, groups, gkey))
        groups.tasks.add(task)
        task.add_done_callback(groups.tasks.discard)
    return await fut


async def _write_groups(
    maker: async_sessionmaker[AsyncSession],
    live: Live,
    groups: _Groups,
    gkey: tuple[int, int, int | None],
) -> None:
    batch: list[tuple[_Booking, asyncio.Future[Order]]] = []
    try:
        while True:
            await asyncio.sleep(0)  # the orders of this turn of the loop join too
            waiting = groups.waiting.pop(gkey, None)
            if not waiting:
                return
            batch, rest = waiting[:GROUP_MAX], waiting[GROUP_MAX:]
            if rest:
                groups.waiting[gkey] = rest
            batch = [(b, f) for b, f in batch if not f.done()]  # their requests are gone
            if not batch:
                continue
            try:
                orders = await _write_group(maker, live, gkey, [b for b, _ in batch])
            except Exception as exc:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(_GroupFailed(str(exc)))
            else:
                for (_, fut), order in zip(batch, orders, strict=True):
                    if not fut.done():
                        fut.set_result(order)
            batch = []
    except BaseException:
        for _, fut in [*batch, *groups.waiting.pop(gkey, [])]:
            if not fut.done():
                fut.set_exception(_GroupFailed("the group writer stopped"))
        raise
    finally:
        groups.writing.discard(gkey)


async def _write_group(
    maker: async_sessionmaker[AsyncSession],
    live: Live,
    gkey: tuple[int, int, int | None],
    bookings: list[_Booking],
) -> list[Order]:
    stream_id, product_id, flash_id = gkey
    async with UnitOfWork.begin(maker, live) as uow:
        session = uow.session
        price = await _unit_price(session, stream_id, product_id, flash_id)
        terms = await offers.load_terms(session, stream_id, product_id)
        if terms is None:
            raise not_listed(product_id)
        priced = [
            offers.price(terms, price, b.data.quantity, flash=flash_id is not None)
            for b in bookings
        ]
        if flash_id is not None:
            for p in priced:
                p.live_price = price
        orders = [
            _new_order(stream_id, b.viewer_id, b.data, b.key, b.buyer, price, flash_id, priced=p)
            for b, p in zip(bookings, priced, strict=True)
        ]
        session.add_all(orders)
        await session.flush()
        units = sum(o.quantity for o in orders)
        flash_row = None
        if flash_id is not None:
            flash_row = await flash_sales.take_units(session, flash_id, units)
            if flash_row is None:
                raise sold_out()
        if await _take_lineup_units(session, stream_id, product_id, units) is None:
            raise sold_out()
        await _gifts_for_group(session, terms, orders)
        if flash_row is not None and flash_id is not None and flash_row.sold >= flash_row.quantity:
            await flash_sales.end_sale(uow, flash_id, "sold_out")
        await record_many(uow, "order_created", orders)  # the log lock last
        done = {b.key: f"o|{o.id}|{b.fp}" for b, o in zip(bookings, orders, strict=True)}

        async def _mark_done() -> None:
            await live.stock.mark_done_many(stream_id, done)

        after_commit(session, _mark_done)
        for order in orders:  # written: keep them as they are whatever the session does
            session.expunge(order)  # after the commit (a hook's read ends in a rollback)
    return orders


async def _gifts_for_group(session: AsyncSession, terms: offers.Terms, orders: list[Order]) -> None:
    """Gifts for a group's orders, in order, while gift stock lasts (the item's row is
    locked by the group's own update already, so what is left cannot move meanwhile)."""
    if terms.gift is None:
        return
    if terms.gift_stock is None:
        for order in orders:
            order.gift = terms.gift
        await session.flush()
        return
    left = await session.scalar(
        select(LineupItem.gift_stock - LineupItem.gifts_given).where(LineupItem.id == terms.item_id)
    )
    left = int(left or 0)
    given = 0
    for order in orders:
        if order.quantity <= left - given:
            order.gift, order.gift_units = terms.gift, order.quantity
            given += order.quantity
    if given:
        await session.execute(
            update(LineupItem)
            .where(LineupItem.id == terms.item_id)
            .values(gifts_given=LineupItem.gifts_given + given)
            .execution_options(synchronize_session=False)
        )
        await session.flush()


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
            return await _order_by_key(session, stream_id, key)
        if rest and _now_ms() - int(rest[0]) > ABANDONED_AFTER_MS:
            existing = await _order_by_key(session, stream_id, key)
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


async def _unit_price(
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
    unit_price = await _unit_price(session, stream_id, product_id, flash_id)
    order, terms = await _insert_order(
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
    row = await _take_lineup_units(session, stream_id, product_id, qty)
    if row is None:
        after_rollback(session, _drop)
        raise await _refusal(session, stream_id, product_id)
    await _attach_gift(session, order, terms)
    if flash_row is not None and flash_id is not None and flash_row.sold >= flash_row.quantity:
        await flash_sales.end_sale(uow, flash_id, "sold_out")
    # The stream's log lock is the last lock any transaction takes (eventlog.write_events).
    await record(uow, "order_created", order)
    return order


async def _insert_order(
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
    coupon) and write it. Its gift is attached once its units are taken (`_attach_gift`:
    the item's row is locked after the flash sale's, as in every path)."""
    terms = await offers.load_terms(session, stream_id, data.product_id)
    if terms is None:
        raise not_listed(data.product_id)
    priced = offers.price(terms, unit_price, data.quantity, flash=flash_id is not None)
    if flash_id is not None:
        priced.live_price = unit_price  # the flash sale's price is this order's live price
    subtotal = unit_price * data.quantity - priced.discount
    claim_id: int | None = None
    coupon_id = data.coupon_id
    if coupon_id is None and data.best_coupon:
        coupon_id = await offers.best_claim(
            session, stream_id, viewer_id, data.product_id, subtotal
        )
    if coupon_id is not None:
        claim_id, off = await coupons_service.prepare_redemption(
            session, stream_id, coupon_id, viewer_id, data.product_id, subtotal
        )
        coupon = await session.get(Coupon, coupon_id)
        assert coupon is not None
        priced.discounts.append(
            {"kind": "coupon", "label": offers.coupon_label(coupon), "amount": format_money(off)}
        )
    order = _new_order(stream_id, viewer_id, data, key, buyer, unit_price, flash_id, priced=priced)
    order.coupon_id = coupon_id
    session.add(order)
    await session.flush()
    if claim_id is not None:
        await coupons_service.mark_used(session, claim_id, order.id)
    return order, terms


async def _attach_gift(session: AsyncSession, order: Order, terms: offers.Terms) -> None:
    gift, units = await offers.take_gift(session, terms, order.quantity)
    if gift is not None:
        order.gift, order.gift_units = gift, units
        await session.flush()


def _new_order(
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


async def _take_lineup_units(
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


async def _refusal(session: AsyncSession, stream_id: int, product_id: int) -> Conflict:
    status = await session.scalar(
        select(LineupItem.status).where(
            LineupItem.stream_id == stream_id, LineupItem.product_id == product_id
        )
    )
    return not_listed(product_id) if status != ListingStatus.listed else sold_out()


async def _units_held(
    session: AsyncSession, stream_id: int, product_id: int, viewer_id: str, flash_id: int | None
) -> int:
    query = select(func.coalesce(func.sum(Order.quantity), 0)).where(
        Order.stream_id == stream_id,
        Order.product_id == product_id,
        Order.viewer_id == viewer_id,
        Order.status.in_(HELD),
        Order.flash_sale_id == flash_id if flash_id is not None else Order.flash_sale_id.is_(None),
    )
    return int(await session.scalar(query) or 0)


async def _order_by_key(session: AsyncSession, stream_id: int, key: str) -> Order | None:
    return await session.scalar(
        select(Order)
        .where(Order.stream_id == stream_id, Order.idempotency_key == key)
        .execution_options(populate_existing=True)
    )


async def _build_mirror(
    session: AsyncSession, rs: StockBook, settings: Settings, stream_id: int, product_id: int
) -> None:
    """First order of a product (or the book lost it): copy the database state to it."""
    await rs.init(
        stream_id, product_id, await load_mirror(session, settings, stream_id, product_id)
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


# ----------------------------------------------------------------------------- reading


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


# ----------------------------------------------------------------------------- paying


async def _set_status(
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


async def pay_order(uow: UnitOfWork, stream_id: int, order_id: int, buyer: Buyer) -> Order:
    """created → paid. Paying a paid order again answers the same order."""
    session = uow.session
    order = await get_buyer_order(session, stream_id, order_id, buyer)
    if await _set_status(
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
        if await _set_status(
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


# ----------------------------------------------------------------------------- cancelling


async def release_order(
    uow: UnitOfWork, order: Order, *, expected: OrderStatus, to: OrderStatus
) -> Order:
    """Cancel (or refund) an order and give its units back: database now, the stock
    book after commit. The status change is conditional, so two cancellations give back once.
    A refund puts the units back on sale only where the lineup item's return policy
    says so (`restock_on_return`); an unpaid cancellation always does."""
    session = uow.session
    if not await _set_status(session, order.id, expected, status=to, cancelled_at=utcnow()):
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
    queue_event(
        session,
        stream_id,
        "order_request.updated",
        request_payload(req, order),
        roles=STAFF_EVENT_ROLES,
    )
    return req


async def reject_request(
    uow: UnitOfWork, stream_id: int, request_id: int, user: User, note: str = ""
) -> OrderRequest:
    session = uow.session
    req = await _decide(session, stream_id, request_id, user, OrderRequestStatus.rejected, note)
    order = await get_order(session, stream_id, req.order_id)
    queue_event(
        session,
        stream_id,
        "order_request.updated",
        request_payload(req, order),
        roles=STAFF_EVENT_ROLES,
    )
    return req
