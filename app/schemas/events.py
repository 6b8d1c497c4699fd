"""Viewer events: the fast batch parser of the ingest contract and the API shapes.

Parsing is the ingest budget (performance.md: Python, not PostgreSQL, is the limit), so
a batch is read with orjson and checked by hand instead of through pydantic models:
about ten times cheaper per event, with the same all-or-nothing rule and a reason per
bad index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from app.bounds import DbId, DbInt, text_problem
from app.domain import effects
from app.schemas.common import Money, Schema, TextChecked, parse_money

EVENT_TYPES = frozenset(effects.EVENT_TYPES)
SOURCES = frozenset({"feed", "short_video", "follow", "search", "private", "ads", "other"})
EVENT_FIELDS = frozenset(
    {
        "type",
        "user_id",
        "event_id",
        "ts",
        "product_id",
        "text",
        "quantity",
        "amount",
        "source",
        "order_id",
    }
)
ORDER_EVENTS = frozenset({"order_created", "order_paid", "order_cancelled", "order_refunded"})
# Money is what makes these events mean anything: a paid order without an amount
# would silently leave GMV short.
NEEDS_AMOUNT = frozenset({"order_paid", "order_refunded"})
NEEDS_PRODUCT = frozenset({"product_click", "add_to_cart"})
MAX_BATCH = 1000
MAX_ID = 128
MAX_TEXT = 2000
MAX_QUANTITY = 10_000


@dataclass(slots=True)
class EventIn:
    """One viewer event, validated. Build these yourself to feed `record_events`:

    `EventIn("order_created", viewer_id, event_id=f"order:{order.id}:created",
    product_id=..., quantity=2, amount=Decimal("119.80"))`.
    `ts` defaults to now; `quantity` to 1 where it matters (orders, carts).
    """

    type: str
    user_id: str
    event_id: str | None = None
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))
    product_id: int | None = None
    text: str | None = None
    quantity: int | None = None
    amount: Decimal | None = None
    source: str | None = None
    order_id: str | None = None  # the platform's order id (connector order events)

    @property
    def units(self) -> int:
        return self.quantity if self.quantity is not None else 1


class BatchError(Exception):
    """A batch with bad events: `errors` lists `{"index", "reason"}` (index -1: the body)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} invalid event(s)")


def _str_field(ev: dict[str, Any], name: str, limit: int, required: bool) -> str | None:
    value = ev.get(name)
    if value is None:
        if required:
            raise ValueError(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    if required and not value.strip():
        raise ValueError(f"{name} must not be empty")
    if len(value) > limit:
        raise ValueError(f"{name} longer than {limit} characters")
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(f"{name} {problem}")
    return value


def _int_field(ev: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = ev.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}")
    return value


def _parse_ts(value: Any, now: datetime) -> datetime:
    if value is None:
        return now
    if not isinstance(value, str):
        raise ValueError("ts must be an RFC 3339 time string")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"ts is not an RFC 3339 time: {value!r}") from exc
    if ts.tzinfo is None:
        raise ValueError("ts must carry a time zone (e.g. 'Z' or '+08:00')")
    return ts.astimezone(UTC)


def parse_event(ev: Any, now: datetime) -> EventIn:
    """One event of the contract's shape, or ValueError with the reason."""
    if not isinstance(ev, dict):
        raise ValueError("an event must be a JSON object")
    unknown = ev.keys() - EVENT_FIELDS
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    kind = ev.get("type")
    if kind not in EVENT_TYPES:
        raise ValueError(f"type must be one of {', '.join(sorted(EVENT_TYPES))}")
    user_id = _str_field(ev, "user_id", MAX_ID, required=True)
    assert user_id is not None
    event_id = _str_field(ev, "event_id", MAX_ID, required=False)
    if event_id is not None and not event_id:
        raise ValueError("event_id must not be empty")
    text = _str_field(ev, "text", MAX_TEXT, required=kind == "comment")
    product_id = _int_field(ev, "product_id", 1, 2**31 - 1)
    if product_id is None and kind in NEEDS_PRODUCT:
        raise ValueError(f"product_id is required for {kind}")
    quantity = _int_field(ev, "quantity", 1, MAX_QUANTITY)
    amount: Decimal | None = None
    raw_amount = ev.get("amount")
    if raw_amount is not None:
        amount = parse_money(raw_amount)
    elif kind in NEEDS_AMOUNT:
        raise ValueError(f"amount is required for {kind}")
    source = ev.get("source")
    if source is not None:
        if kind != "viewer_join":
            raise ValueError("source is only meaningful on viewer_join")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(sorted(SOURCES))}")
    order_id = _str_field(ev, "order_id", MAX_ID, required=False)
    if order_id is not None:
        if kind not in ORDER_EVENTS:
            raise ValueError("order_id is only meaningful on order events")
        if not order_id.strip():
            raise ValueError("order_id must not be empty")
        if kind == "order_created" and product_id is None:
            raise ValueError("product_id is required for order_created with an order_id")
    return EventIn(
        kind,
        user_id,
        event_id,
        _parse_ts(ev.get("ts"), now),
        product_id,
        text,
        quantity,
        amount,
        source,
        order_id,
    )


def parse_batch(body: Any) -> list[EventIn]:
    """The events of an ingest body, or BatchError listing every bad index and reason."""
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise BatchError([{"index": -1, "reason": 'body must be {"events": [...]}'}])
    extra = body.keys() - {"events"}
    if extra:
        raise BatchError([{"index": -1, "reason": f"unknown field(s): {', '.join(sorted(extra))}"}])
    raw = body["events"]
    if not 1 <= len(raw) <= MAX_BATCH:
        raise BatchError([{"index": -1, "reason": f"send 1 to {MAX_BATCH} events per batch"}])
    now = datetime.now(UTC)
    out: list[EventIn] = []
    errors: list[dict[str, Any]] = []
    for i, ev in enumerate(raw):
        try:
            out.append(parse_event(ev, now))
        except ValueError as exc:
            errors.append({"index": i, "reason": str(exc)})
    if errors:
        raise BatchError(errors)
    return out


# --------------------------------------------------------------------------- API shapes


class IngestResult(BaseModel):
    accepted: int = Field(description="Events newly recorded")
    duplicates: int = Field(description="Events whose event_id had been recorded already")


class IngestKeyCreate(TextChecked):
    label: str = Field(default="", max_length=100, description="e.g. the connector's name")


class IngestKeyCreated(BaseModel):
    id: int
    key: str = Field(description="The key itself: shown this once, stored only hashed")
    prefix: str


class IngestKeyOut(Schema):
    id: int
    stream_id: int
    prefix: str
    label: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ProductMetrics(BaseModel):
    product_id: int
    clicks: int
    add_to_cart: int
    orders: int
    units_sold: int
    gmv: Money
    stock_left: int | None = Field(description="Allotted minus units held; null if not in lineup")


class MetricsOut(BaseModel):
    """The live metrics object (the same one the websocket pushes)."""

    stream_id: int
    online: int
    peak_online: int
    viewers: int = Field(description="Unique viewers: exact count of distinct user_ids")
    comments: int
    likes: int
    shares: int
    follows: int
    product_clicks: int
    add_to_cart: int
    orders: int
    paid_orders: int
    cancelled_orders: int
    refunded_orders: int
    units_sold: int
    gmv: Money
    refunds: Money
    products: list[ProductMetrics]


class MinuteMetrics(BaseModel):
    minute: datetime
    online: int = Field(description="Most viewers online at once in that minute")
    joins: int
    leaves: int
    comments: int
    likes: int
    shares: int
    follows: int
    product_clicks: int
    add_to_cart: int
    orders: int
    paid_orders: int
    units_sold: int
    gmv: Money


class ViewerSessionOut(BaseModel):
    viewer_id: str
    viewer_token: str
    expires_at: datetime


class ViewerActionIn(TextChecked):
    """A watch-page action by the viewer holding the token."""

    type: str = Field(
        description="viewer_join, viewer_leave, like, share, follow, product_click, add_to_cart"
    )
    event_id: str | None = Field(default=None, max_length=MAX_ID)
    product_id: DbId | None = None
    quantity: DbInt | None = None
    source: str | None = None
