"""The live adapters chosen once at start-up from settings, held on `app.state.live`."""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import redis.asyncio as aioredis

from app.config import Settings
from app.realtime.broker import Broker, InProcessBroker, RedisBroker
from app.realtime.comment_counts import CommentCounts, MemoryCommentCounts, RedisCommentCounts
from app.realtime.counters import Counters, MemoryCounters, RedisCounters
from app.realtime.outbox import PendingEvent

if TYPE_CHECKING:
    from app.realtime.hub import Hub
    from app.services.projection import ProjectionWorker

HISTORY_SIZE = 1000
HISTORY_TTL_SECONDS = 2 * 24 * 3600

# Number, remember and publish in one atomic step: every instance then sees the events
# of a stream in `seq` order and the history never has a hole, even when several
# instances publish at once. ARGV[1] is the message JSON without its seq.
_PUBLISH_LUA = """
local seq = redis.call('INCR', KEYS[1])
local msg = '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2)
redis.call('RPUSH', KEYS[2], msg)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
redis.call('PUBLISH', ARGV[2], msg)
return seq
"""


def message_seq(raw: bytes | str) -> int:
    return int(orjson.loads(raw)["seq"])


@dataclass
class LiveServices:
    broker: Broker
    redis: aioredis.Redis | None
    counters: Counters
    prefix: str = "lcr:"
    history_size: int = HISTORY_SIZE
    hub: Hub | None = None
    # Folds the log into the rollups and the comment intake (app/services/projection.py).
    projection: ProjectionWorker | None = None
    _local_seq: defaultdict[int, itertools.count[int]] = field(
        default_factory=lambda: defaultdict(lambda: itertools.count(1))
    )
    _local_last: dict[int, int] = field(default_factory=dict)
    _local_history: dict[int, deque[bytes]] = field(default_factory=dict)
    _publish_script: Any = None
    # Negative comments per stream, for the alerts engine (app/realtime/comment_counts.py).
    comment_counts: CommentCounts = field(init=False)

    def __post_init__(self) -> None:
        if self.redis is not None:
            self._publish_script = self.redis.register_script(_PUBLISH_LUA)
            self.comment_counts = RedisCommentCounts(self.redis, self.prefix)
        else:
            self.comment_counts = MemoryCommentCounts()

    def key(self, *parts: object) -> str:
        """A namespaced Redis key or channel name, e.g. key("stream", 7, "seq")."""
        return self.prefix + ":".join(str(p) for p in parts)

    def events_channel(self, stream_id: int) -> str:
        return self.key("stream", stream_id, "events")

    async def next_seq(self, stream_id: int) -> int:
        """The stream's next event sequence number: gap-free and shared by all instances."""
        if self.redis is not None:
            return int(await self.redis.incr(self.key("stream", stream_id, "seq")))
        seq = next(self._local_seq[stream_id])
        self._local_last[stream_id] = seq
        return seq

    async def current_seq(self, stream_id: int) -> int:
        """The seq of the stream's latest published event (0 if none yet)."""
        if self.redis is not None:
            raw = await self.redis.get(self.key("stream", stream_id, "seq"))
            return int(raw) if raw else 0
        return self._local_last.get(stream_id, 0)

    async def publish_event(self, event: PendingEvent) -> dict[str, object]:
        """Number a discrete event and deliver it to every instance's consoles."""
        body: dict[str, object] = {
            "type": event.type,
            "ts": datetime.now(UTC).isoformat(),
            "stream_id": event.stream_id,
            "data": event.data,
        }
        if event.roles is not None:
            body["roles"] = sorted(event.roles)
        sid = event.stream_id
        if self.redis is not None:
            seq = await self._publish_script(
                keys=[self.key("stream", sid, "seq"), self.key("stream", sid, "history")],
                args=[
                    orjson.dumps(body),
                    self.events_channel(sid),
                    self.history_size,
                    HISTORY_TTL_SECONDS,
                ],
            )
            return {"seq": int(seq), **body}
        # In process: number, remember and hand over without awaiting in between, so
        # concurrent publishers cannot reorder.
        message = {"seq": await self.next_seq(sid), **body}
        raw = orjson.dumps(message)
        history = self._local_history.setdefault(sid, deque())
        history.append(raw)
        while len(history) > self.history_size:
            history.popleft()
        await self.broker.publish(self.events_channel(sid), raw)
        return message

    async def history_since(self, stream_id: int, since: int) -> list[bytes] | None:
        """The stream's events after `since` in order, or None when the bounded history
        no longer reaches back that far (the caller then relies on a fresh snapshot)."""
        if self.redis is not None:
            raw = await self.redis.lrange(self.key("stream", stream_id, "history"), 0, -1)
            items = [m.encode() if isinstance(m, str) else m for m in raw]
            current = await self.current_seq(stream_id)
        else:
            items = list(self._local_history.get(stream_id, ()))
            current = self._local_last.get(stream_id, 0)
        if since >= current:
            return []
        seqs = [message_seq(m) for m in items]
        if not seqs or seqs[0] > since + 1:
            return None
        return [m for m, s in zip(items, seqs, strict=True) if s > since]

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


async def start_live_services(settings: Settings) -> LiveServices:
    counters: Counters
    if settings.redis_url:
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=200, timeout=10
        )
        client = aioredis.Redis(connection_pool=pool)
        broker: Broker = RedisBroker(client)
        counters = RedisCounters(client, settings.redis_prefix)
    else:
        client = None
        broker = InProcessBroker()
        counters = MemoryCounters()
    await broker.connect()
    return LiveServices(
        broker=broker, redis=client, counters=counters, prefix=settings.redis_prefix
    )
