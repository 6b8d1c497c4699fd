"""Exact live counters per stream, per product and per minute.

One interface, two backends chosen at start-up: `RedisCounters` (production, shared by
every instance: one Lua script per batch, so a batch is counted atomically and in one
round trip) and `MemoryCounters` (embedded mode, one process).

Counting rules (the same in both backends and in `app.services.eventlog.log_totals`,
which recomputes them from the durable log; what each event type adds to which
counter is the table in app/domain/effects.py, which both backends are built from):

* Counting is idempotent per `event_id`: the backend keeps the set of ids it counted,
  so an event counted once is never counted again, even if the log write and the
  count are retried separately after a crash.
* `viewers` (unique) is exact: a set of the `user_id`s seen in any event.
* `online` is a set of present viewers: `viewer_join` adds (however many joins, once),
  `viewer_leave` removes (a leave of someone not present is ignored). Arrival order,
  not `ts`, decides, since that is the order the platform reports presence in.
* `orders` counts `order_created`; `paid_orders`, `units_sold` (quantity, default 1)
  and `gmv` (amount) count `order_paid`; `order_refunded` adds to `refunds` and
  `refunded_orders` and leaves `gmv` alone (gmv is before refunds);
  `order_cancelled` adds to `cancelled_orders`. Per product, `held` = units of
  `order_created` minus units of `order_cancelled` (what the stock left subtracts).
* Money is kept in cents (integers), never floats.
* Per-minute figures are bucketed by the event's own `ts` (floored to the minute), so
  late events land in the minute they happened; `online` per minute is the peak.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
import redis.asyncio as aioredis

from app.domain.effects import (
    EVENT_TYPES,
    LIVE_MINUTE,
    LIVE_PRODUCT,
    TOTALS,
    Measure,
    lua_effects,
    plan,
)
from app.schemas.events import EventIn

TOTAL_FIELDS = (*TOTALS, "peak_online")
PRODUCT_FIELDS = tuple(LIVE_PRODUCT)
_TOTALS, _PRODUCT, _MINUTE = plan(TOTALS), plan(LIVE_PRODUCT), plan(LIVE_MINUTE)


def _effects(
    kind: str,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[Any, ...]]:
    """What one event of `kind` adds by one to the totals, the minute's and the
    product's counters, and (counter 0/1/2, column, measure, sign) for the rest."""
    ones: list[list[str]] = [[], [], []]
    valued = []
    for i, p in enumerate((_TOTALS, _MINUTE, _PRODUCT)):
        for column, measure, sign in p.by_type.get(kind, ()):
            if measure is Measure.ONE and sign == 1:
                ones[i].append(column)
            else:
                valued.append((i, column, measure, sign))
    return tuple(ones[0]), tuple(ones[1]), tuple(ones[2]), tuple(valued)


_EFFECTS = {kind: _effects(kind) for kind in EVENT_TYPES}

DEDUP_TTL_SECONDS = 3 * 24 * 3600


def cents(amount: Decimal | None) -> int:
    return int(amount * 100) if amount is not None else 0


def minute_of(ev: EventIn) -> int:
    return int(ev.ts.timestamp()) // 60


@dataclass
class CounterState:
    """What the counters hold for one stream (money in cents)."""

    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOTAL_FIELDS, 0))
    products: dict[int, dict[str, int]] = field(default_factory=dict)
    viewers: int = 0
    online: int = 0


class Counters(ABC):
    @abstractmethod
    async def apply(self, stream_id: int, events: Sequence[EventIn]) -> int:
        """Count the events not counted before (by event_id); return how many were new."""

    @abstractmethod
    async def read(self, stream_id: int) -> CounterState: ...

    @abstractmethod
    async def held(self, stream_id: int, product_ids: Sequence[int]) -> dict[int, int]:
        """Units held per product (orders created minus cancelled): the part of `read`
        that a stock announcement needs."""

    @abstractmethod
    async def minutes(self, stream_id: int) -> dict[int, dict[str, int]]:
        """Per-minute figures keyed by epoch minute: event type counts, units, gmv, online."""

    @abstractmethod
    async def reset(self, stream_id: int) -> None:
        """Forget a stream's counters (before rebuilding them from the log)."""


# --------------------------------------------------------------------------- memory


@dataclass
class _MemStream:
    seen: set[str] = field(default_factory=set)
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOTAL_FIELDS, 0))
    products: defaultdict[int, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys(PRODUCT_FIELDS, 0))
    )
    viewers: set[str] = field(default_factory=set)
    online: set[str] = field(default_factory=set)
    minutes: defaultdict[int, defaultdict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )


class MemoryCounters(Counters):
    """Embedded mode. Every method runs without awaiting, so a batch is atomic."""

    def __init__(self) -> None:
        self._streams: defaultdict[int, _MemStream] = defaultdict(_MemStream)

    async def apply(self, stream_id: int, events: Sequence[EventIn]) -> int:
        st = self._streams[stream_id]
        fresh = 0
        for ev in events:
            if ev.event_id is not None:
                if ev.event_id in st.seen:
                    continue
                st.seen.add(ev.event_id)
            fresh += 1
            self._count(st, ev)
        return fresh

    @staticmethod
    def _count(st: _MemStream, ev: EventIn) -> None:
        kind = ev.type
        to_total, to_minute, to_product, valued = _EFFECTS[kind]
        t = st.totals
        minute = st.minutes[minute_of(ev)]
        for column in to_total:
            t[column] += 1
        for column in to_minute:
            minute[column] += 1
        st.viewers.add(ev.user_id)
        if kind == "viewer_join":
            if ev.user_id not in st.online:
                st.online.add(ev.user_id)
                n = len(st.online)
                t["peak_online"] = max(t["peak_online"], n)
                minute["online"] = max(minute["online"], n)
        elif kind == "viewer_leave":
            st.online.discard(ev.user_id)
        product = None
        if ev.product_id is not None and kind in _PRODUCT.by_type:
            product = st.products[ev.product_id]
            for column in to_product:
                product[column] += 1
        if valued:
            values = (1, ev.units, cents(ev.amount))
            for row, column, measure, sign in valued:
                target = t if row == 0 else minute if row == 1 else product
                if target is not None:
                    target[column] += sign * values[measure]

    async def read(self, stream_id: int) -> CounterState:
        st = self._streams.get(stream_id)
        if st is None:
            return CounterState()
        return CounterState(
            totals=dict(st.totals),
            products={pid: dict(p) for pid, p in st.products.items()},
            viewers=len(st.viewers),
            online=len(st.online),
        )

    async def held(self, stream_id: int, product_ids: Sequence[int]) -> dict[int, int]:
        st = self._streams.get(stream_id)
        return {
            pid: st.products[pid]["held"] if st is not None and pid in st.products else 0
            for pid in product_ids
        }

    async def minutes(self, stream_id: int) -> dict[int, dict[str, int]]:
        st = self._streams.get(stream_id)
        if st is None:
            return {}
        return {m: dict(v) for m, v in st.minutes.items()}

    async def reset(self, stream_id: int) -> None:
        self._streams.pop(stream_id, None)


# --------------------------------------------------------------------------- redis

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


class RedisCounters(Counters):
    """Production: counters in Redis, so every instance reads the same numbers."""

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
