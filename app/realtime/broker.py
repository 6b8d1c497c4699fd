"""Pub/sub between instances: an in-process backend and a Redis backend.

Subscriptions are reference-counted per channel, so a process subscribes to Redis once
per channel however many consoles watch it (cf. centrifuge `addSub`).
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
import structlog

log = structlog.get_logger(__name__)

Handler = Callable[[str, bytes], Awaitable[None]]


class Broker(ABC):
    """Deliver each published message to every local handler of its channel."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    async def connect(self) -> None:  # noqa: B027 - optional hook
        pass

    async def disconnect(self) -> None:  # noqa: B027 - optional hook
        pass

    @abstractmethod
    async def publish(self, channel: str, message: bytes) -> None: ...

    @abstractmethod
    async def ping(self) -> bool: ...

    async def subscribe(self, channel: str, handler: Handler) -> None:
        first = not self._handlers[channel]
        self._handlers[channel].append(handler)
        if first:
            await self._remote_subscribe(channel)

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel)
        if not handlers or handler not in handlers:
            return
        handlers.remove(handler)
        if not handlers:
            del self._handlers[channel]
            await self._remote_unsubscribe(channel)

    async def _remote_subscribe(self, channel: str) -> None:  # noqa: B027
        pass

    async def _remote_unsubscribe(self, channel: str) -> None:  # noqa: B027
        pass

    async def _dispatch(self, channel: str, message: bytes) -> None:
        for handler in list(self._handlers.get(channel, ())):
            try:
                await handler(channel, message)
            except Exception:
                log.exception("broker_handler_failed", channel=channel)


class InProcessBroker(Broker):
    """Embedded mode: one process, messages go straight to local handlers."""

    async def publish(self, channel: str, message: bytes) -> None:
        await self._dispatch(channel, message)

    async def ping(self) -> bool:
        return True


class RedisBroker(Broker):
    """Production: Redis pub/sub, one connection for all subscriptions of this process."""

    def __init__(self, client: aioredis.Redis) -> None:
        super().__init__()
        self._client = client
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._reader: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def connect(self) -> None:
        # A pubsub connection needs one subscription before listen() may start.
        await self._pubsub.subscribe("controlroom:__ping__")
        self._reader = asyncio.create_task(self._read_loop(), name="redis-broker-reader")

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()

    async def publish(self, channel: str, message: bytes) -> None:
        await self._client.publish(channel, message)

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except Exception:
            return False

    async def _remote_subscribe(self, channel: str) -> None:
        await self._pubsub.subscribe(channel)

    async def _remote_unsubscribe(self, channel: str) -> None:
        await self._pubsub.unsubscribe(channel)

    async def _read_loop(self) -> None:
        while True:
            try:
                async for msg in self._pubsub.listen():
                    if msg.get("type") != "message":
                        continue
                    channel = msg["channel"]
                    if isinstance(channel, bytes):
                        channel = channel.decode()
                    await self._dispatch(channel, msg["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("redis_broker_reader_failed")
                await asyncio.sleep(0.5)
