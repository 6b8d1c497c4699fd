"""The live adapters chosen once at start-up from settings, held on `app.state.live`."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from app.config import Settings
from app.realtime.broker import Broker, InProcessBroker, RedisBroker


@dataclass
class LiveServices:
    broker: Broker
    redis: aioredis.Redis | None
    prefix: str = "lcr:"

    def key(self, *parts: object) -> str:
        """A namespaced Redis key or channel name, e.g. key("stream", 7, "seq")."""
        return self.prefix + ":".join(str(p) for p in parts)

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
