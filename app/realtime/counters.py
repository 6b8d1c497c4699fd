"""Exact live counters per stream, per product and per minute.

One port (`app.realtime.ports.Counters`), two backends chosen at start-up:
`RedisCounters` in app/realtime/redis.py (production, shared by every instance: one Lua
script per batch, so a batch is counted atomically and in one round trip) and
`MemoryCounters` in app/realtime/memory.py (embedded mode, one process). This module
holds what both share: the rules below, the effect plans and the state they read.

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

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.domain.effects import EVENT_TYPES, LIVE_MINUTE, LIVE_PRODUCT, TOTALS, Measure, plan
from app.schemas.events import EventIn

TOTAL_FIELDS = (*TOTALS, "peak_online")
PRODUCT_FIELDS = tuple(LIVE_PRODUCT)
_TOTALS, _PRODUCT, _MINUTE = plan(TOTALS), plan(LIVE_PRODUCT), plan(LIVE_MINUTE)
# Event types that count per product (when they name one).
PER_PRODUCT_TYPES = frozenset(_PRODUCT.by_type)


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


EFFECTS = {kind: _effects(kind) for kind in EVENT_TYPES}

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
