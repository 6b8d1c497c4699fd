"""Pub/sub between instances: the shared base of the in-process broker
(app/realtime/memory.py) and the Redis one (app/realtime/redis.py).

Subscriptions are reference-counted per channel, so a process subscribes to Redis once
per channel however many consoles watch it (cf. centrifuge `addSub`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Awaitable, Callable

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
