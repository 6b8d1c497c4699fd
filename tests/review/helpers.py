"""Small builders shared by the review tests."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ControlAction, Product, ScriptSegment, SegmentKind, Stream, StreamStatus
from app.realtime.memory import MemoryCommentCounts
from app.schemas.events import EventIn
from app.services.eventlog import write_events
from app.services.projection import catch_up

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CENT = Decimal("0.01")


def at(minutes: int, seconds: int = 0, base: datetime = T0) -> datetime:
    return base + timedelta(minutes=minutes, seconds=seconds)


async def make_product(session: AsyncSession, name: str, price: str) -> Product:
    product = Product(sku=f"SKU-{uuid.uuid4().hex[:8]}", name=name, list_price=Decimal(price))
    session.add(product)
    await session.flush()
    return product


async def make_stream(
    client: httpx.AsyncClient,
    session: AsyncSession,
    headers: dict[str, str],
    title: str,
    start: datetime,
    minutes: int = 10,
) -> Stream:
    """A stream created through the API, then marked as run from `start` for `minutes`."""
    r = await client.post("/api/v1/streams", json={"title": title}, headers=headers)
    assert r.status_code == 201, r.text
    stream = await session.get(Stream, r.json()["id"])
    assert stream is not None
    stream.started_at = start
    stream.ended_at = start + timedelta(minutes=minutes)
    stream.status = StreamStatus.ended
    await session.flush()
    return stream


async def ended_stream(session: AsyncSession, title: str, start: datetime, minutes: int) -> int:
    """A stream (no team) that ran from `start` for `minutes`; returns its id."""
    stream = Stream(
        title=title,
        status=StreamStatus.ended,
        started_at=start,
        ended_at=start + timedelta(minutes=minutes),
    )
    session.add(stream)
    await session.flush()
    return stream.id


def segment(
    stream_id: int,
    position: int,
    title: str,
    start_seconds: int,
    duration_seconds: int,
    kind: SegmentKind = SegmentKind.product,
    product_id: int | None = None,
) -> ScriptSegment:
    """A script segment planned `start_seconds` after the stream's start."""
    return ScriptSegment(
        stream_id=stream_id,
        position=position,
        kind=kind,
        title=title,
        start_offset_seconds=start_seconds,
        duration_seconds=duration_seconds,
        product_id=product_id,
    )


def control(stream_id: int, action: str, product_id: int, when: datetime, **detail: Any) -> Any:
    """A control-log entry (explain / delist) at `when`."""
    return ControlAction(
        stream_id=stream_id, action=action, product_id=product_id, detail=detail, created_at=when
    )


def _migration(name: str) -> Any:
    path = Path(__file__).resolve().parents[2] / "alembic" / "versions" / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _normal(rows: Any, keys: int) -> set[tuple[Any, ...]]:
    """Rows as comparable tuples: times as UTC seconds, money as Decimal cents."""
    out = set()
    for row in rows:
        key = list(row[:keys])
        second = key[-1]
        if isinstance(second, str):
            second = datetime.fromisoformat(second).replace(tzinfo=UTC)
        key[-1] = second.astimezone(UTC).replace(microsecond=0)
        out.add((*key, *(int(v) for v in row[keys:-1]), Decimal(str(row[-1])).quantize(CENT)))
    return out


async def per_second_rollups(
    session: AsyncSession, stream_id: int
) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """`stream_seconds` and `stream_product_seconds` rows of the stream, as kept live."""
    seconds = await session.execute(
        text(
            "SELECT second, comments, product_clicks, add_to_cart, orders, paid_orders, "
            "units_sold, gmv FROM stream_seconds WHERE stream_id = :sid"
        ),
        {"sid": stream_id},
    )
    products = await session.execute(
        text(
            "SELECT product_id, second, product_clicks, add_to_cart, orders, paid_orders, "
            "units_sold, gmv FROM stream_product_seconds WHERE stream_id = :sid"
        ),
        {"sid": stream_id},
    )
    return _normal(seconds.all(), 1), _normal(products.all(), 2)


async def backfilled_rollups(
    session: AsyncSession, stream_id: int
) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """What migration 0650's backfill computes for the stream from its event log."""
    m = _migration("20261204_0650_review_rollups_per_second.py")
    pg = session.get_bind().dialect.name == "postgresql"
    second = "date_trunc('second', ts)" if pg else "substr(ts, 1, 19) || '.000000'"
    seconds = (await session.execute(text(m._backfill_select(second, False)))).all()
    products = (await session.execute(text(m._backfill_select(second, True)))).all()
    return (
        _normal([r[1:] for r in seconds if r[0] == stream_id], 1),
        _normal([r[1:] for r in products if r[0] == stream_id], 2),
    )


async def log_events(session: AsyncSession, stream_id: int, events: Sequence[EventIn]) -> None:
    """Log events as ingest does, then fold them into the rollups as the projection
    does after commit (here in the same transaction: the caller commits)."""
    await write_events(session, stream_id, events)
    await catch_up(session, MemoryCommentCounts(), stream_id)
