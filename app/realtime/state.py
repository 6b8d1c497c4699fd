"""The live adapters chosen once at start-up from settings, held on `app.state.live`."""

from __future__ import annotations

import itertools
import secrets
import time
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

# A stream's position is (epoch, seq), kept together in one hash. The epoch names one
# run of the seq counter: when the hash is missing (a new stream, or a Redis that lost
# its data: FLUSHDB, a restart without persistence, eviction) a new epoch is minted with
# the counter, so a console's old position can never be mistaken for a new one.
# ARGV[1] is always a fresh epoch candidate (new_epoch()).
_POSITION_LUA = """
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0)
  redis.call('DEL', KEYS[2])
  return {epoch, 0}
end
return {epoch, tonumber(redis.call('HGET', KEYS[1], 'seq'))}
"""

# Number, remember and publish in one atomic step: every instance then sees the events
# of a stream in `seq` order and the history never has a hole, even when several
# instances publish at once. ARGV[1] is the message JSON without its position.
# An event with an id (an outbox row, app/realtime/outbox.py) is published once while
# Redis remembers the id (KEYS[3]): a relay that publishes it again gets 0 back.
_PUBLISH_LUA = """
if ARGV[6] ~= '' then
  if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', tonumber(ARGV[7])) then
    return {'', 0}
  end
end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local seq
if not epoch then
  epoch = ARGV[5]
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 1)
  redis.call('DEL', KEYS[2])
  seq = 1
else
  seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
end
local msg = '{"epoch":"' .. epoch .. '","seq":' .. seq .. ',' .. string.sub(ARGV[1], 2)
redis.call('RPUSH', KEYS[2], msg)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
redis.call('PUBLISH', ARGV[2], msg)
return {epoch, seq}
"""
# Long enough for any relay to have caught up; short, so a database recreated under the
# same Redis prefix (ids starting again) is not mistaken for repeats for long.
PUBLISHED_ID_TTL_SECONDS = 600
LOCAL_PUBLISHED_IDS = 20_000


def new_epoch() -> str:
    """A fresh epoch: hex milliseconds of now, then random hex. Later epochs sort after
    earlier ones (as strings), so a late message of an old epoch can be recognised."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(3)}"


def parse_position(raw: str | None) -> tuple[str, int] | None:
    """`?since=epoch:seq` → (epoch, seq); anything else (a bare seq from an old console,
    garbage) → None, which answers a fresh snapshot."""
    if not raw:
        return None
    epoch, sep, seq = raw.rpartition(":")
    if not sep or not epoch or len(epoch) > 64 or not seq.isdigit() or len(seq) > 18:
        return None
    return epoch, int(seq)


def message_position(raw: bytes | str) -> tuple[str, int]:
    msg = orjson.loads(raw)
    return str(msg.get("epoch", "")), int(msg["seq"])


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
    # Embedded mode: the seq counters live in this process, so each start is an epoch.
    epoch: str = field(default_factory=new_epoch)
    _local_seq: defaultdict[int, itertools.count[int]] = field(
        default_factory=lambda: defaultdict(lambda: itertools.count(1))
    )
    _local_last: dict[int, int] = field(default_factory=dict)
    _local_history: dict[int, deque[bytes]] = field(default_factory=dict)
    _local_published: dict[int, None] = field(default_factory=dict)
    _publish_script: Any = None
    _position_script: Any = None
    # Called with the outbox ids of events once published (app/realtime/outbox.py).
    on_published: Any = None
    # Negative comments per stream, for the alerts engine (app/realtime/comment_counts.py).
    comment_counts: CommentCounts = field(init=False)

    def __post_init__(self) -> None:
        if self.redis is not None:
            self._publish_script = self.redis.register_script(_PUBLISH_LUA)
            self._position_script = self.redis.register_script(_POSITION_LUA)
            self.comment_counts = RedisCommentCounts(self.redis, self.prefix)
        else:
            self.comment_counts = MemoryCommentCounts()

    def key(self, *parts: object) -> str:
        """A namespaced Redis key or channel name, e.g. key("stream", 7, "pos")."""
        return self.prefix + ":".join(str(p) for p in parts)

    def events_channel(self, stream_id: int) -> str:
        return self.key("stream", stream_id, "events")

    def _position_keys(self, stream_id: int) -> list[str]:
        return [self.key("stream", stream_id, "pos"), self.key("stream", stream_id, "history")]

    async def position(self, stream_id: int) -> tuple[str, int]:
        """(epoch, seq) of the stream's latest published event (seq 0: none yet in this
        epoch). With Redis, a missing position is created here with a new epoch."""
        if self.redis is not None:
            epoch, seq = await self._position_script(
                keys=self._position_keys(stream_id), args=[new_epoch()]
            )
            return (epoch.decode() if isinstance(epoch, bytes) else str(epoch)), int(seq)
        return self.epoch, self._local_last.get(stream_id, 0)

    async def current_seq(self, stream_id: int) -> int:
        """The seq of the stream's latest published event (0 if none yet)."""
        return (await self.position(stream_id))[1]

    async def publish_event(self, event: PendingEvent) -> dict[str, object]:
        """Number a discrete event and deliver it to every instance's consoles.

        An event from the outbox (`event.id` set) carries its `id`; with Redis it is
        published at most once while Redis remembers the id (a relay repeating it is a
        no-op returning seq 0), and consoles drop a repeated id in any case."""
        body: dict[str, object] = {
            "type": event.type,
            "ts": datetime.now(UTC).isoformat(),
            "stream_id": event.stream_id,
            "data": event.data,
        }
        if event.id is not None:
            body["id"] = event.id
        if event.roles is not None:
            body["roles"] = sorted(event.roles)
        sid = event.stream_id
        if self.redis is not None:
            eid = "" if event.id is None else str(event.id)
            epoch, seq = await self._publish_script(
                keys=[*self._position_keys(sid), self.key("stream", sid, "published", eid or "-")],
                args=[
                    orjson.dumps(body),
                    self.events_channel(sid),
                    self.history_size,
                    HISTORY_TTL_SECONDS,
                    new_epoch(),
                    eid,
                    PUBLISHED_ID_TTL_SECONDS,
                ],
            )
            epoch = epoch.decode() if isinstance(epoch, bytes) else str(epoch)
            message: dict[str, object] = {"epoch": epoch, "seq": int(seq), **body}
        else:
            if event.id is not None:  # the fast path and the relay may both try
                if event.id in self._local_published:
                    return {"epoch": self.epoch, "seq": 0, **body}
                self._local_published[event.id] = None
                if len(self._local_published) > LOCAL_PUBLISHED_IDS:
                    del self._local_published[next(iter(self._local_published))]
            # In process: number, remember and hand over without awaiting in between, so
            # concurrent publishers cannot reorder.
            seq = next(self._local_seq[sid])
            self._local_last[sid] = seq
            message = {"epoch": self.epoch, "seq": seq, **body}
            raw = orjson.dumps(message)
            history = self._local_history.setdefault(sid, deque())
            history.append(raw)
            while len(history) > self.history_size:
                history.popleft()
            await self.broker.publish(self.events_channel(sid), raw)
        if event.id is not None and self.on_published is not None:
            self.on_published(event.id)
        return message

    async def history_since(self, stream_id: int, epoch: str, since: int) -> list[bytes] | None:
        """The stream's events after position (epoch, since) in order, or None when that
        position is not in the current epoch or the bounded history no longer reaches
        back that far (the caller then relies on a fresh snapshot)."""
        if self.redis is not None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.lrange(self.key("stream", stream_id, "history"), 0, -1)
                pipe.hmget(self.key("stream", stream_id, "pos"), ["epoch", "seq"])
                raw, (cur_epoch, cur_seq) = await pipe.execute()
            items = [m.encode() if isinstance(m, str) else m for m in raw]
            if cur_epoch is None:
                return None
            current_epoch = cur_epoch.decode() if isinstance(cur_epoch, bytes) else cur_epoch
            current = int(cur_seq or 0)
        else:
            items = list(self._local_history.get(stream_id, ()))
            current_epoch, current = self.epoch, self._local_last.get(stream_id, 0)
        if epoch != current_epoch or since > current:
            return None
        if since == current:
            return []
        positions = [message_position(m) for m in items]
        mine = [(m, s) for m, (e, s) in zip(items, positions, strict=True) if e == epoch]
        if not mine or mine[0][1] > since + 1:
            return None
        return [m for m, s in mine if s > since]

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
            # A Redis that does not answer must not hang a request (issue 15): connecting
            # gives up after 2 s, and waiting for a pooled connection after 5 s.
            settings.redis_url,
            max_connections=200,
            timeout=5,
            socket_connect_timeout=2,
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
