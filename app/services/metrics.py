"""The live `metrics` object (contract.md) and the built-in parts of the snapshot.

`stock_left` ("left", docs/metrics.md) = allotted stock − units held by the order
book's orders that are not cancelled or refunded (`LineupItem.sold_units`). Every sale
is in the order book whatever its source (watch page, ingest key, a connector's order
events with `order_id`), so this one number is what every console, the watch page, the
storefront API and the metrics show. An order event without `order_id` is counted in
the funnel but holds no stock (it names no order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import LineupItem, Product, StreamStatus
from app.realtime.counters import PRODUCT_FIELDS, CounterState
from app.realtime.protocol import PUBLIC_METRICS, VIEWER
from app.realtime.snapshot import SnapshotContext
from app.realtime.state import Live
from app.schemas.common import format_money
from app.teamtime import local


@dataclass(frozen=True, slots=True)
class StockLine:
    product_id: int
    allotted_stock: int
    sold_units: int


async def load_stock(
    session: AsyncSession, stream_id: int, product_ids: Sequence[int] | None = None
) -> list[StockLine]:
    """The stream's lineup stock, in lineup order (only `product_ids` if given)."""
    query = select(LineupItem.product_id, LineupItem.allotted_stock, LineupItem.sold_units).where(
        LineupItem.stream_id == stream_id
    )
    if product_ids is not None:
        query = query.where(LineupItem.product_id.in_(product_ids))
    rows = await session.execute(query.order_by(LineupItem.position, LineupItem.id))
    return [StockLine(*r) for r in rows]


def stock_left(line: StockLine, held: int | None = None) -> int:
    """Allotted stock minus the units held by the order book's orders not cancelled
    (`held`, the counters' count from events, is no longer part of it)."""
    return left_of(line.allotted_stock, line.sold_units)


def left_of(allotted_stock: int, sold_units: int) -> int:
    """ "Left" (docs/metrics.md): the one definition every reader uses."""
    return max(0, allotted_stock - sold_units)


def _money(value_cents: int) -> str:
    return format_money(Decimal(value_cents).scaleb(-2))


def build_metrics(stream_id: int, state: CounterState, lineup: list[StockLine]) -> dict[str, Any]:
    """The contract's metrics object from the counters and the lineup's stock."""
    t = state.totals
    products: list[dict[str, Any]] = []
    empty = dict.fromkeys(PRODUCT_FIELDS, 0)
    listed = set()
    for line in lineup:
        listed.add(line.product_id)
        p = state.products.get(line.product_id, empty)
        products.append(_product(line.product_id, p, stock_left(line, p["held"])))
    for pid in sorted(state.products.keys() - listed):
        products.append(_product(pid, state.products[pid], None))
    return {
        "stream_id": stream_id,
        "online": state.online,
        "peak_online": t["peak_online"],
        "viewers": state.viewers,
        "comments": t["comments"],
        "likes": t["likes"],
        "shares": t["shares"],
        "follows": t["follows"],
        "product_clicks": t["product_clicks"],
        "add_to_cart": t["add_to_cart"],
        "orders": t["orders"],
        "paid_orders": t["paid_orders"],
        "cancelled_orders": t["cancelled_orders"],
        "refunded_orders": t["refunded_orders"],
        "units_sold": t["units_sold"],
        "gmv": _money(t["gmv"]),
        "refunds": _money(t["refunds"]),
        "products": products,
    }


def _product(pid: int, p: dict[str, int], stock_left: int | None) -> dict[str, Any]:
    return {
        "product_id": pid,
        "clicks": p["clicks"],
        "add_to_cart": p["add_to_cart"],
        "orders": p["orders"],
        "units_sold": p["units_sold"],
        "gmv": _money(p["gmv"]),
        "stock_left": stock_left,
    }


def public_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics[k] for k in PUBLIC_METRICS}


async def stream_metrics(live: Live, session: AsyncSession, stream_id: int) -> dict[str, Any]:
    state = await live.counters.read(stream_id)
    return build_metrics(stream_id, state, await load_stock(session, stream_id))


async def minute_series(live: Live, stream_id: int) -> list[dict[str, Any]]:
    """Per-minute figures for the charts, oldest first (minutes with no events omitted)."""
    raw = await live.counters.minutes(stream_id)
    out = []
    for minute in sorted(raw):
        m = raw[minute]
        out.append(
            {
                "minute": local(datetime.fromtimestamp(minute * 60, UTC)),
                "online": m.get("online", 0),
                "joins": m.get("viewer_join", 0),
                "leaves": m.get("viewer_leave", 0),
                "comments": m.get("comment", 0),
                "likes": m.get("like", 0),
                "shares": m.get("share", 0),
                "follows": m.get("follow", 0),
                "product_clicks": m.get("product_click", 0),
                "add_to_cart": m.get("add_to_cart", 0),
                "orders": m.get("order_created", 0),
                "paid_orders": m.get("order_paid", 0),
                "units_sold": m.get("units_sold", 0),
                "gmv": _money(m.get("gmv", 0)),
            }
        )
    return out


# --------------------------------------------------------------------------- snapshot parts


async def stream_part(ctx: SnapshotContext) -> dict[str, Any]:
    s = ctx.stream
    return {
        "id": s.id,
        "title": s.title,
        "status": s.status,
        "live": s.status == StreamStatus.live,
        "started_at": s.started_at,
        "ended_at": s.ended_at,
        "planned_minutes": s.planned_minutes,
    }


async def _lineup_rows(ctx: SnapshotContext) -> list[dict[str, Any]]:
    rows = await ctx.session.execute(
        select(LineupItem, Product)
        .join(Product, Product.id == LineupItem.product_id)
        .where(LineupItem.stream_id == ctx.stream.id)
        .order_by(LineupItem.position, LineupItem.id)
    )
    out = []
    for item, product in rows:
        out.append(
            {
                "product_id": item.product_id,
                "sku": product.sku,
                "name": product.name,
                "position": item.position,
                "live_price": format_money(item.live_price),
                "list_price": format_money(product.list_price),
                "allotted_stock": item.allotted_stock,
                "stock_left": left_of(item.allotted_stock, item.sold_units),
                "gifts": list(item.gifts or []),
                "status": item.status,
                "explaining": item.explaining,
                "selling_points": product.selling_points,
                "image_urls": product.image_urls,
            }
        )
    return out


async def explaining_part(ctx: SnapshotContext) -> dict[str, Any] | None:
    for row in await _lineup_rows(ctx):
        if row["explaining"]:
            return row
    return None


async def metrics_part(ctx: SnapshotContext) -> dict[str, Any]:
    metrics = await stream_metrics(ctx.live, ctx.session, ctx.stream.id)
    return public_metrics(metrics) if ctx.audience == VIEWER else metrics
