"""The embedded backend of every live port (app/realtime/ports.py): one process, no
Redis. Each method decides without awaiting in between, which is what makes it atomic,
as one Lua call is in app/realtime/redis.py; the answers are the same."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from app.realtime.broker import Broker
from app.realtime.counters import (
    EFFECTS,
    PER_PRODUCT_TYPES,
    PRODUCT_FIELDS,
    TOTAL_FIELDS,
    CounterState,
    cents,
    minute_of,
)
from app.realtime.outbox import PendingEvent
from app.realtime.ports import (
    HISTORY_SIZE,
    Mirror,
    Position,
    Take,
    in_flight_product,
    mirror_fields,
    new_epoch,
    replay_after,
)
from app.schemas.events import EventIn

LOCAL_PUBLISHED_IDS = 20_000  # outbox ids remembered as published


# --------------------------------------------------------------------------- broker


class InProcessBroker(Broker):
    """Embedded mode: one process, messages go straight to local handlers."""

    async def publish(self, channel: str, message: bytes) -> None:
        await self._dispatch(channel, message)

    async def ping(self) -> bool:
        return True


# --------------------------------------------------------------------------- event bus


class MemoryEventBus:
    """The seq counters live in this process, so each start is a new epoch."""

    def __init__(self, broker: Broker, prefix: str, history_size: int = HISTORY_SIZE) -> None:
        self.broker = broker
        self.prefix = prefix
        self.history_size = history_size
        self.epoch = new_epoch()
        self.on_published: Callable[[int], None] | None = None
        self._seq: defaultdict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._last: dict[int, int] = {}
        self._history: dict[int, deque[bytes]] = {}
        self._published: dict[int, None] = {}

    def channel(self, stream_id: int) -> str:
        return f"{self.prefix}stream:{stream_id}:events"

    async def position(self, stream_id: int) -> Position:
        return self.epoch, self._last.get(stream_id, 0)

    async def publish(self, event: PendingEvent) -> dict[str, object]:
        body = event_body(event)
        sid = event.stream_id
        if event.id is not None:  # the fast path and the relay may both try
            if event.id in self._published:
                return {"epoch": self.epoch, "seq": 0, **body}
            self._published[event.id] = None
            if len(self._published) > LOCAL_PUBLISHED_IDS:
                del self._published[next(iter(self._published))]
        # Number, remember and hand over without awaiting in between, so concurrent
        # publishers cannot reorder.
        seq = next(self._seq[sid])
        self._last[sid] = seq
        message: dict[str, object] = {"epoch": self.epoch, "seq": seq, **body}
        raw = orjson.dumps(message)
        history = self._history.setdefault(sid, deque())
        history.append(raw)
        while len(history) > self.history_size:
            history.popleft()
        await self.broker.publish(self.channel(sid), raw)
        if event.id is not None and self.on_published is not None:
            self.on_published(event.id)
        return message

    async def since(self, stream_id: int, epoch: str, seq: int) -> list[bytes] | None:
        items = list(self._history.get(stream_id, ()))
        return replay_after(items, (self.epoch, self._last.get(stream_id, 0)), epoch, seq)


def event_body(event: PendingEvent) -> dict[str, object]:
    """A published event's message without its position."""
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
    return body


# --------------------------------------------------------------------------- comment counts


class MemoryCommentCounts:
    def __init__(self) -> None:
        self._negative: dict[int, int] = {}

    async def add_negative(self, stream_id: int, n: int) -> None:
        if n:
            self._negative[stream_id] = self._negative.get(stream_id, 0) + n

    async def negative(self, stream_id: int) -> int:
        return self._negative.get(stream_id, 0)


# --------------------------------------------------------------------------- counters


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


class MemoryCounters:
    """Embedded mode. Every method runs without awaiting, so a batch is atomic."""

    durable = False  # recounted from the log at start-up (ingest.restore_counters)

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
        to_total, to_minute, to_product, valued = EFFECTS[kind]
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
        if ev.product_id is not None and kind in PER_PRODUCT_TYPES:
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


# --------------------------------------------------------------------------- stock


def _now_ms() -> int:
    return int(time.time() * 1000)


class MemoryStockBook:
    """The stock book of app/realtime/redis.py's scripts, in one process: the same
    fields (as strings), the same answers, decided without awaiting."""

    def __init__(self) -> None:
        self._items: dict[tuple[int, int], dict[str, str]] = {}
        self._bought: dict[tuple[int, int], dict[str, int]] = {}
        self._idem: dict[int, dict[str, str]] = {}
        self._build_locks: dict[tuple[int, int], asyncio.Lock] = {}

    def build_lock(self, stream_id: int, product_id: int) -> asyncio.Lock:
        return self._build_locks.setdefault((stream_id, product_id), asyncio.Lock())

    def _flash_running(self, it: dict[str, str]) -> bool:
        return bool(it.get("f_id")) and _now_ms() < int(it["f_ends"])

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
        idem = self._idem.setdefault(stream_id, {})
        if idem_key in idem:
            return Take("dup", existing=idem[idem_key])
        it = self._items.get((stream_id, product_id))
        if it is None:
            return Take("init")
        if it.get("listed") != "1":
            return Take("not_listed")
        flash = self._flash_running(it)
        fid = it.get("f_id", "")
        if flash_id is not None and (not flash or str(flash_id) != fid):
            return Take("flash_over")
        stock = int(it["stock"])
        if flash:
            fleft = int(it["f_left"])
            if fleft < quantity:
                return Take("sold_out")
            limit, ufield = int(it["f_limit"]), f"f:{fid}:{viewer_id}"
        else:
            limit, ufield, fid, fleft = int(it["limit"]), viewer_id, "", -1
        if stock < quantity:
            return Take("sold_out")
        bought = self._bought.setdefault((stream_id, product_id), {})
        had = bought.get(ufield, 0)
        if limit > 0 and had + quantity > limit:
            return Take("limit_exceeded", limit=limit)
        it["stock"] = str(stock - quantity)
        if flash:
            it["f_left"] = str(fleft - quantity)
        bought[ufield] = had + quantity
        idem[idem_key] = pending
        return Take(
            "ok",
            flash_id=int(fid) if fid else None,
            stock_left=stock - quantity,
            flash_left=fleft - quantity if fid else None,
        )

    async def peek(
        self, stream_id: int, product_id: int, idem_key: str, quantity: int, flash_id: int | None
    ) -> str:
        answer, _ = await self.peek_left(stream_id, product_id, idem_key, quantity, flash_id)
        return answer

    async def peek_left(
        self, stream_id: int, product_id: int, idem_key: str, quantity: int, flash_id: int | None
    ) -> tuple[str, int]:
        if idem_key in self._idem.get(stream_id, {}):
            return "go", -1
        it = self._items.get((stream_id, product_id))
        if it is None:
            return "go", -2
        if it.get("listed") != "1":
            return "go", -1
        flash = self._flash_running(it)
        if flash_id is not None and (not flash or str(flash_id) != it.get("f_id")):
            return "flash_over", -1
        stock = int(it["stock"])
        if flash and int(it["f_left"]) < quantity:
            return "sold_out", -1
        if stock < quantity:
            return "sold_out", -1
        return "go", min(int(it["f_left"]), stock) if flash else stock

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
        if idem_key:
            idem = self._idem.get(stream_id, {})
            if idem.get(idem_key) != pending:
                return False
            del idem[idem_key]
        fid = str(flash_id) if flash_id else ""
        it = self._items.get((stream_id, product_id))
        if it is not None:
            it["stock"] = str(int(it["stock"]) + quantity)
            if fid and it.get("f_id") == fid:
                it["f_left"] = str(int(it["f_left"]) + quantity)
        ufield = f"f:{fid}:{viewer_id}" if fid else viewer_id
        bought = self._bought.get((stream_id, product_id), {})
        if ufield in bought:
            bought[ufield] -= quantity
        return True

    async def mark_done(self, stream_id: int, idem_key: str, value: str) -> None:
        self._idem.setdefault(stream_id, {})[idem_key] = value

    async def mark_done_many(self, stream_id: int, values: dict[str, str]) -> None:
        self._idem.setdefault(stream_id, {}).update(values)

    async def forget_key(self, stream_id: int, idem_key: str, expected: str) -> None:
        idem = self._idem.get(stream_id, {})
        if idem.get(idem_key) == expected:
            del idem[idem_key]

    async def idem_entry(self, stream_id: int, idem_key: str) -> str | None:
        return self._idem.get(stream_id, {}).get(idem_key)

    @staticmethod
    def _fields(m: Mirror) -> dict[str, str]:
        flat = mirror_fields(m)
        return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat), 2)}

    async def init(self, stream_id: int, product_id: int, m: Mirror) -> bool:
        if (stream_id, product_id) in self._items:
            return False
        self._items[(stream_id, product_id)] = self._fields(m)
        self._bought[(stream_id, product_id)] = dict(m.bought)
        return True

    async def snapshot(
        self, stream_id: int, product_id: int
    ) -> tuple[dict[str, str], dict[str, str]]:
        item = self._items.get((stream_id, product_id), {})
        return dict(item), dict(self._idem.get(stream_id, {}))

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
        it = self._items.get((stream_id, product_id))
        if (it or {}).get("stock") != expected_stock:
            return "moved"
        idem = self._idem.setdefault(stream_id, {})
        for entry in idem.values():
            found = in_flight_product(entry)
            if found is not None and found[0] == product_id and found[1] > fresh_after_ms:
                return "busy"
        fields = {k: v for k, v in (it or {}).items() if not k.startswith("f_")}
        fields.update(self._fields(m))
        self._items[(stream_id, product_id)] = fields
        self._bought[(stream_id, product_id)] = dict(m.bought)
        for key, value in forget.items():
            if idem.get(key) == value:
                del idem[key]
        return "ok"

    async def patch(self, stream_id: int, product_id: int, **fields: str | int) -> bool:
        it = self._items.get((stream_id, product_id))
        if it is None:
            return False
        it.update({name: str(value) for name, value in fields.items()})
        return True

    async def set_allotted(self, stream_id: int, product_id: int, allotted: int) -> bool:
        it = self._items.get((stream_id, product_id))
        if it is None:
            return False
        it["stock"] = str(int(it["stock"]) + allotted - int(it["allotted"]))
        it["allotted"] = str(allotted)
        return True

    async def clear_flash(self, stream_id: int, product_id: int, flash_id: int) -> bool:
        it = self._items.get((stream_id, product_id))
        if it is None or it.get("f_id") != str(flash_id):
            return False
        for name in ("f_id", "f_left", "f_limit", "f_ends"):
            it.pop(name, None)
        return True

    async def drop(self, stream_id: int, product_id: int) -> None:
        self._items.pop((stream_id, product_id), None)

    async def read_stock(self, stream_id: int, product_id: int) -> int | None:
        it = self._items.get((stream_id, product_id))
        return None if it is None else int(it["stock"])

    async def read_bought(self, stream_id: int, product_id: int) -> dict[str, int]:
        return dict(self._bought.get((stream_id, product_id), {}))

    async def read(self, stream_id: int, product_id: int) -> dict[str, str]:
        return dict(self._items.get((stream_id, product_id), {}))


# --------------------------------------------------------------------------- limits

MEMORY_LIMIT_KEYS = 100_000  # keys remembered at most (the oldest go first)


class MemoryLimits:
    """Rate-limit windows and login-miss counts of this process."""

    def __init__(self) -> None:
        self._windows: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._misses: OrderedDict[str, tuple[int, float, float]] = OrderedDict()

    async def hit(self, key: str, window_ms: int) -> tuple[int, float]:
        now = time.monotonic()
        count, ends = self._windows.pop(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window_ms / 1000
        count += 1
        self._windows[key] = (count, ends)
        while len(self._windows) > MEMORY_LIMIT_KEYS:
            self._windows.popitem(last=False)
        return count, ends - now

    async def miss(
        self, key: str, now: float, free: int, base: float, cap: float, ttl: int
    ) -> None:
        count, until, expires = self._misses.pop(key, (0, 0.0, 0.0))
        if expires <= now:
            count, until = 0, 0.0
        count += 1
        if count > free:
            until = now + min(base * 2 ** min(count - free - 1, 40), cap)
        self._misses[key] = (count, until, now + ttl)
        while len(self._misses) > MEMORY_LIMIT_KEYS:
            self._misses.popitem(last=False)

    async def blocked_until(self, key: str) -> float:
        entry = self._misses.get(key)
        return entry[1] if entry is not None and entry[2] > time.time() else 0.0

    async def forget(self, key: str) -> None:
        self._misses.pop(key, None)
