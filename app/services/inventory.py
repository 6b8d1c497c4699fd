"""Inventory check (库存核对): stock allotted to streams vs. warehouse stock.

A product is short when its allotment in a stream exceeds the warehouse stock, or when
the allotments of the streams planned at overlapping times add up to more than the
warehouse holds (the same units cannot be promised twice). Streams that are draft,
scheduled or live count; a stream's time window is its start (actual once live,
planned before) plus its planned duration.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import LineupItem, Product, Stream, StreamStatus

ACTIVE = (StreamStatus.draft, StreamStatus.scheduled, StreamStatus.live)
DEFAULT_MINUTES = 120  # a stream without a planned duration is assumed to run two hours


def window(stream: Stream) -> tuple[datetime, datetime] | None:
    start = stream.started_at if stream.status == StreamStatus.live else None
    start = start or stream.scheduled_start
    if start is None:
        return None
    return start, start + timedelta(minutes=stream.planned_minutes or DEFAULT_MINUTES)


def overlaps(a: Stream, b: Stream) -> bool:
    wa, wb = window(a), window(b)
    if wa is None or wb is None:
        return False
    return wa[0] < wb[1] and wb[0] < wa[1]


@dataclass
class Row:
    stream: Stream
    item: LineupItem
    product: Product


async def _rows(
    session: AsyncSession, *, stream_id: int | None = None, product_ids: list[int] | None = None
) -> list[Row]:
    query = (
        select(Stream, LineupItem, Product)
        .join(LineupItem, LineupItem.stream_id == Stream.id)
        .join(Product, Product.id == LineupItem.product_id)
        .order_by(Stream.id, LineupItem.position, LineupItem.id)
    )
    if stream_id is not None:
        query = query.where(Stream.id == stream_id)
    else:
        # A rehearsal's allotments are a copy: they compete with no real stream's.
        query = query.where(Stream.status.in_(ACTIVE), Stream.is_rehearsal.is_(False))
    if product_ids is not None:
        query = query.where(LineupItem.product_id.in_(product_ids))
    result = await session.execute(query)
    return [Row(s, i, p) for s, i, p in result.all()]


def _entry(own: Row, others: list[Row]) -> dict[str, Any]:
    concurrent = [
        r for r in others if r.stream.id != own.stream.id and overlaps(own.stream, r.stream)
    ]
    total = own.item.allotted_stock + sum(r.item.allotted_stock for r in concurrent)
    stock = own.product.stock
    return {
        "product_id": own.product.id,
        "sku": own.product.sku,
        "name": own.product.name,
        "warehouse_stock": stock,
        "allotted": own.item.allotted_stock,
        "sold_units": own.item.sold_units,
        "overlapping": [
            {"stream_id": r.stream.id, "title": r.stream.title, "allotted": r.item.allotted_stock}
            for r in concurrent
        ],
        "total_allotted": total,
        "own_shortfall": max(0, own.item.allotted_stock - stock),
        "shortfall": max(0, total - stock),
    }


async def stream_inventory(session: AsyncSession, stream: Stream) -> list[dict[str, Any]]:
    """One entry per lineup product of the stream, in lineup order."""
    own = await _rows(session, stream_id=stream.id)
    if not own:
        return []
    others = await _rows(session, product_ids=[r.product.id for r in own])
    by_product: defaultdict[int, list[Row]] = defaultdict(list)
    for r in others:
        by_product[r.product.id].append(r)
    return [_entry(r, by_product[r.product.id]) for r in own]


async def shortfall_report(session: AsyncSession) -> list[dict[str, Any]]:
    """Every (stream, product) among planned and live streams that is short of stock."""
    rows = await _rows(session)
    by_product: defaultdict[int, list[Row]] = defaultdict(list)
    for r in rows:
        by_product[r.product.id].append(r)
    report = []
    for r in rows:
        entry = _entry(r, by_product[r.product.id])
        if entry["shortfall"] > 0:
            report.append({"stream_id": r.stream.id, "stream_title": r.stream.title, **entry})
    return report
