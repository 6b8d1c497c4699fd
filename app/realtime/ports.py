"""The live ports: what services need from the live machinery, not how a backend does it.

Each port has one implementation per backend, one module each: `app/realtime/memory.py`
(embedded mode: one process, no Redis) and `app/realtime/redis.py` (production: shared by
every instance; all the Lua is there). `app/realtime/state.build_live` picks one set at
start-up and freezes it in a `Live`. Services call the ports and never ask which backend
is behind them: the embedded mode runs the same service code (e.g. the in-memory
`StockBook` answers exactly as the Redis script does).

* `EventBus`: number a stream's discrete events (`publish` → its position), tell the
  current position, replay the events after a position (`since`).
* `Counters`: the exact live figures per stream (rules: `app/realtime/counters.py`).
* `StockBook`: units of a lineup item taken for orders before the database writes them
  (take, peek, give back, the idempotency entries, the mirror of the database's stock).
* `CommentCounts`: running negative-comment counts for the alerts engine.
* `Limits`: rate-limit windows and the login throttle's miss counts.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import orjson

if TYPE_CHECKING:
    from app.realtime.counters import CounterState
    from app.realtime.outbox import PendingEvent
    from app.schemas.events import EventIn

Position = tuple[str, int]  # (epoch, seq) of a stream's latest event

HISTORY_SIZE = 1000  # events a bus keeps per stream for `since`
HISTORY_TTL_SECONDS = 2 * 24 * 3600


def new_epoch() -> str:
    """A fresh epoch: hex milliseconds of now, then random hex. Later epochs sort after
    earlier ones (as strings), so a late message of an old epoch can be recognised."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(3)}"


def message_position(raw: bytes | str) -> Position:
    msg = orjson.loads(raw)
    return str(msg.get("epoch", "")), int(msg["seq"])


def replay_after(
    items: Sequence[bytes], current: Position | None, epoch: str, since: int
) -> list[bytes] | None:
    """The messages of `items` (a stream's bounded history, in order) after position
    (epoch, since), or None when that position is not in the current epoch or the history
    no longer reaches back that far: one rule for every bus."""
    if current is None:
        return None
    current_epoch, current_seq = current
    if epoch != current_epoch or since > current_seq:
        return None
    if since == current_seq:
        return []
    positions = [message_position(m) for m in items]
    mine = [(m, s) for m, (e, s) in zip(items, positions, strict=True) if e == epoch]
    if not mine or mine[0][1] > since + 1:
        return None
    return [m for m, s in mine if s > since]


class EventBus(Protocol):
    """Numbers, remembers and delivers a stream's discrete events, in `seq` order."""

    # Called with an outbox id once its event is published (app/realtime/outbox.py).
    on_published: Callable[[int], None] | None
    history_size: int  # events kept per stream for `since`

    def channel(self, stream_id: int) -> str:
        """The broker channel the stream's numbered events are delivered on."""
        ...

    async def publish(self, event: PendingEvent) -> dict[str, object]:
        """Number the event and deliver it; the message as delivered (epoch, seq, …).
        An event with an outbox id is published once (a repeat answers seq 0)."""
        ...

    async def position(self, stream_id: int) -> Position: ...

    async def since(self, stream_id: int, epoch: str, seq: int) -> list[bytes] | None:
        """The stream's events after (epoch, seq), or None: too old or another epoch."""
        ...


class Counters(Protocol):
    # True when the figures outlive this process (Redis); the embedded counters are
    # recounted from the log at start-up.
    durable: bool

    async def apply(self, stream_id: int, events: Sequence[EventIn]) -> int:
        """Count the events not counted before (by event_id); return how many were new."""
        ...

    async def read(self, stream_id: int) -> CounterState: ...

    async def held(self, stream_id: int, product_ids: Sequence[int]) -> dict[int, int]:
        """Units held per product (orders created minus cancelled): the part of `read`
        that a stock announcement needs."""
        ...

    async def minutes(self, stream_id: int) -> dict[int, dict[str, int]]:
        """Per-minute figures keyed by epoch minute: event type counts, units, gmv, online."""
        ...

    async def reset(self, stream_id: int) -> None:
        """Forget a stream's counters (before rebuilding them from the log)."""
        ...


class CommentCounts(Protocol):
    async def add_negative(self, stream_id: int, n: int) -> None: ...

    async def negative(self, stream_id: int) -> int: ...


@dataclass(frozen=True)
class Take:
    """What `StockBook.take` decided."""

    outcome: str  # ok | dup | init | not_listed | sold_out | limit_exceeded | flash_over
    flash_id: int | None = None
    stock_left: int | None = None
    flash_left: int | None = None
    existing: str | None = None  # the idempotency entry, for "dup"
    limit: int | None = None  # for "limit_exceeded"


@dataclass(frozen=True)
class Mirror:
    """The database state a lineup item's stock mirror is built from."""

    stock: int
    allotted: int
    listed: bool
    limit: int
    bought: dict[str, int]
    flash_id: int | None = None
    flash_left: int = 0
    flash_limit: int = 0
    flash_ends_ms: int = 0


PEEK_ANSWERS = ("go", "sold_out", "flash_over")


class StockBook(Protocol):
    """Units of each lineup item (stream × product) on sale, taken for orders before the
    database writes them; the database stays the authority (app/services/order_placement.py).

    Per item the book mirrors the database's stock (`stock`, `allotted`, `listed`,
    `limit`, the running flash sale `f_id`, `f_left`, `f_limit`, `f_ends`), the units
    held per viewer (`f:<flash id>:<viewer>` for flash-sale units) and, per stream, the
    idempotency entries (`p|<token>|<fingerprint>|<ms>` while an order is being written,
    `o|<order id>|<fingerprint>` once committed). Every call decides atomically."""

    def build_lock(self, stream_id: int, product_id: int) -> asyncio.Lock:
        """One mirror build per item at a time in this process."""
        ...

    async def take(
        self,
        stream_id: int,
        product_id: int,
        idem_key: str,
        viewer_id: str,
        quantity: int,
        pending: str,
        flash_id: int | None,
    ) -> Take: ...

    async def peek(
        self, stream_id: int, product_id: int, idem_key: str, quantity: int, flash_id: int | None
    ) -> str:
        """'sold_out', 'flash_over' or 'go': would `take` refuse? Takes nothing."""
        ...

    async def peek_left(
        self, stream_id: int, product_id: int, idem_key: str, quantity: int, flash_id: int | None
    ) -> tuple[str, int]:
        """`peek`'s answer and, for 'go', the units the order would find left (-2: no
        mirror yet, the full path builds it; -1: not known, e.g. a known key)."""
        ...

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
        ...

    async def mark_done(self, stream_id: int, idem_key: str, value: str) -> None: ...

    async def mark_done_many(self, stream_id: int, values: dict[str, str]) -> None: ...

    async def forget_key(self, stream_id: int, idem_key: str, expected: str) -> None:
        """Drop an abandoned in-flight entry (its request died before writing the order)."""
        ...

    async def idem_entry(self, stream_id: int, idem_key: str) -> str | None: ...

    async def init(self, stream_id: int, product_id: int, m: Mirror) -> bool:
        """Build the item's mirror, unless one exists already."""
        ...

    async def snapshot(
        self, stream_id: int, product_id: int
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The mirror's fields and the stream's idempotency entries, read atomically."""
        ...

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
        ...

    async def patch(self, stream_id: int, product_id: int, **fields: str | int) -> bool:
        """Change fields of an existing mirror (a missing one is built on first use)."""
        ...

    async def set_allotted(self, stream_id: int, product_id: int, allotted: int) -> bool:
        """The allotment changed: move the units left by the same difference."""
        ...

    async def clear_flash(self, stream_id: int, product_id: int, flash_id: int) -> bool: ...

    async def drop(self, stream_id: int, product_id: int) -> None:
        """Forget the mirror: the next order rebuilds it from the database."""
        ...

    async def read_stock(self, stream_id: int, product_id: int) -> int | None: ...

    async def read_bought(self, stream_id: int, product_id: int) -> dict[str, int]: ...

    async def read(self, stream_id: int, product_id: int) -> dict[str, str]: ...


class Limits(Protocol):
    """Counters for rate limits and the login throttle, keyed by the caller."""

    async def hit(self, key: str, window_ms: int) -> tuple[int, float]:
        """Count one hit in `key`'s fixed window (started by the first hit, `window_ms`
        long): (hits so far in the window, seconds until it ends)."""
        ...

    async def miss(
        self, key: str, now: float, free: int, base: float, cap: float, ttl: int
    ) -> None:
        """Count a miss: after `free` misses each further one blocks `key` until `now`
        plus a delay doubling from `base` up to `cap`; the count fades after `ttl` s."""
        ...

    async def blocked_until(self, key: str) -> float:
        """The unix time `key` is blocked until (0: not blocked)."""
        ...

    async def forget(self, key: str) -> None: ...


def mirror_fields(m: Mirror) -> list[str | int]:
    """The mirror's fields as name, value pairs (flat)."""
    fields: list[str | int] = ["stock", m.stock, "allotted", m.allotted]
    fields += ["listed", "1" if m.listed else "0", "limit", m.limit]
    if m.flash_id is not None:
        fields += ["f_id", m.flash_id, "f_left", m.flash_left]
        fields += ["f_limit", m.flash_limit, "f_ends", m.flash_ends_ms]
    return fields


# An in-flight idempotency entry: p|<token>|<product>:<qty>:<viewer>|<ms>  (the viewer
# id may itself contain "|" or ":")
PENDING_ENTRY = re.compile(r"^p\|[^|]*\|(\d+):(\d+):.*\|(\d+)$")


def in_flight_product(entry: str) -> tuple[int, int] | None:
    """(product id, ms) of an in-flight idempotency entry, None for any other entry."""
    m = PENDING_ENTRY.match(entry)
    return (int(m[1]), int(m[3])) if m else None
