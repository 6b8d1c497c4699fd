"""The production backend of every live port (app/realtime/ports.py): Redis, shared by
every instance. All the Lua of the live path is here; each script is one atomic
decision, so nothing is read and then written by two clients at once.

Stock ({`RedisStockBook`}):
Stock held in Redis for selling: one Lua script per decision, so nothing is read and
then written by two clients at once.

Per lineup item (stream × product) Redis holds a hash mirrored from the database:

    stock     units left (allotted_stock − sold_units − units being written)
    allotted  the allotted_stock this mirror knows (a stock adjustment moves both)
    listed    "1" when on sale (上架)
    limit     units one viewer may hold at the live price (0 = no limit)
    f_id, f_left, f_limit, f_ends   the running flash sale, if any (ends: unix ms)

beside a hash of units held per viewer (`f:<flash id>:<viewer>` for flash-sale units)
and, per stream, the idempotency keys (`p|<token>|<fingerprint>|<ms>` while the order is
being written, `o|<order id>|<fingerprint>` once it is committed).

The database stays the authority: the mirror is built from it on first use (or after a
flush of Redis), every order still passes `sold_units + q <= allotted_stock AND status =
'listed'` in the database (which also gives the price), and a disagreement drops the
mirror so that the next order rebuilds it. Prices are never taken from the mirror.
All keys carry the stream in a hash tag, so a Redis Cluster keeps a stream on one slot.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable, Sequence

import orjson
import redis.asyncio as aioredis
import structlog

from app.domain.effects import LIVE_MINUTE, LIVE_PRODUCT, TOTALS, lua_effects
from app.realtime.broker import Broker
from app.realtime.counters import (
    DEDUP_TTL_SECONDS,
    PRODUCT_FIELDS,
    CounterState,
    cents,
    minute_of,
)
from app.realtime.memory import event_body
from app.realtime.outbox import PendingEvent
from app.realtime.ports import (
    HISTORY_SIZE,
    HISTORY_TTL_SECONDS,
    PEEK_ANSWERS,
    Mirror,
    Position,
    Take,
    mirror_fields,
    new_epoch,
    replay_after,
)
from app.schemas.events import EventIn

log = structlog.get_logger(__name__)


# --------------------------------------------------------------------------- broker


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


# --------------------------------------------------------------------------- event bus

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


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisEventBus:
    """Positions and the bounded history in Redis: every instance numbers a stream's
    events from the same counter."""

    def __init__(
        self,
        client: aioredis.Redis,
        broker: Broker,
        prefix: str,
        history_size: int = HISTORY_SIZE,
    ) -> None:
        self.redis = client
        self.broker = broker
        self.prefix = prefix
        self.history_size = history_size
        self.on_published: Callable[[int], None] | None = None
        self._publish = client.register_script(_PUBLISH_LUA)
        self._position = client.register_script(_POSITION_LUA)

    def channel(self, stream_id: int) -> str:
        return f"{self.prefix}stream:{stream_id}:events"

    def _keys(self, stream_id: int) -> list[str]:
        base = f"{self.prefix}stream:{stream_id}:"
        return [base + "pos", base + "history"]

    async def position(self, stream_id: int) -> Position:
        """A missing position is created here with a new epoch."""
        epoch, seq = await self._position(keys=self._keys(stream_id), args=[new_epoch()])
        return _str(epoch), int(seq)

    async def publish(self, event: PendingEvent) -> dict[str, object]:
        body = event_body(event)
        sid = event.stream_id
        eid = "" if event.id is None else str(event.id)
        epoch, seq = await self._publish(
            keys=[*self._keys(sid), f"{self.prefix}stream:{sid}:published:{eid or '-'}"],
            args=[
                orjson.dumps(body),
                self.channel(sid),
                self.history_size,
                HISTORY_TTL_SECONDS,
                new_epoch(),
                eid,
                PUBLISHED_ID_TTL_SECONDS,
            ],
        )
        if event.id is not None and self.on_published is not None:
            self.on_published(event.id)
        return {"epoch": _str(epoch), "seq": int(seq), **body}

    async def since(self, stream_id: int, epoch: str, seq: int) -> list[bytes] | None:
        pos_key, history_key = self._keys(stream_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrange(history_key, 0, -1)
            pipe.hmget(pos_key, ["epoch", "seq"])
            raw, (cur_epoch, cur_seq) = await pipe.execute()
        items = [m.encode() if isinstance(m, str) else m for m in raw]
        current = None if cur_epoch is None else (_str(cur_epoch), int(cur_seq or 0))
        return replay_after(items, current, epoch, seq)


# --------------------------------------------------------------------------- comment counts

# Running counts of a stream's comments by sentiment, kept incrementally.
#
# The alerts engine asks about once a second how many negative comments a stream has had
# (`negative_spike`); counting rows in the comments table for that grows with the
# stream. Instead intake adds each committed batch's negatives to a counter: one Redis
# `INCRBY` per batch in production (shared by every instance, so any instance's ticker
# reads the same number) and a dict in embedded mode (one process).
#
# The count is cumulative; the evaluator keeps its own short history and takes the
# difference over its window, so a counter that starts at 0 after an embedded restart
# only means the first window after it is measured from then.
COUNT_TTL_SECONDS = 3 * 24 * 3600


class RedisCommentCounts:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def _key(self, stream_id: int) -> str:
        return f"{self._prefix}live:{{{stream_id}}}:negative_comments"

    async def add_negative(self, stream_id: int, n: int) -> None:
        if not n:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incrby(self._key(stream_id), n)
            pipe.expire(self._key(stream_id), COUNT_TTL_SECONDS)
            await pipe.execute()

    async def negative(self, stream_id: int) -> int:
        raw = await self._redis.get(self._key(stream_id))
        return int(raw) if raw else 0


# --------------------------------------------------------------------------- counters

# KEYS: seen, totals, products, minutes, viewers, online
# ARGV: ttl, then one JSON array of the events, each
#       [event_id ('' = none), type, user_id, product_id ('' = none), units, cents, minute]
# One JSON argument instead of seven per event: redis-py packs every argument in Python,
# which cost more than the script itself (~3,500 arguments for a batch of 500).
# `effects`: per event type, what it adds to the totals (`tot`), the product's counters
# (`prod`) and the minute's (`mins`): {field, measure (1 one, 2 units, 3 amount), sign},
# generated from app/domain/effects.py.
_APPLY_LUA = """
local seen, tot, prod, mins, viewers, online = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local batch = cjson.decode(ARGV[2])
local effects = __EFFECTS__
local function by(e, units, amount)
  local measure = e[2]
  if measure == 1 then return e[3] elseif measure == 2 then return e[3] * units end
  return e[3] * amount
end
local fresh = 0
for _, ev in ipairs(batch) do
  local eid = ev[1]
  if eid == '' or redis.call('SADD', seen, eid) == 1 then
    fresh = fresh + 1
    local kind, uid, pid = ev[2], ev[3], ev[4]
    local units, amount, m = ev[5], ev[6], ev[7]
    local eff = effects[kind]
    for _, e in ipairs(eff.mins) do
      redis.call('HINCRBY', mins, m .. ':' .. e[1], by(e, units, amount))
    end
    for _, e in ipairs(eff.tot) do redis.call('HINCRBY', tot, e[1], by(e, units, amount)) end
    redis.call('SADD', viewers, uid)
    if kind == 'viewer_join' then
      if redis.call('SADD', online, uid) == 1 then
        local n = redis.call('SCARD', online)
        if n > tonumber(redis.call('HGET', tot, 'peak_online') or '0') then
          redis.call('HSET', tot, 'peak_online', n)
        end
        if n > tonumber(redis.call('HGET', mins, m .. ':online') or '0') then
          redis.call('HSET', mins, m .. ':online', n)
        end
      end
    elseif kind == 'viewer_leave' then
      redis.call('SREM', online, uid)
    end
    if pid ~= '' then
      for _, e in ipairs(eff.prod) do
        redis.call('HINCRBY', prod, pid .. ':' .. e[1], by(e, units, amount))
      end
    end
  end
end
for k = 1, 6 do redis.call('EXPIRE', KEYS[k], tonumber(ARGV[1])) end
return fresh
""".replace("__EFFECTS__", lua_effects({"tot": TOTALS, "prod": LIVE_PRODUCT, "mins": LIVE_MINUTE}))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisCounters:
    """Production: counters in Redis, so every instance reads the same numbers."""

    durable = True

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix
        self._apply = client.register_script(_APPLY_LUA)

    def _keys(self, stream_id: int) -> list[str]:
        # One hash tag per stream keeps a stream's keys in one Redis Cluster slot.
        base = f"{self._prefix}live:{{{stream_id}}}:"
        return [base + k for k in ("seen", "totals", "products", "minutes", "viewers", "online")]

    async def apply(self, stream_id: int, events: Sequence[EventIn]) -> int:
        if not events:
            return 0
        batch = orjson.dumps(
            [
                (
                    ev.event_id or "",
                    ev.type,
                    ev.user_id,
                    str(ev.product_id) if ev.product_id is not None else "",
                    ev.units,
                    cents(ev.amount),
                    str(minute_of(ev)),
                )
                for ev in events
            ]
        )
        return int(await self._apply(keys=self._keys(stream_id), args=[DEDUP_TTL_SECONDS, batch]))

    async def read(self, stream_id: int) -> CounterState:
        _, tot_key, prod_key, _, viewers_key, online_key = self._keys(stream_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(tot_key)
            pipe.hgetall(prod_key)
            pipe.scard(viewers_key)
            pipe.scard(online_key)
            raw_tot, raw_prod, viewers, online = await pipe.execute()
        state = CounterState(viewers=int(viewers), online=int(online))
        for k, v in raw_tot.items():
            state.totals[_text(k)] = int(v)
        for k, v in raw_prod.items():
            pid, name = _text(k).split(":", 1)
            prod = state.products.setdefault(int(pid), dict.fromkeys(PRODUCT_FIELDS, 0))
            prod[name] = int(v)
        return state

    async def held(self, stream_id: int, product_ids: Sequence[int]) -> dict[int, int]:
        if not product_ids:
            return {}
        prod_key = self._keys(stream_id)[2]
        raw = await self._redis.hmget(prod_key, [f"{pid}:held" for pid in product_ids])
        return {pid: int(v or 0) for pid, v in zip(product_ids, raw, strict=True)}

    async def minutes(self, stream_id: int) -> dict[int, dict[str, int]]:
        raw = await self._redis.hgetall(self._keys(stream_id)[3])
        out: dict[int, dict[str, int]] = defaultdict(dict)
        for k, v in raw.items():
            minute, name = _text(k).split(":", 1)
            out[int(minute)][name] = int(v)
        return dict(out)

    async def reset(self, stream_id: int) -> None:
        await self._redis.delete(*self._keys(stream_id))


# --------------------------------------------------------------------------- stock

TAKE = """
local v = redis.call('HGET', KEYS[3], ARGV[1])
if v then return {'dup', v} end
local it = redis.call('HMGET', KEYS[1], 'stock', 'listed', 'limit',
                      'f_id', 'f_left', 'f_limit', 'f_ends')
if not it[1] then return {'init'} end
if it[2] ~= '1' then return {'not_listed'} end
local qty = tonumber(ARGV[3])
local stock = tonumber(it[1])
local fid = it[4]
local flash = false
if fid and fid ~= '' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  flash = now < tonumber(it[7])
end
if ARGV[5] ~= '' and (not flash or ARGV[5] ~= fid) then return {'flash_over'} end
local limit, ufield, fleft
if flash then
  fleft = tonumber(it[5])
  if fleft < qty then return {'sold_out'} end
  limit = tonumber(it[6]); ufield = 'f:' .. fid .. ':' .. ARGV[2]
else
  limit = tonumber(it[3]); ufield = ARGV[2]; fid = ''; fleft = -1
end
if stock < qty then return {'sold_out'} end
local had = tonumber(redis.call('HGET', KEYS[2], ufield) or '0')
if limit > 0 and had + qty > limit then return {'limit_exceeded', tostring(limit)} end
redis.call('HINCRBY', KEYS[1], 'stock', -qty)
if flash then redis.call('HINCRBY', KEYS[1], 'f_left', -qty) end
redis.call('HINCRBY', KEYS[2], ufield, qty)
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
return {'ok', fid, tostring(stock - qty), tostring(fleft - qty)}
"""

# Would TAKE answer sold_out or flash_over? Reads only, in TAKE's order of checks, for a
# batch of orders of one stream (the flash-sale fast path sends the concurrent ones in one
# call). KEYS[1]: the stream's idempotency hash, KEYS[2..]: item mirrors. ARGV: four
# values per order: index of its item in KEYS, idempotency key, quantity, flash sale id
# ('' = none). Two lists: one answer per order (0 go, 1 sold_out, 2 flash_over) and the
# units an order that may go would find left (the flash sale's, when it runs and is
# fewer). A known idempotency key, a missing mirror (units -2: the first order builds
# it), an unlisted product or anything odd (a field missing, a key of the wrong type)
# answer 'go' with -1: those are for the full order path.
PEEK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local items = {}
local out = {}
local lefts = {}
for i = 1, #ARGV, 4 do
  local code = 0
  local left = -1
  if redis.pcall('HEXISTS', KEYS[1], ARGV[i + 1]) == 0 then
    local k = tonumber(ARGV[i])
    local it = items[k]
    if it == nil then
      it = redis.pcall('HMGET', KEYS[k], 'stock', 'listed', 'f_id', 'f_left', 'f_ends')
      if it.err then it = false end
      items[k] = it
    end
    local stock = it and tonumber(it[1])
    if it and not it[1] then
      left = -2
    end
    if stock and it[2] == '1' then
      local qty = tonumber(ARGV[i + 2])
      local fid = it[3]
      local flash = false
      local ok = true
      if fid and fid ~= '' then
        local ends = tonumber(it[5])
        if ends then flash = now < ends else ok = false end
      end
      local fleft = tonumber(it[4])
      if not ok or (flash and not fleft) then
        code = 0
      elseif ARGV[i + 3] ~= '' and (not flash or ARGV[i + 3] ~= fid) then
        code = 2
      elseif flash and fleft < qty then
        code = 1
      elseif stock < qty then
        code = 1
      elseif flash and fleft < stock then
        left = fleft
      else
        left = stock
      end
    end
  end
  out[#out + 1] = code
  lefts[#lefts + 1] = left
end
return {out, lefts}
"""
PEEK_BATCH = 256  # orders per PEEK call at most
PEEK_IN_FLIGHT = 2  # PEEK calls under way per process; later orders wait and batch up

# Give units back: a failed order (only while its idempotency entry is still ours) or a
# cancelled one (ARGV[1] == '').
GIVE_BACK = """
if ARGV[1] ~= '' then
  if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
  redis.call('HDEL', KEYS[3], ARGV[1])
end
local qty = tonumber(ARGV[4])
local fid = ARGV[5]
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'stock', qty)
  if fid ~= '' and redis.call('HGET', KEYS[1], 'f_id') == fid then
    redis.call('HINCRBY', KEYS[1], 'f_left', qty)
  end
end
local ufield = ARGV[3]
if fid ~= '' then ufield = 'f:' .. fid .. ':' .. ARGV[3] end
if redis.call('HEXISTS', KEYS[2], ufield) == 1 then
  redis.call('HINCRBY', KEYS[2], ufield, -qty)
end
return 1
"""

# Build the mirror from the database, unless another instance did it first.
INIT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
local n = tonumber(ARGV[1])
for i = 2, 1 + 2 * n, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
for i = 2 + 2 * n, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
"""

# Change fields of an existing mirror only (a missing one is built from the database).
PATCH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""

# The allotment changed to ARGV[1]: move the units left by the same difference. (It may
# dip below zero while orders that took units are still being written; they then fail
# the database's check and give the units back.)
SET_ALLOTTED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local delta = tonumber(ARGV[1]) - tonumber(redis.call('HGET', KEYS[1], 'allotted'))
redis.call('HINCRBY', KEYS[1], 'stock', delta)
redis.call('HSET', KEYS[1], 'allotted', ARGV[1])
return 1
"""

CLEAR_FLASH = """
if redis.call('HGET', KEYS[1], 'f_id') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'f_id', 'f_left', 'f_limit', 'f_ends')
return 1
"""


# Re-sync a mirror with the database's truth (app/services/stock_resync.py), only if it
# has not moved since it was read (ARGV[1]: the `stock` then) and no order of this product
# (ARGV[2]) is being written (an in-flight entry newer than ARGV[3] ms). Then ARGV[4]
# field/value pairs, the count and pairs of units held per viewer, and the abandoned
# in-flight entries (key, value) to forget.
RESYNC = """
if redis.call('HGET', KEYS[1], 'stock') ~= ARGV[1] then return 'moved' end
local fresh_after = tonumber(ARGV[3])
local idem = redis.call('HGETALL', KEYS[3])
for i = 2, #idem, 2 do
  local _, _, pid, ms = string.find(idem[i], '^p|[^|]*|(%d+):.*|(%d+)$')
  if pid == ARGV[2] and tonumber(ms) > fresh_after then return 'busy' end
end
redis.call('HDEL', KEYS[1], 'f_id', 'f_left', 'f_limit', 'f_ends')
local i = 5
for _ = 1, tonumber(ARGV[4]) do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]); i = i + 2
end
redis.call('DEL', KEYS[2])
local m = tonumber(ARGV[i]); i = i + 1
for _ = 1, m do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]); i = i + 2
end
while i < #ARGV do
  if redis.call('HGET', KEYS[3], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[3], ARGV[i])
  end
  i = i + 2
end
return 'ok'
"""


# A waiting peek: product id, idempotency key, quantity, flash sale id ('' = none), answer
_Peek = tuple[int, str, int, int | str, "asyncio.Future[tuple[str, int]]"]


def _s(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisStockBook:
    """The stock book in Redis for one app instance (scripts loaded once, run by SHA)."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix
        self._take = self.redis.register_script(TAKE)
        self._peek = self.redis.register_script(PEEK)
        self._give_back = self.redis.register_script(GIVE_BACK)
        self._init = self.redis.register_script(INIT)
        self._patch = self.redis.register_script(PATCH)
        self._set_allotted = self.redis.register_script(SET_ALLOTTED)
        self._clear_flash = self.redis.register_script(CLEAR_FLASH)
        self._resync = self.redis.register_script(RESYNC)
        self._build_locks: dict[tuple[int, int], asyncio.Lock] = {}
        self._peeks: dict[int, list[_Peek]] = {}  # waiting peeks per stream
        self._peek_scheduled = False
        self._peeks_in_flight = 0
        self._peek_tasks: set[asyncio.Future[None]] = set()

    def build_lock(self, stream_id: int, product_id: int) -> asyncio.Lock:
        """One mirror build per product at a time in this process: the first order after
        a start would otherwise send every waiting request to the database at once."""
        return self._build_locks.setdefault((stream_id, product_id), asyncio.Lock())

    def keys(self, stream_id: int, product_id: int) -> list[str]:
        tag = f"{{s{stream_id}}}"
        return [
            f"{self.prefix}stock:{tag}:{product_id}",
            f"{self.prefix}stock:{tag}:{product_id}:bought",
            f"{self.prefix}orders:{tag}:idem",
        ]

    async def take(
        self,
        stream_id: int,
        product_id: int,
        idem_key: str,
        viewer_id: str,
        quantity: int,
        pending: str,
        flash_id: int | None,
    ) -> Take:
        args: list[str | int] = [idem_key, viewer_id, quantity, pending, flash_id or ""]
        raw = await self._take(keys=self.keys(stream_id, product_id), args=args)
        res = [_s(x) for x in raw]
        if res[0] == "ok":
            return Take(
                "ok",
                flash_id=int(res[1]) if res[1] else None,
                stock_left=int(res[2]),
                flash_left=int(res[3]) if res[1] else None,
            )
        if res[0] == "dup":
            return Take("dup", existing=res[1])
        if res[0] == "limit_exceeded":
            return Take("limit_exceeded", limit=int(res[1]))
        return Take(res[0])

    async def peek(
        self, stream_id: int, product_id: int, idem_key: str, quantity: int, flash_id: int | None
    ) -> str:
        """'sold_out', 'flash_over' or 'go' (see PEEK); takes nothing."""
        answer, _ = await self.peek_left(stream_id, product_id, idem_key, quantity, flash_id)
        return answer

    async def peek_left(
        self, stream_id: int, product_id: int, idem_key: str, quantity: int, flash_id: int | None
    ) -> tuple[str, int]:
        """PEEK's answer and, for 'go', the units the order would find left (-2: no
        mirror yet, the full path builds it; -1: not known, e.g. a known key).

        Concurrent peeks are batched: the first one schedules a call for the next turn
        of the event loop, and while PEEK_IN_FLIGHT calls are under way new ones queue
        and go together when one returns. A flash sale's thousands of refusals per
        second then cost one Redis round trip per batch instead of one each (redis-py
        spends ~80 µs of CPU per command; a batched peek ~6 µs). A Redis error fails
        every peek of its batch (the fast path then hands them to the full path).
        """
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[tuple[str, int]] = loop.create_future()
        queue = self._peeks.get(stream_id)
        if queue is None:
            queue = self._peeks[stream_id] = []
        queue.append((product_id, idem_key, quantity, flash_id or "", fut))
        if not self._peek_scheduled and self._peeks_in_flight < PEEK_IN_FLIGHT:
            self._peek_scheduled = True
            loop.call_soon(self._send_peeks)
        return await fut

    def _send_peeks(self) -> None:
        self._peek_scheduled = False
        while self._peeks and self._peeks_in_flight < PEEK_IN_FLIGHT:
            stream_id, queue = next(iter(self._peeks.items()))
            del self._peeks[stream_id]
            batch, rest = queue[:PEEK_BATCH], queue[PEEK_BATCH:]
            if rest:
                self._peeks[stream_id] = rest  # at the end: streams take turns
            self._peeks_in_flight += 1
            task = asyncio.ensure_future(self._run_peeks(stream_id, batch))
            self._peek_tasks.add(task)
            task.add_done_callback(self._peek_tasks.discard)

    async def _run_peeks(self, stream_id: int, batch: list[_Peek]) -> None:
        try:
            keys = [self.keys(stream_id, 0)[2]]
            index: dict[int, int] = {}
            args: list[str | int] = []
            for product_id, idem_key, quantity, flash_id, _ in batch:
                k = index.get(product_id)
                if k is None:
                    keys.append(self.keys(stream_id, product_id)[0])
                    k = index[product_id] = len(keys)
                args += [k, idem_key, quantity, flash_id]
            codes, lefts = await self._peek(keys=keys, args=args)
            if len(codes) != len(batch):  # pragma: no cover - the script answers one each
                raise RuntimeError(f"PEEK answered {len(codes)} of {len(batch)}")
            for (*_, fut), code, left in zip(batch, codes, lefts, strict=True):
                if not fut.done():
                    fut.set_result((PEEK_ANSWERS[int(code)], int(left)))
        except asyncio.CancelledError:
            for *_, fut in batch:
                fut.cancel()
            raise
        except Exception as exc:
            for *_, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
        finally:
            self._peeks_in_flight -= 1
            if self._peeks and not self._peek_scheduled:
                self._peek_scheduled = True
                asyncio.get_running_loop().call_soon(self._send_peeks)

    async def give_back(
        self,
        stream_id: int,
        product_id: int,
        viewer_id: str,
        quantity: int,
        flash_id: int | None,
        idem_key: str = "",
        pending: str = "",
    ) -> bool:
        """Return units; with `idem_key`, only if that key still holds `pending`."""
        args: list[str | int] = [idem_key, pending, viewer_id, quantity, flash_id or ""]
        return bool(await self._give_back(keys=self.keys(stream_id, product_id), args=args))

    async def mark_done(self, stream_id: int, idem_key: str, value: str) -> None:
        await self.redis.hset(self.keys(stream_id, 0)[2], idem_key, value)

    async def mark_done_many(self, stream_id: int, values: dict[str, str]) -> None:
        """`mark_done` for several keys of one stream (one HSET)."""
        if values:
            await self.redis.hset(self.keys(stream_id, 0)[2], mapping=values)

    async def forget_key(self, stream_id: int, idem_key: str, expected: str) -> None:
        """Drop an abandoned in-flight entry (its request died before writing the order)."""
        key = self.keys(stream_id, 0)[2]
        if _s(await self.redis.hget(key, idem_key) or b"") == expected:
            await self.redis.hdel(key, idem_key)

    async def idem_entry(self, stream_id: int, idem_key: str) -> str | None:
        raw = await self.redis.hget(self.keys(stream_id, 0)[2], idem_key)
        return None if raw is None else _s(raw)

    async def init(self, stream_id: int, product_id: int, m: Mirror) -> bool:
        fields = mirror_fields(m)
        args: list[str | int] = [len(fields) // 2, *fields]
        for viewer, units in m.bought.items():
            args += [viewer, units]
        return bool(await self._init(keys=self.keys(stream_id, product_id), args=args))

    async def snapshot(
        self, stream_id: int, product_id: int
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The mirror's fields and the stream's idempotency entries, read atomically."""
        item, _, idem = self.keys(stream_id, product_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(item)
            pipe.hgetall(idem)
            raw_item, raw_idem = await pipe.execute()
        return (
            {_s(k): _s(v) for k, v in raw_item.items()},
            {_s(k): _s(v) for k, v in raw_idem.items()},
        )

    async def resync(
        self,
        stream_id: int,
        product_id: int,
        m: Mirror,
        *,
        expected_stock: str,
        fresh_after_ms: int,
        forget: dict[str, str],
    ) -> str:
        """Overwrite the mirror with `m` if it still holds `expected_stock` and no order
        of the product newer than `fresh_after_ms` is in flight: 'ok', 'moved' or 'busy'."""
        fields = mirror_fields(m)
        args: list[str | int] = [expected_stock, product_id, fresh_after_ms, len(fields) // 2]
        args += fields
        args.append(len(m.bought))
        for viewer, units in m.bought.items():
            args += [viewer, units]
        for key, value in forget.items():
            args += [key, value]
        return _s(await self._resync(keys=self.keys(stream_id, product_id), args=args))

    async def patch(self, stream_id: int, product_id: int, **fields: str | int) -> bool:
        args: list[str | int] = []
        for name, value in fields.items():
            args += [name, value]
        return bool(await self._patch(keys=self.keys(stream_id, product_id), args=args))

    async def set_allotted(self, stream_id: int, product_id: int, allotted: int) -> bool:
        keys = self.keys(stream_id, product_id)
        return bool(await self._set_allotted(keys=keys, args=[allotted]))

    async def clear_flash(self, stream_id: int, product_id: int, flash_id: int) -> bool:
        keys = self.keys(stream_id, product_id)
        return bool(await self._clear_flash(keys=keys, args=[flash_id]))

    async def drop(self, stream_id: int, product_id: int) -> None:
        """Forget the mirror: the next order rebuilds it from the database."""
        await self.redis.delete(self.keys(stream_id, product_id)[0])

    async def read_stock(self, stream_id: int, product_id: int) -> int | None:
        raw = await self.redis.hget(self.keys(stream_id, product_id)[0], "stock")
        return None if raw is None else int(raw)

    async def read_bought(self, stream_id: int, product_id: int) -> dict[str, int]:
        """Units held per viewer (`f:<flash id>:<viewer>` for flash-sale units)."""
        raw = await self.redis.hgetall(self.keys(stream_id, product_id)[1])
        return {_s(k): int(v) for k, v in raw.items()}

    async def read(self, stream_id: int, product_id: int) -> dict[str, str]:
        raw = await self.redis.hgetall(self.keys(stream_id, product_id)[0])
        return {_s(k): _s(v) for k, v in raw.items()}


# --------------------------------------------------------------------------- limits

# KEYS[1] the window's counter; ARGV[1] window (ms). Returns {count, ms left}.
_HIT_LUA = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""

# KEYS[1] the counter hash; ARGV: now, free misses, base delay, max delay, ttl (s).
# Returns the blocked-until time as a string (0 when not blocked).
_MISS_LUA = """
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local free = tonumber(ARGV[2])
local untl = 0
if n > free then
  local delay = tonumber(ARGV[3]) * (2 ^ (n - free - 1))
  if delay > tonumber(ARGV[4]) then delay = tonumber(ARGV[4]) end
  untl = tonumber(ARGV[1]) + delay
  redis.call('HSET', KEYS[1], 'until', tostring(untl))
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return tostring(untl)
"""


class RedisLimits:
    """Rate-limit windows and login-miss counts in Redis, shared by every instance."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.redis = client
        self._hit = client.register_script(_HIT_LUA)
        self._miss = client.register_script(_MISS_LUA)

    async def hit(self, key: str, window_ms: int) -> tuple[int, float]:
        count, ttl_ms = await self._hit(keys=[key], args=[window_ms])
        return int(count), int(ttl_ms) / 1000

    async def miss(
        self, key: str, now: float, free: int, base: float, cap: float, ttl: int
    ) -> None:
        await self._miss(keys=[key], args=[now, free, base, cap, ttl])

    async def blocked_until(self, key: str) -> float:
        raw = await self.redis.hget(key, "until")
        return float(raw) if raw else 0.0

    async def forget(self, key: str) -> None:
        await self.redis.delete(key)
