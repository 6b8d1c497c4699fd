"""The per-stream ticker: turns counters into one `metrics` message a few times a second.

One ticker runs per stream that has sockets on this instance. Each tick reads the
counters (from Redis in production, so every instance shows the same numbers), builds
the metrics object, and only when it differs from the last one sent encodes it once and
hands it to the hub; after `KEEPALIVE_SECONDS` without a change it sends a `ping`
instead, so idle consoles and proxies see the connection alive. The lineup's stock is
re-read from the database once a second, not every tick.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.realtime.hub import Hub
from app.realtime.protocol import KEEPALIVE_SECONDS, PING, metrics_message, prepare

log = structlog.get_logger(__name__)

STOCK_REFRESH_SECONDS = 1.0
ALERT_SECONDS = 1.0
STOP_TIMEOUT_SECONDS = 5.0


class Ticker:
    def __init__(
        self,
        hub: Hub,
        stream_id: int,
        sessionmaker: async_sessionmaker[AsyncSession],
        hz: float,
    ) -> None:
        self.hub = hub
        self.stream_id = stream_id
        self.sessionmaker = sessionmaker
        self.interval = 1.0 / hz if hz > 0 else 0.25
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Future[None] | None = None
        self._last: dict[str, Any] | None = None
        self._stock: list[Any] = []
        self._stock_at = 0.0
        self._held: list[tuple[int, int]] = []  # units held per product at the last read
        self._sent_at = time.monotonic()
        # The last metrics messages sent, for consoles that open with a shared snapshot.
        self.staff_message: dict[str, Any] | None = None
        self.public_message: dict[str, Any] | None = None
        from app.services.alerts import AlertEngine  # services import realtime: stay lazy

        self.alerts = AlertEngine()
        self._alerts_at = 0.0

    def start(self) -> None:
        self._stopping = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(), name=f"ticker-{self.stream_id}")

    async def stop(self) -> None:
        """Stop between ticks, never in the middle of one.

        Cancelling a tick half-way through a Redis pipeline or a database call has left
        the client's connection pool waiting forever (seen with redis-py's
        BlockingConnectionPool: the cancelled pipeline's shielded release never
        finished), and with it the task that awaited the cancelled ticker. So the loop
        is asked to stop and finishes its tick; only a tick stuck beyond `STOP_TIMEOUT_SECONDS` is
        cancelled, and then not waited for.
        """
        task, self._task = self._task, None
        if task is None:
            return
        if self._stopping is not None and not self._stopping.done():
            self._stopping.set_result(None)
        done, _ = await asyncio.wait({task}, timeout=STOP_TIMEOUT_SECONDS)
        if not done:
            log.warning("ticker_stop_timeout", stream_id=self.stream_id)
            task.cancel()

    async def _evaluate_alerts(self, metrics: dict[str, Any], now: float) -> None:
        """The control console's alerts (app/services/alerts.py), about once a second,
        whether or not the metrics changed: some conditions are about time passing."""
        from app.services.alerts import observe_live_metrics

        try:
            await observe_live_metrics(
                self.alerts, self.sessionmaker, self.hub.live, self.stream_id, metrics, now
            )
        except Exception:
            log.exception("alerts_failed", stream_id=self.stream_id)

    async def tick(self) -> bool:
        """One tick; returns whether a metrics message went out."""
        from app.services.metrics import build_metrics, load_stock, public_metrics

        now = time.monotonic()
        state = await self.hub.live.counters.read(self.stream_id)
        # Units held moved (an order was placed, cancelled or refunded, from any source):
        # the stock left is re-read now, so it is never more than one tick behind.
        held = sorted((pid, p.get("held", 0)) for pid, p in state.products.items())
        if now - self._stock_at >= STOCK_REFRESH_SECONDS or held != self._held:
            async with self.sessionmaker() as session:
                self._stock = await load_stock(session, self.stream_id)
            self._stock_at = now
            self._held = held
        metrics = build_metrics(self.stream_id, state, self._stock)
        if now - self._alerts_at >= ALERT_SECONDS:
            self._alerts_at = now
            await self._evaluate_alerts(metrics, now)
        if metrics == self._last:
            if now - self._sent_at >= KEEPALIVE_SECONDS:
                self.hub.broadcast_control(self.stream_id, PING)
                self._sent_at = now
            return False
        self._last = metrics
        public = None
        if self.hub.has_viewers(self.stream_id):
            public = prepare(metrics_message(public_metrics(metrics)))
        staff = prepare(metrics_message(metrics))
        self.staff_message, self.public_message = staff, public
        self.hub.broadcast_metrics(self.stream_id, staff, public)
        self._sent_at = now
        return True

    async def _run(self) -> None:
        next_at = time.monotonic()
        stopping = self._stopping
        assert stopping is not None
        while not stopping.done():
            next_at += self.interval
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ticker_failed", stream_id=self.stream_id)
            # Fixed-rate schedule; if a tick overran, skip ahead rather than burst.
            delay = next_at - time.monotonic()
            if delay < 0:
                next_at = time.monotonic()
                delay = 0
            # Sleep until the next tick or until asked to stop, whichever is first.
            await asyncio.wait({stopping}, timeout=delay)
