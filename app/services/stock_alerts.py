"""Stock alerts (sold out, stock low) follow the orders, not the consoles.

The live ticker evaluates every alert about once a second, but a stream has a ticker
only while some console has it open: a product that sold out while nobody looked raised
its 售罄 alert when somebody next opened the stream, and a webhook endpoint waiting for
`alert.raised` heard nothing until then. Now every order that moves a product's held
units (any source: the watch page, a merchant backend, a connector's order events, a
cancellation or refund; `record_events` after its commit) kicks this worker, which
evaluates those products' stock alerts in its own transaction.

A burst of orders is one evaluation per product every `MIN_INTERVAL_SECONDS` at most,
off the order's path (the order has committed and been answered). The evaluation is
`alerts.check_stock`: stateless, the open episodes in the database are the state, so it
agrees with the ticker's evaluation whichever runs first, and several instances raise
an episode once (the open-episode index).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import LineupItem
from app.realtime.state import Live
from app.services.alerts import check_stock
from app.services.uow import UnitOfWork
from app.services.woken import run_woken

MIN_INTERVAL_SECONDS = 0.25
IDLE_POLL_SECONDS = 30.0  # nothing to do without a kick; the poll only keeps the loop alive


class StockAlertWorker:
    """One per process (on `live.workers.stock_alerts`)."""

    def __init__(self, maker: async_sessionmaker[AsyncSession], live: Live) -> None:
        self.maker = maker
        self.live = live
        self._pending: dict[int, set[int]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def kick(self, stream_id: int, product_ids: Iterable[int]) -> None:
        """These products' held units moved (called after the commit)."""
        self._pending.setdefault(stream_id, set()).update(product_ids)
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(
            run_woken(self._wake, IDLE_POLL_SECONDS, self.step, "stock_alerts_failed")
        )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def step(self) -> None:
        pending, self._pending = self._pending, {}
        try:
            for stream_id, product_ids in sorted(pending.items()):
                await self.evaluate(stream_id, product_ids)
        except BaseException:
            for stream_id, product_ids in pending.items():  # tried again at the next wake
                self._pending.setdefault(stream_id, set()).update(product_ids)
            raise
        # Orders that land meanwhile wait for the next step: one evaluation per interval.
        await asyncio.sleep(MIN_INTERVAL_SECONDS)

    async def evaluate(self, stream_id: int, product_ids: set[int]) -> None:
        async with UnitOfWork.begin(self.maker, self.live) as uow:
            items = await uow.session.scalars(
                select(LineupItem)
                .where(LineupItem.stream_id == stream_id, LineupItem.product_id.in_(product_ids))
                .order_by(LineupItem.product_id)
            )
            for item in items.all():
                await check_stock(uow.session, stream_id, item)
