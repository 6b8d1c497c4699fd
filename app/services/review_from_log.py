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

from app.domain.effects import PRODUCT_ROLLUP, plan
from app.models import Stream, StreamEvent
from app.services.review_report import MINUTE_COUNTS, Headline, review_until
from app.services.rollups import elapsed_ms

_HEADLINE = plan({**{c: c for c in MINUTE_COUNTS}, "gmv": "gmv", "refunds": "refunds"})
_PRODUCTS = plan(PRODUCT_ROLLUP)
_MINUTES = plan({**{c: c for c in MINUTE_COUNTS}, "gmv": "gmv"})


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
    headline = _HEADLINE.zero(Decimal(0))
    for kind, n, u, amt in await session.execute(
        select(e.type, func.count(), units, amount).where(e.stream_id == sid).group_by(e.type)
    ):
        if kind == "viewer_join":
            h.entries = int(n)
        _HEADLINE.add(headline, kind, int(n), int(u), Decimal(amt or 0))
    h.gmv, h.refunds = headline.pop("gmv"), headline.pop("refunds")
    h.counts.update(headline)

    products: dict[int, dict[str, Any]] = {}
    for pid, kind, n, u, amt in await session.execute(
        select(e.product_id, e.type, func.count(), units, amount)
        .where(e.stream_id == sid, e.product_id.is_not(None), e.type.in_(_PRODUCTS.types))
        .group_by(e.product_id, e.type)
    ):
        p = products.setdefault(int(pid or 0), _PRODUCTS.zero(Decimal(0)))
        _PRODUCTS.add(p, kind, int(n), int(u), Decimal(amt or 0))

    minute = func.date_trunc("minute", e.ts)
    minutes: dict[datetime, dict[str, Any]] = {}
    if session.get_bind().dialect.name == "postgresql":
        for m, kind, n, u, amt in await session.execute(
            select(minute, e.type, func.count(), units, amount)
            .where(e.stream_id == sid)
            .group_by(minute, e.type)
        ):
            row_m = minutes.setdefault(m, {**_MINUTES.zero(Decimal(0)), "entries": 0})
            if kind == "viewer_join":
                row_m["entries"] += int(n)
            _MINUTES.add(row_m, kind, int(n), int(u), Decimal(amt or 0))

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
