"""The live adapters, chosen once at start-up from settings and frozen in a `Live`
(held on `app.state.live`). `build_live` is the one place that picks a backend:
app/realtime/memory.py (embedded) or app/realtime/redis.py (production); everything
else reaches the ports (app/realtime/ports.py) through the `Live` it is given."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis.asyncio as aioredis

from app.config import Settings
from app.realtime.broker import Broker
from app.realtime.memory import (
    InProcessBroker,
    MemoryCommentCounts,
    MemoryCounters,
    MemoryEventBus,
    MemoryLimits,
    MemoryStockBook,
)
from app.realtime.outbox import PendingEvent
from app.realtime.ports import CommentCounts, Counters, EventBus, Limits, Position, StockBook
from app.realtime.redis import (
    RedisBroker,
    RedisCommentCounts,
    RedisCounters,
    RedisEventBus,
    RedisLimits,
    RedisStockBook,
)

if TYPE_CHECKING:
    from app.realtime.hub import Hub
    from app.realtime.snapshot import SnapshotPart
    from app.services.projection import ProjectionWorker
    from app.services.stock_alerts import StockAlertWorker


def parse_position(raw: str | None) -> tuple[str, int] | None:
    """`?since=epoch:seq` → (epoch, seq); anything else (a bare seq from an old console,
    garbage) → None, which answers a fresh snapshot."""
    if not raw:
        return None
    epoch, sep, seq = raw.rpartition(":")
    if not sep or not epoch or len(epoch) > 64 or not seq.isdigit() or len(seq) > 18:
        return None
    return epoch, int(seq)


@dataclass
class Workers:
    """What the lifespan attaches once at start-up: the long-running workers over the
    ports (they need the `Live` to be built first) and the snapshot's parts."""

    hub: Hub | None = None
    # Folds the log into the rollups and the comment intake (app/services/projection.py).
    projection: ProjectionWorker | None = None
    # The parts of a console's first message (app/services/snapshot_parts.py).
    snapshot_parts: tuple[SnapshotPart, ...] = ()
    # Evaluates stock alerts when orders move stock (app/services/stock_alerts.py).
    stock_alerts: StockAlertWorker | None = None


@dataclass(frozen=True, slots=True)
class Live:
    bus: EventBus
    counters: Counters
    stock: StockBook
    comment_counts: CommentCounts
    limits: Limits
    broker: Broker
    prefix: str
    # The Redis client in production (None embedded): for the availability watchdog and
    # the health check, which ask whether Redis answers.
    redis: aioredis.Redis | None = None
    workers: Workers = field(default_factory=Workers)

    @property
    def hub(self) -> Hub | None:
        return self.workers.hub

    @property
    def projection(self) -> ProjectionWorker | None:
        return self.workers.projection

    def key(self, *parts: object) -> str:
        """A namespaced Redis key or channel name, e.g. key("stream", 7, "pos")."""
        return self.prefix + ":".join(str(p) for p in parts)

    def events_channel(self, stream_id: int) -> str:
        return self.bus.channel(stream_id)

    async def position(self, stream_id: int) -> Position:
        """(epoch, seq) of the stream's latest published event (seq 0: none yet)."""
        return await self.bus.position(stream_id)

    async def current_seq(self, stream_id: int) -> int:
        return (await self.bus.position(stream_id))[1]

    async def publish_event(self, event: PendingEvent) -> dict[str, object]:
        """Number a discrete event and deliver it to every instance's consoles."""
        return await self.bus.publish(event)

    async def history_since(self, stream_id: int, epoch: str, since: int) -> list[bytes] | None:
        return await self.bus.since(stream_id, epoch, since)

    async def ping(self) -> dict[str, bool]:
        checks: dict[str, bool] = {}
        if self.redis is not None:
            checks["redis"] = await self.broker.ping()
        return checks

    async def close(self) -> None:
        if self.hub is not None:
            await self.hub.close()
        await self.broker.disconnect()
        if self.redis is not None:
            await self.redis.aclose()


async def build_live(settings: Settings) -> Live:
    """The one place a backend is chosen: Redis when REDIS_URL is set, else memory."""
    prefix = settings.redis_prefix
    if settings.redis_url:
        pool = aioredis.BlockingConnectionPool.from_url(
            # A Redis that does not answer must not hang a request (issue 15): connecting
            # gives up after 2 s, and waiting for a pooled connection after 5 s.
            settings.redis_url,
            max_connections=200,
            timeout=5,
            socket_connect_timeout=2,
        )
        client = aioredis.Redis(connection_pool=pool)
        broker: Broker = RedisBroker(client)
        live = Live(
            bus=RedisEventBus(client, broker, prefix),
            counters=RedisCounters(client, prefix),
            stock=RedisStockBook(client, prefix),
            comment_counts=RedisCommentCounts(client, prefix),
            limits=RedisLimits(client),
            broker=broker,
            prefix=prefix,
            redis=client,
        )
    else:
        broker = InProcessBroker()
        live = Live(
            bus=MemoryEventBus(broker, prefix),
            counters=MemoryCounters(),
            stock=MemoryStockBook(),
            comment_counts=MemoryCommentCounts(),
            limits=MemoryLimits(),
            broker=broker,
            prefix=prefix,
        )
    await broker.connect()
    return live
