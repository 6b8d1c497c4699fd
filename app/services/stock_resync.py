"""Re-sync the stock book's mirror (app/realtime/ports.py `StockBook`: the Lua scripts of
app/realtime/redis.py, or their in-memory twin) with the database's truth.

Why: the TAKE script takes units in Redis before the order is written. A process that
dies in between (kill -9, OOM, a lost node) leaves those units taken in the mirror and
no order in the database: the mirror shows less stock than there is, and the product
may look sold out while units are left. (The other direction, a mirror above the truth,
is harmless: every order still passes the database's `sold_units + q <= allotted_stock`
check, a refusal drops the mirror and the next order rebuilds it. Nothing here can
oversell, whatever it does to the mirror.)

How, safely with respect to concurrent orders — a compare-and-set, no lock on the
order path:

1. Read the mirror's `stock` and the stream's idempotency entries in one Redis
   transaction. If an order of the product is in flight (an entry `p|…` younger than
   `ABANDONED_AFTER_MS`, the age after which the order path itself treats it as dead),
   do nothing now ("busy"): its units are rightly missing from the mirror.
2. Read the truth from the database (`allotted_stock − sold_units`, the units each
   viewer holds, the running flash sale's units left), as the mirror build does.
3. One Lua script overwrites the mirror only if its `stock` is still the value read in
   step 1 and still no order of the product is in flight; otherwise "moved"/"busy" and
   the caller tries again later. It also forgets the abandoned in-flight entries of the
   product that have no order in the database, so a retry with such a key goes ahead at
   once.

Residual case: between steps 1 and 3 an order could take units and commit while a
cancellation gives the same number back (the `stock` compare sees no change). The
mirror may then sit above the truth by those units: the database refuses the extra
order and the mirror is rebuilt (see above), so it costs one refused attempt, never an
oversold unit.

When: explicitly (`controlroom resync-stock STREAM_ID`, e.g. after a crash), and by a
small background loop in each server (`StockWatch`, every
`STOCK_RESYNC_SECONDS`), which re-syncs an item only when its mirror has disagreed with
the database in the same way for at least that long. Embedded mode runs the same loop
over its in-memory book.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import FlashSale, FlashSaleStatus, LineupItem, Order, Stream, StreamStatus
from app.realtime.ports import PENDING_ENTRY, StockBook
from app.realtime.state import Live
from app.services.orders import ABANDONED_AFTER_MS, load_mirror

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class InFlight:
    key: str
    entry: str
    product_id: int
    quantity: int
    started_ms: int


def in_flight(idem: dict[str, str]) -> list[InFlight]:
    """The orders whose units Redis has taken and that were not marked written."""
    out = []
    for key, entry in idem.items():
        m = PENDING_ENTRY.match(entry)
        if m:
            out.append(InFlight(key, entry, int(m[1]), int(m[2]), int(m[3])))
    return out


async def resync_item(
    session: AsyncSession, rs: StockBook, settings: Settings, stream_id: int, product_id: int
) -> str:
    """Re-sync one lineup item's mirror: 'absent' (no mirror: the next order builds it),
    'in_sync', 'busy' (an order in flight), 'moved' (it changed meanwhile) or 'fixed'."""
    mirror, idem = await rs.snapshot(stream_id, product_id)
    if "stock" not in mirror:
        return "absent"
    fresh_after = int(time.time() * 1000) - ABANDONED_AFTER_MS
    pending = [p for p in in_flight(idem) if p.product_id == product_id]
    if any(p.started_ms > fresh_after for p in pending):
        return "busy"
    truth = await load_mirror(session, settings, stream_id, product_id)
    written = set(
        (
            await session.scalars(
                select(Order.idempotency_key).where(
                    Order.stream_id == stream_id,
                    Order.idempotency_key.in_([p.key for p in pending]),
                )
            )
        ).all()
    )
    forget = {p.key: p.entry for p in pending if p.key not in written}
    if not forget and _agrees(mirror, truth.stock, truth.flash_id, truth.flash_left):
        held = {k: v for k, v in (await rs.read_bought(stream_id, product_id)).items() if v}
        if held == {k: v for k, v in truth.bought.items() if v}:
            return "in_sync"
    outcome = await rs.resync(
        stream_id,
        product_id,
        truth,
        expected_stock=mirror["stock"],
        fresh_after_ms=fresh_after,
        forget=forget,
    )
    if outcome != "ok":
        return outcome
    log.warning(
        "stock_mirror_resynced",
        stream_id=stream_id,
        product_id=product_id,
        mirror_stock=int(mirror["stock"]),
        db_stock=truth.stock,
        forgotten_keys=len(forget),
    )
    return "fixed"


def _agrees(mirror: dict[str, str], stock: int, flash_id: int | None, flash_left: int) -> bool:
    if int(mirror["stock"]) != stock:
        return False
    if flash_id is None:
        return "f_id" not in mirror
    return mirror.get("f_id") == str(flash_id) and int(mirror.get("f_left", -1)) == flash_left


async def resync_stream(
    session: AsyncSession, live: Live, settings: Settings, stream_id: int
) -> dict[int, str]:
    """Re-sync the mirror of every lineup item of the stream: {product_id: outcome}."""
    rs = live.stock
    product_ids = (
        await session.scalars(
            select(LineupItem.product_id)
            .where(LineupItem.stream_id == stream_id)
            .order_by(LineupItem.position, LineupItem.id)
        )
    ).all()
    out: dict[int, str] = {}
    for product_id in product_ids:
        out[product_id] = await resync_item(session, rs, settings, stream_id, product_id)
    return out


# ----------------------------------------------------------------------------- watch


@dataclass
class StockWatch:
    """Every `every` seconds, compare each live stream's mirrors with the database and
    re-sync an item whose mirror has disagreed in the same way (same mirror stock, same
    database stock) since the previous look, i.e. for at least `every` seconds. A
    disagreement that moves is an order in progress, not a loss."""

    maker: async_sessionmaker[AsyncSession]
    live: Live
    settings: Settings
    every: float
    _seen: dict[tuple[int, int], tuple[int, int, int, int]] = field(default_factory=dict)

    async def check(self) -> dict[tuple[int, int], str]:
        rs = self.live.stock
        async with self.maker() as session:
            rows = (
                await session.execute(
                    select(
                        LineupItem.stream_id,
                        LineupItem.product_id,
                        LineupItem.allotted_stock - LineupItem.sold_units,
                    )
                    .join(Stream, Stream.id == LineupItem.stream_id)
                    .where(Stream.status == StreamStatus.live)
                )
            ).all()
            flash = {
                (fs.stream_id, fs.product_id): fs.quantity - fs.sold
                for fs in (
                    await session.scalars(
                        select(FlashSale).where(FlashSale.status == FlashSaleStatus.active)
                    )
                ).all()
            }
        seen: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        due: list[tuple[int, int]] = []
        for stream_id, product_id, db_stock in rows:
            mirror = await rs.read(stream_id, product_id)
            if "stock" not in mirror:
                continue
            item = (stream_id, product_id)
            db_flash = flash.get(item, -1)
            mirror_flash = int(mirror["f_left"]) if "f_left" in mirror else -1
            state = (int(mirror["stock"]), int(db_stock), mirror_flash, db_flash)
            if state[0] == state[1] and state[2] == state[3]:
                continue
            seen[item] = state
            if self._seen.get(item) == state:
                due.append(item)
        self._seen = seen
        done: dict[tuple[int, int], str] = {}
        for stream_id, product_id in due:
            async with self.maker() as session:
                done[(stream_id, product_id)] = await resync_item(
                    session, rs, self.settings, stream_id, product_id
                )
        return done

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.check()
            except Exception:  # a failed look must not end the loop
                log.exception("stock_watch_failed")


def start_stock_watch(
    maker: async_sessionmaker[AsyncSession], live: Live, settings: Settings
) -> asyncio.Task[None] | None:
    """The background re-sync loop (None when disabled)."""
    if settings.stock_resync_seconds <= 0:
        return None
    watch = StockWatch(maker, live, settings, settings.stock_resync_seconds)
    return asyncio.create_task(watch.run(), name="stock-watch")


async def stop_stock_watch(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
