"""Flash sales (秒杀): a quantity of one lineup product at a special price, for a time.

Orders placed while a sale runs take its quantity at its price with its per-user limit
(see `app.services.orders`). A sale starts now or at `starts_at`, and ends at `ends_at`
or when its quantity is sold. Starting and ending are conditional UPDATEs
(`WHERE status = 'scheduled'` / `'active'`), so with several instances each ticking, a
sale is announced started once and ended once, by whichever instance wins the update.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.errors import Conflict, NotFound
from app.models import FlashSale, FlashSaleStatus, LineupItem, Stream, User
from app.realtime.outbox import after_commit, queue_event
from app.realtime.state import Live
from app.schemas.common import format_money
from app.schemas.orders import FlashSaleCreate
from app.services.controls import log_action
from app.services.stream_rows import get_in_stream
from app.services.uow import UnitOfWork

log = structlog.get_logger(__name__)


def payload(fs: FlashSale, **extra: Any) -> dict[str, Any]:
    """What a console needs to draw the sale and its countdown (server_time corrects a
    console whose clock is off)."""
    return {
        "flash_sale_id": fs.id,
        "product_id": fs.product_id,
        "price": format_money(fs.price),
        "quantity": fs.quantity,
        "sold": fs.sold,
        "remaining": fs.quantity - fs.sold,
        "per_user_limit": fs.per_user_limit,
        "duration_seconds": fs.duration_seconds,
        "starts_at": fs.starts_at.isoformat(),
        "ends_at": fs.ends_at.isoformat(),
        "server_time": utcnow().isoformat(),
        "status": str(fs.status),
        "end_reason": fs.end_reason,
        **extra,
    }


def to_out(fs: FlashSale) -> dict[str, Any]:
    return {
        **{c: getattr(fs, c) for c in FlashSale.__table__.columns.keys()},  # noqa: SIM118
        "remaining": fs.quantity - fs.sold,
        "server_time": utcnow(),
    }


async def create_flash_sale(
    uow: UnitOfWork, stream: Stream, data: FlashSaleCreate, user: User
) -> FlashSale:
    session = uow.session
    item = await session.scalar(
        select(LineupItem).where(
            LineupItem.stream_id == stream.id, LineupItem.product_id == data.product_id
        )
    )
    if item is None:
        raise NotFound(
            f"product {data.product_id} is not in this stream's lineup", code="not_in_lineup"
        )
    busy = await session.scalar(
        select(FlashSale.id).where(
            FlashSale.stream_id == stream.id,
            FlashSale.product_id == data.product_id,
            FlashSale.status.in_([FlashSaleStatus.scheduled, FlashSaleStatus.active]),
        )
    )
    if busy is not None:
        raise Conflict(
            "this product already has a scheduled or running flash sale",
            code="flash_sale_exists",
            flash_sale_id=busy,
        )
    left = item.allotted_stock - item.sold_units
    if data.quantity > left:
        raise Conflict(
            f"only {left} units are left for this product", code="insufficient_stock", left=left
        )
    now = utcnow()
    starts_at = data.starts_at if data.starts_at and data.starts_at > now else now
    fs = FlashSale(
        stream_id=stream.id,
        product_id=data.product_id,
        price=data.price,
        quantity=data.quantity,
        sold=0,
        per_user_limit=data.per_user_limit,
        duration_seconds=data.duration_seconds,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(seconds=data.duration_seconds),
        status=FlashSaleStatus.scheduled,
        created_by=user.id,
    )
    session.add(fs)
    await session.flush()
    log_action(
        session,
        stream.id,
        user,
        "flash_sale",
        fs.product_id,
        flash_sale_id=fs.id,
        price=format_money(fs.price),
        quantity=fs.quantity,
        per_user_limit=fs.per_user_limit,
        starts_at=fs.starts_at.isoformat(),
        ends_at=fs.ends_at.isoformat(),
    )
    if starts_at <= now:
        await start_sale(uow, fs.id)
    else:
        queue_event(session, stream.id, "flash_sale.scheduled", payload(fs))
    await session.refresh(fs)
    return fs


async def list_flash_sales(session: AsyncSession, stream_id: int) -> list[FlashSale]:
    rows = await session.scalars(
        select(FlashSale).where(FlashSale.stream_id == stream_id).order_by(FlashSale.id.desc())
    )
    return list(rows.all())


async def get_flash_sale(session: AsyncSession, stream_id: int, flash_id: int) -> FlashSale:
    return await get_in_stream(session, FlashSale, stream_id, flash_id, "flash sale", fresh=True)


async def running_for(session: AsyncSession, stream_id: int, product_id: int) -> FlashSale | None:
    """The sale governing orders of this product right now (ends_at is checked here, so a
    sale is over on time even before the ticker has marked it ended)."""
    now = utcnow()
    return await session.scalar(
        select(FlashSale).where(
            FlashSale.stream_id == stream_id,
            FlashSale.product_id == product_id,
            FlashSale.status == FlashSaleStatus.active,
            FlashSale.ends_at > now,
        )
    )


async def take_units(
    session: AsyncSession, flash_id: int, quantity: int
) -> Row[Decimal, int, int, int] | None:
    """Take units of a running sale (conditional UPDATE: never more than its quantity)."""
    result = await session.execute(
        update(FlashSale)
        .where(
            FlashSale.id == flash_id,
            FlashSale.status == FlashSaleStatus.active,
            FlashSale.sold + quantity <= FlashSale.quantity,
        )
        .values(sold=FlashSale.sold + quantity)
        .returning(FlashSale.price, FlashSale.quantity, FlashSale.sold, FlashSale.per_user_limit)
        .execution_options(synchronize_session=False)
    )
    return result.one_or_none()


async def give_back_units(session: AsyncSession, flash_id: int, quantity: int) -> bool:
    """A cancelled order returns its units to the sale while it still runs (afterwards
    they are ordinary stock again)."""
    result = await session.execute(
        update(FlashSale)
        .where(
            FlashSale.id == flash_id,
            FlashSale.status == FlashSaleStatus.active,
            FlashSale.sold >= quantity,
        )
        .values(sold=FlashSale.sold - quantity)
        .returning(FlashSale.id)
        .execution_options(synchronize_session=False)
    )
    return result.one_or_none() is not None


async def start_sale(uow: UnitOfWork, flash_id: int) -> bool:
    """scheduled → active (once); mirror it into the stock book after commit; announce it."""
    session = uow.session
    result = await session.execute(
        update(FlashSale)
        .where(FlashSale.id == flash_id, FlashSale.status == FlashSaleStatus.scheduled)
        .values(status=FlashSaleStatus.active)
        .returning(FlashSale.id)
        .execution_options(synchronize_session=False)
    )
    if result.one_or_none() is None:
        return False
    fs = await session.get(FlashSale, flash_id, populate_existing=True)
    assert fs is not None
    item = await session.scalar(
        select(LineupItem).where(
            LineupItem.stream_id == fs.stream_id, LineupItem.product_id == fs.product_id
        )
    )
    left = item.allotted_stock - item.sold_units if item is not None else 0
    if left < fs.quantity:  # stock went elsewhere while the sale waited for its start
        await end_sale(uow, fs.id, "insufficient_stock")
        return False
    rs = uow.live.stock
    ends_ms = int(fs.ends_at.timestamp() * 1000)
    stream_id, product_id = fs.stream_id, fs.product_id
    fields = {"f_id": fs.id, "f_left": fs.quantity - fs.sold}
    fields |= {"f_limit": fs.per_user_limit, "f_ends": ends_ms}

    async def _mirror() -> None:
        await rs.patch(stream_id, product_id, **fields)

    after_commit(session, _mirror)
    queue_event(session, fs.stream_id, "flash_sale.started", payload(fs))
    log.info("flash_sale_started", flash_sale_id=fs.id, stream_id=fs.stream_id)
    return True


async def end_sale(uow: UnitOfWork, flash_id: int, reason: str) -> FlashSale | None:
    """active/scheduled → ended (once), with the reason: time, sold_out, stopped, …"""
    session = uow.session
    result = await session.execute(
        update(FlashSale)
        .where(
            FlashSale.id == flash_id,
            FlashSale.status.in_([FlashSaleStatus.active, FlashSaleStatus.scheduled]),
        )
        .values(status=FlashSaleStatus.ended, ended_at=utcnow(), end_reason=reason)
        .returning(FlashSale.id)
        .execution_options(synchronize_session=False)
    )
    if result.one_or_none() is None:
        return None
    fs = await session.get(FlashSale, flash_id, populate_existing=True)
    assert fs is not None
    rs = uow.live.stock
    stream_id, product_id = fs.stream_id, fs.product_id

    async def _unmirror() -> None:
        await rs.clear_flash(stream_id, product_id, flash_id)

    after_commit(session, _unmirror)
    queue_event(session, fs.stream_id, "flash_sale.ended", payload(fs))
    log.info("flash_sale_ended", flash_sale_id=fs.id, reason=reason)
    return fs


async def stop_flash_sale(
    uow: UnitOfWork, stream_id: int, flash_id: int, user: User | None = None
) -> FlashSale:
    session = uow.session
    fs = await get_flash_sale(session, stream_id, flash_id)
    if fs.status == FlashSaleStatus.ended:
        raise Conflict("this flash sale has already ended", code="flash_sale_ended")
    ended = await end_sale(uow, flash_id, "stopped")
    if ended is None:
        raise Conflict("this flash sale has already ended", code="flash_sale_ended")
    log_action(
        session, stream_id, user, "flash_sale_stop", ended.product_id, flash_sale_id=flash_id
    )
    return ended


async def tick(uow: UnitOfWork) -> int:
    """Start the sales that are due and end the ones whose time is up; returns how many
    changed. Every instance may run it: the conditional updates make each change once."""
    session = uow.session
    now = utcnow()
    changed = 0
    due = await session.scalars(
        select(FlashSale.id).where(
            FlashSale.status == FlashSaleStatus.scheduled, FlashSale.starts_at <= now
        )
    )
    for flash_id in list(due.all()):
        changed += await start_sale(uow, flash_id)
    over = await session.scalars(
        select(FlashSale.id).where(
            FlashSale.status == FlashSaleStatus.active, FlashSale.ends_at <= now
        )
    )
    for flash_id in list(over.all()):
        changed += (await end_sale(uow, flash_id, "time")) is not None
    return changed


async def run_ticker(maker: async_sessionmaker[AsyncSession], live: Live, every: float) -> None:
    """Background task of each instance (see `tick`)."""
    while True:
        try:
            async with UnitOfWork.begin(maker, live) as uow:
                await tick(uow)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("flash_sale_tick_failed")
        await asyncio.sleep(every)


def start_ticker(
    maker: async_sessionmaker[AsyncSession], live: Live, every: float
) -> asyncio.Task[None]:
    return asyncio.create_task(run_ticker(maker, live, every), name="flash-sale-ticker")


async def stop_ticker(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
