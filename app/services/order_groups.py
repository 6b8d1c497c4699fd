"""Group commit: the orders whose units the stock book took at the same time for one
item are written in one transaction (see `book_in_group`)."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import (
    LineupItem,
    Order,
)
from app.realtime.outbox import after_commit
from app.realtime.ports import StockBook
from app.realtime.state import Live
from app.schemas.orders import OrderCreate
from app.services import flash_sales, offers
from app.services.access import Buyer
from app.services.orders import (
    new_order,
    not_listed,
    order_unit_price,
    record_many,
    sold_out,
    take_lineup_units,
)
from app.services.uow import UnitOfWork

GROUP_MAX = 100  # orders written in one transaction at most


@dataclass(frozen=True)
class Booking:
    """An order whose units the stock book has taken, waiting to be written with others."""

    viewer_id: str
    data: OrderCreate
    key: str
    buyer: Buyer
    fp: str


class GroupFailed(Exception):
    """The group's transaction failed: each of its orders is then written alone."""


@dataclass
class _Groups:
    """Orders waiting per (stream, product, flash sale), and which have a writer."""

    waiting: dict[tuple[int, int, int | None], list[tuple[Booking, asyncio.Future[Order]]]]
    writing: set[tuple[int, int, int | None]]
    tasks: set[asyncio.Future[None]]


# The groups of each stock book (one per app instance; tests run several apps).
_GROUPS: weakref.WeakKeyDictionary[StockBook, _Groups] = weakref.WeakKeyDictionary()


def _groups(book: StockBook) -> _Groups:
    groups = _GROUPS.get(book)
    if groups is None:
        groups = _GROUPS[book] = _Groups({}, set(), set())
    return groups


async def book_in_group(
    maker: async_sessionmaker[AsyncSession],
    live: Live,
    stream_id: int,
    product_id: int,
    flash_id: int | None,
    booking: Booking,
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
    batch: list[tuple[Booking, asyncio.Future[Order]]] = []
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
                        fut.set_exception(GroupFailed(str(exc)))
            else:
                for (_, fut), order in zip(batch, orders, strict=True):
                    if not fut.done():
                        fut.set_result(order)
            batch = []
    except BaseException:
        for _, fut in [*batch, *groups.waiting.pop(gkey, [])]:
            if not fut.done():
                fut.set_exception(GroupFailed("the group writer stopped"))
        raise
    finally:
        groups.writing.discard(gkey)


async def _write_group(
    maker: async_sessionmaker[AsyncSession],
    live: Live,
    gkey: tuple[int, int, int | None],
    bookings: list[Booking],
) -> list[Order]:
    stream_id, product_id, flash_id = gkey
    async with UnitOfWork.begin(maker, live) as uow:
        session = uow.session
        price = await order_unit_price(session, stream_id, product_id, flash_id)
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
            new_order(stream_id, b.viewer_id, b.data, b.key, b.buyer, price, flash_id, priced=p)
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
        if await take_lineup_units(session, stream_id, product_id, units) is None:
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
