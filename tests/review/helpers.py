"""Small builders shared by the review tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Product, Stream, StreamStatus

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


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
