"""The live adapters chosen once at start-up from settings, held on `app.state.live`."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
import redis.asyncio as aioredis

from app.config import Settings
from app.realtime.broker import Broker, InProcessBroker, RedisBroker
from app.realtime.outbox import PendingEvent


@dataclass
class LiveServices:
    broker: Broker
    redis: aioredis.Redis | None
    prefix: str = "lcr:"
    _local_seq: defaultdict[int, itertools.count[int]] = field(
        default_factory=lambda: defaultdict(lambda: itertools.count(1))
    )

    def key(self, *parts: object) -> str:
        """A namespaced Redis key or channel name, e.g. key("stream", 7, "seq")."""
        return self.prefix + ":".join(str(p) for p in parts)

    def events_channel(self, stream_id: int) -> str:
        return self.key("stream", stream_id, "events")

    async def next_seq(self, stream_id: int) -> int:
        """The stream's next event sequence number: gap-free and shared by all instances."""
        if self.redis is not None:
            return int(await self.redis.incr(self.key("stream", stream_id, "seq")))
        return next(self._local_seq[stream_id])

    async def publish_event(self, event: PendingEvent) -> dict[str, object]:
        """Number a discrete event and deliver it to every instance's consoles."""
        message: dict[str, object] = {
            "type": event.type,
            "seq": await self.next_seq(event.stream_id),
            "ts": datetime.now(UTC).isoformat(),
            "stream_id": event.stream_id,
            "data": event.data,
        }
        if event.roles is not None:
            message["roles"] = sorted(event.roles)
        await self.broker.publish(self.events_channel(event.stream_id), orjson.dumps(message))
        return message

    async def ping(self) -> dict[str, bool]:
        checks: dict[str, bool] = {}
        if self.redis is not None:
            checks["redis"] = await self.broker.ping()
        return checks

    async def close(self) -> None:
        await self.broker.disconnect()
        if self.redis is not None:
            await self.redis.aclose()


async def start_live_services(settings: Settings) -> LiveServices:
    if settings.redis_url:
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=200, timeout=10
        )
        client = aioredis.Redis(connection_pool=pool)
        broker: Broker = RedisBroker(client)
    else:
        client = None
        broker = InProcessBroker()
    await broker.connect()
    return LiveServices(broker=broker, redis=client, prefix=settings.redis_prefix)
