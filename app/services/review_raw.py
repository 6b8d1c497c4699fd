"""The review's headline figures recomputed by scanning the event log (no rollups).

Slow on big streams (it reads every event); it exists to check the rollups (a test
compares both on a hand-computed scenario) and as the baseline of
bench/bench_review.py.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Stream, StreamEvent
from app.services.review_report import MINUTE_COUNTS, Headline, review_until
from app.services.rollups import PRODUCT_COLUMNS, elapsed_ms

TYPE_COLUMN = {
    "comment": "comments",
    "like": "likes",
    "share": "shares",
    "follow": "follows",
    "product_click": "product_clicks",
    "add_to_cart": "add_to_cart",
    "order_created": "orders",
    "order_paid": "paid_orders",
    "order_cancelled": "cancelled_orders",
    "order_refunded": "refunded_orders",
}


def _viewers_with(kinds: tuple[str, ...], sid: int) -> Any:
    e = StreamEvent
    return (
        select(func.count(func.distinct(e.viewer_id)))
        .where(e.stream_id == sid, e.type.in_(kinds))
        .scalar_subquery()
    )


async def raw_headline(
    session: AsyncSession, stream: Stream, now: datetime | None = None
) -> tuple[Headline, dict[int, dict[str, Any]], dict[datetime, dict[str, Any]]]:
    """Headline, per-product and per-minute figures straight from `stream_events`."""
    e = StreamEvent
    sid = stream.id
    until = review_until(stream, now)
    h = Headline()
    if stream.started_at is not None:
        h.duration_seconds = max(0, int((until - stream.started_at).total_seconds()))
    row = (
        await session.execute(
            select(
                func.count(func.distinct(e.viewer_id)),
                _viewers_with(("comment", "like", "share"), sid),
                _viewers_with(("follow",), sid),
                _viewers_with(("order_paid",), sid),
                _viewers_with(("product_click",), sid),
                _viewers_with(("add_to_cart",), sid),
                _viewers_with(("order_created",), sid),
            ).where(e.stream_id == sid)
        )
    ).one()
    (
        h.viewers,
        h.interacting_viewers,
        h.new_followers,
        h.paying_customers,
        h.clicking_viewers,
        h.carting_viewers,
        h.ordering_viewers,
    ) = (int(x) for x in row)
    units = func.coalesce(func.sum(func.coalesce(e.quantity, 1)), 0)
    amount = func.coalesce(func.sum(e.amount), 0)
    for kind, n, u, amt in await session.execute(
        select(e.type, func.count(), units, amount).where(e.stream_id == sid).group_by(e.type)
    ):
        if kind == "viewer_join":
            h.entries = int(n)
        column = TYPE_COLUMN.get(kind)
        if column is not None:
            h.counts[column] += int(n)
        if kind == "order_paid":
            h.counts["units_sold"] += int(u)
            h.gmv += Decimal(amt or 0)
        elif kind == "order_refunded":
            h.refunds += Decimal(amt or 0)

    products: dict[int, dict[str, Any]] = {}
    for pid, kind, n, u, amt in await session.execute(
        select(e.product_id, e.type, func.count(), units, amount)
        .where(e.stream_id == sid, e.product_id.is_not(None), e.type.in_(PRODUCT_COLUMNS))
        .group_by(e.product_id, e.type)
    ):
        p = products.setdefault(
            int(pid or 0),
            {
                **dict.fromkeys(PRODUCT_COLUMNS.values(), 0),
                "units_sold": 0,
                "gmv": Decimal(0),
                "refunds": Decimal(0),
            },
        )
        p[PRODUCT_COLUMNS[kind]] += int(n)
        if kind == "order_paid":
            p["units_sold"] += int(u)
            p["gmv"] += Decimal(amt or 0)
        elif kind == "order_refunded":
            p["refunds"] += Decimal(amt or 0)

    minute = func.date_trunc("minute", e.ts)
    minutes: dict[datetime, dict[str, Any]] = {}
    if session.get_bind().dialect.name == "postgresql":
        for m, kind, n, u, amt in await session.execute(
            select(minute, e.type, func.count(), units, amount)
            .where(e.stream_id == sid)
            .group_by(minute, e.type)
        ):
            row_m = minutes.setdefault(
                m, {**dict.fromkeys(MINUTE_COUNTS, 0), "gmv": Decimal(0), "entries": 0}
            )
            if kind == "viewer_join":
                row_m["entries"] += int(n)
            column = TYPE_COLUMN.get(kind)
            if column is not None:
                row_m[column] += int(n)
            if kind == "order_paid":
                row_m["units_sold"] += int(u)
                row_m["gmv"] += Decimal(amt or 0)

    # Presence: replay joins and leaves in arrival (log) order.
    present: dict[str, datetime] = {}
    online = peak = 0
    watch_ms = 0
    result = await session.stream(
        select(e.type, e.viewer_id, e.ts)
        .where(e.stream_id == sid, e.type.in_(("viewer_join", "viewer_leave")))
        .order_by(e.id)
    )
    async for kind, viewer, ts in result:
        if kind == "viewer_join":
            if viewer not in present:
                present[viewer] = ts
                online += 1
                if online > peak:
                    peak, h.peak_at = online, ts
        elif viewer in present:
            watch_ms += elapsed_ms(present.pop(viewer), ts)
            online -= 1
    for since in present.values():
        watch_ms += elapsed_ms(since, until)
    h.peak_online, h.online_now, h.total_watch_ms = peak, online, watch_ms
    return h, products, minutes
