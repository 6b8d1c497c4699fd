"""What each viewer event counts for: the one table of event effects.

Every place that counts events derives its rules from `EVENTS` below:

* the live counters, in process (`realtime.counters.MemoryCounters`) and in Redis (the
  Lua script's effect table is generated from here: `lua_effects`);
* `eventlog.log_totals` (the counters recomputed from the log with SQL aggregates);
* the viewer and minute rollups (`stream_viewers`, `stream_minutes`) and the review's
  rollups (`stream_product_minutes`, `stream_product_seconds`, `stream_seconds`),
  folded in Python on SQLite (`Plan.add`) and in SQL on PostgreSQL (`sql_sum`);
* `review_from_log` (the review recomputed from the log).

Adding an event type is one line in `EVENTS` (and nothing else if it feeds existing
metrics). For example a connector's "order shipped":

    EventType("order_shipped", count="shipped_orders", scopes=PRODUCT),

Its own count column (`shipped_orders` here) then appears in every column list derived
from the table (`TOTALS`, `VIEWER_ROLLUP`, `MINUTE_ROLLUP`, `PRODUCT_ROLLUP` ...): the
live counters pick it up by themselves; the rollup tables need the column in
app/models and a migration, and tests/foundation/test_event_effects.py says which are
missing. A new value metric (a sum of units or amounts) is a `units=` / `amount=` name.

Not sums, so not in this table: unique viewers (a set of user ids) and presence
(`viewer_join` / `viewer_leave` replayed in arrival order: online now, its peak, watch
time), which each backend keeps by the rules in `realtime.counters`' docstring.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Protocol, TypeVar

ZERO = Decimal("0.00")


class Scope(enum.Flag):
    """Which per-product / per-second rollups an event type is counted in (every type
    is counted in the stream totals, the per-viewer and the per-minute rollups)."""

    NONE = 0
    PRODUCT = enum.auto()
    """per product: the live product counters and `stream_product_minutes`"""
    PRODUCT_SECOND = enum.auto()
    """`stream_product_seconds` (explanation windows)"""
    SECOND = enum.auto()
    """`stream_seconds` (script segments)"""


WINDOW = Scope.PRODUCT_SECOND | Scope.SECOND
PRODUCT = Scope.PRODUCT


class Measure(enum.IntEnum):
    """What one event adds to a metric: 1, its units (quantity, default 1), its amount."""

    ONE = 0
    UNITS = 1
    AMOUNT = 2


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    count: str
    """the metric counting events of this type"""
    scopes: Scope = Scope.NONE
    units: str | None = None
    """the metric summing their units"""
    amount: str | None = None
    """the metric summing their amounts (money)"""
    held: int = 0
    """+1/-1: their units are held from / given back to the product's stock"""


# ---------------------------------------------------------------------- the table
EVENTS: Final[tuple[EventType, ...]] = (
    EventType("viewer_join", count="joins"),
    EventType("viewer_leave", count="leaves"),
    EventType("comment", count="comments", scopes=Scope.SECOND),
    EventType("like", count="likes"),
    EventType("share", count="shares"),
    EventType("follow", count="follows"),
    EventType("product_click", count="product_clicks", scopes=PRODUCT | WINDOW),
    EventType("add_to_cart", count="add_to_cart", scopes=PRODUCT | WINDOW),
    EventType("order_created", count="orders", scopes=PRODUCT | WINDOW, held=+1),
    EventType(
        "order_paid", count="paid_orders", scopes=PRODUCT | WINDOW, units="units_sold", amount="gmv"
    ),
    EventType("order_cancelled", count="cancelled_orders", scopes=PRODUCT, held=-1),
    EventType("order_refunded", count="refunded_orders", scopes=PRODUCT, amount="refunds"),
)
# --------------------------------------------------------------------------------

EVENT_TYPES: Final = tuple(e.name for e in EVENTS)
COUNT_OF: Final = {e.name: e.count for e in EVENTS}
"""event type -> the metric counting it"""
MONEY_METRICS: Final = frozenset(e.amount for e in EVENTS if e.amount is not None)
PRESENCE_TYPES: Final = frozenset({"viewer_join", "viewer_leave"})

Term = tuple[str, Measure, int]
"""(event type, measure, sign): a metric is the sum of its terms over the events."""


def _metrics() -> dict[str, tuple[Term, ...]]:
    terms: dict[str, list[Term]] = {}
    for e in EVENTS:
        terms.setdefault(e.count, []).append((e.name, Measure.ONE, 1))
    for e in EVENTS:
        if e.units is not None:
            terms.setdefault(e.units, []).append((e.name, Measure.UNITS, 1))
        if e.amount is not None:
            terms.setdefault(e.amount, []).append((e.name, Measure.AMOUNT, 1))
    for e in EVENTS:
        if e.held:
            terms.setdefault("held", []).append((e.name, Measure.UNITS, e.held))
    return {name: tuple(t) for name, t in terms.items()}


METRICS: Final[Mapping[str, tuple[Term, ...]]] = _metrics()
"""metric name -> its terms (counts, value sums, `held`)."""


def _counts(scope: Scope | None = None) -> list[str]:
    return [e.count for e in EVENTS if scope is None or scope & e.scopes]


def _values(scope: Scope | None = None) -> list[str]:
    out: list[str] = []
    for e in EVENTS:
        if scope is None or scope & e.scopes:
            out += [m for m in (e.units, e.amount) if m is not None and m not in out]
    return out


def _columns(*names: str, **aliases: str) -> dict[str, str]:
    return {**{n: n for n in names}, **aliases}


# The metric column lists: column -> metric, in column order.
COUNTS: Final = tuple(_counts())
"""every count, one per event type (the columns shared by the viewer and minute rollups)"""
TOTALS: Final = _columns(*COUNTS, *_values())
"""the stream's totals (live counters, `log_totals`) and `stream_minutes`"""
MINUTE_ROLLUP: Final = TOTALS
VIEWER_ROLLUP: Final = _columns(
    *COUNTS, units_bought="units_sold", paid_amount="gmv", refunded_amount="refunds"
)
"""`stream_viewers` (what a viewer bought, paid, was refunded)"""
PRODUCT_ROLLUP: Final = _columns(*_counts(PRODUCT), *_values(PRODUCT))
"""`stream_product_minutes`"""
PRODUCT_SECOND_ROLLUP: Final = _columns(
    *_counts(Scope.PRODUCT_SECOND), *_values(Scope.PRODUCT_SECOND)
)
"""`stream_product_seconds`"""
SECOND_ROLLUP: Final = _columns(*_counts(Scope.SECOND), *_values(Scope.SECOND))
"""`stream_seconds`"""
LIVE_PRODUCT: Final = {
    "clicks": "product_clicks",
    "add_to_cart": "add_to_cart",
    "orders": "orders",
    "units_sold": "units_sold",
    "gmv": "gmv",
    "held": "held",
}
"""the live counters per product (the contract's `metrics.products[]`, plus `held`)"""
LIVE_MINUTE: Final = {**{e.name: e.count for e in EVENTS}, **_columns("units_sold", "gmv")}
"""the live counters per minute: a count per event type (keyed by the type), units, gmv"""


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """A column list compiled for folding: per event type, what it adds to which column."""

    columns: tuple[str, ...]
    metrics: tuple[str, ...]
    """the metric each column holds"""
    by_type: Mapping[str, tuple[tuple[str, Measure, int], ...]]
    money: frozenset[str]
    """the columns that sum amounts"""

    @property
    def types(self) -> tuple[str, ...]:
        """The event types that count in these columns (others make no row)."""
        return tuple(self.by_type)

    def add(self, row: dict[str, Any], kind: str, n: Any, units: Any, amount: Any) -> bool:
        """Add `n` events of `kind` with these summed units and amounts to `row` (each
        column must be there); False if the type counts in none of the columns."""
        effects = self.by_type.get(kind)
        if effects is None:
            return False
        values = (n, units, amount)
        for column, measure, sign in effects:
            row[column] += values[measure] * sign
        return True

    def zero(self, money_zero: Any = 0) -> dict[str, Any]:
        """A row of zeros (`money_zero` in the money columns)."""
        return {c: money_zero if c in self.money else 0 for c in self.columns}


def plan(columns: Mapping[str, str]) -> Plan:
    """Compile a column list (column -> metric) for `Plan.add` / `fold`."""
    by_type: dict[str, list[tuple[str, Measure, int]]] = {}
    for kind in EVENT_TYPES:
        for column, metric in columns.items():
            for t_kind, measure, sign in METRICS[metric]:
                if t_kind == kind:
                    by_type.setdefault(kind, []).append((column, measure, sign))
    money = frozenset(c for c, m in columns.items() if m in MONEY_METRICS)
    by_type_t = {k: tuple(v) for k, v in by_type.items()}
    return Plan(tuple(columns), tuple(columns.values()), by_type_t, money)


class EventLike(Protocol):
    """What a fold reads of an event (`schemas.events.EventIn` has it)."""

    @property
    def type(self) -> str: ...
    @property
    def units(self) -> int: ...
    @property
    def amount(self) -> Decimal | None: ...


E = TypeVar("E", bound=EventLike)


def fold(
    events: Iterable[E],
    p: Plan,
    key_of: Callable[[E], Hashable | None],
    rows: dict[Any, dict[str, Any]] | None = None,
) -> dict[Any, dict[str, Any]]:
    """Sum `events` into rows by `key_of` (None: not counted) per plan `p`, money as
    `Decimal`; only events of the plan's types make rows."""
    rows = {} if rows is None else rows
    for ev in events:
        kind = ev.type
        if kind not in p.by_type:
            continue
        key = key_of(ev)
        if key is None:
            continue
        row = rows.get(key)
        if row is None:
            row = rows[key] = p.zero(ZERO)
        p.add(row, kind, 1, ev.units, ev.amount or ZERO)
    return rows


_SQL_MEASURE = {
    Measure.ONE: "count(*) FILTER (WHERE type = '{t}')",
    Measure.UNITS: "COALESCE(sum(COALESCE(quantity, 1)) FILTER (WHERE type = '{t}'), 0)",
    Measure.AMOUNT: "COALESCE(sum(amount) FILTER (WHERE type = '{t}'), 0)",
}


def sql_sum(metric: str) -> str:
    """PostgreSQL aggregate of `metric` over `stream_events` rows (type, quantity, amount)."""
    parts = []
    for kind, measure, sign in METRICS[metric]:
        expr = _SQL_MEASURE[measure].format(t=kind)
        parts.append(expr if sign == 1 else f"- {expr}")
    return " + ".join(parts).replace("+ -", "-")


def lua_effects(tables: Mapping[str, Mapping[str, str]]) -> str:
    """A Lua table literal `{type = {table = {{column, measure, sign}, ...}, ...}, ...}`
    (measure: 1 = one, 2 = units, 3 = amount, as Lua indexes from 1) for the Redis
    counters' script."""

    def quote(s: str) -> str:
        assert s.isidentifier(), s
        return f"'{s}'"

    compiled = {name: plan(cols) for name, cols in tables.items()}
    lines = []
    for kind in EVENT_TYPES:
        parts = []
        for name, p in compiled.items():
            effects = p.by_type.get(kind, ())
            inner = ", ".join(f"{{{quote(c)}, {int(m) + 1}, {s}}}" for c, m, s in effects)
            parts.append(f"{name} = {{{inner}}}")
        lines.append(f"  {kind} = {{{', '.join(parts)}}}")
    return "{\n" + ",\n".join(lines) + "\n}"
