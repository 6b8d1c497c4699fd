"""Shared helpers of the order tests: a listed product in a stream, viewer tokens."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import orjson
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import LineupItem, ListingStatus, Order, OrderStatus, Product, Stream, StreamStatus
from app.realtime.redis import RedisStockBook
from app.security import create_token


def redis_book(app: FastAPI) -> RedisStockBook | None:
    """The app's stock book when it is the Redis one (tests that look at its keys)."""
    book = app.state.live.stock
    return book if isinstance(book, RedisStockBook) else None


@dataclass(frozen=True)
class Listing:
    stream_id: int
    product_id: int

    @property
    def orders_url(self) -> str:
        return f"/api/v1/streams/{self.stream_id}/orders"


async def seed_listing(
    maker: async_sessionmaker[AsyncSession],
    *,
    stock: int = 10,
    price: str = "59.90",
    status: ListingStatus = ListingStatus.listed,
    stream_id: int | None = None,
) -> Listing:
    """A live stream (or the given one) with one product in its lineup."""
    async with maker() as s:
        if stream_id is None:
            stream = Stream(title="秒杀专场", status=StreamStatus.live)
            s.add(stream)
            await s.flush()
            stream_id = stream.id
        product = Product(
            sku=f"SKU-{uuid.uuid4().hex[:10]}",
            name="保温杯",
            list_price=Decimal("99.00"),
            stock=1000,
        )
        s.add(product)
        await s.flush()
        s.add(
            LineupItem(
                stream_id=stream_id,
                product_id=product.id,
                position=1,
                live_price=Decimal(price),
                allotted_stock=stock,
                sold_units=0,
                status=status,
            )
        )
        await s.commit()
        return Listing(stream_id=stream_id, product_id=product.id)


def viewer_headers(
    app: FastAPI, stream_id: int, viewer_id: str, key: str | None = None
) -> dict[str, str]:
    token, _ = create_token(
        app.state.settings.secret_key,
        viewer_id,
        "viewer",
        timedelta(hours=1),
        stream_id=stream_id,
    )
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


async def sold_units(maker: async_sessionmaker[AsyncSession], listing: Listing) -> int:
    async with maker() as s:
        return int(
            await s.scalar(
                select(LineupItem.sold_units).where(
                    LineupItem.stream_id == listing.stream_id,
                    LineupItem.product_id == listing.product_id,
                )
            )
            or 0
        )


async def held_orders(maker: async_sessionmaker[AsyncSession], listing: Listing) -> list[Order]:
    async with maker() as s:
        rows = await s.scalars(
            select(Order).where(
                Order.stream_id == listing.stream_id,
                Order.product_id == listing.product_id,
                Order.status.in_([OrderStatus.created, OrderStatus.paid]),
            )
        )
        return list(rows.all())


async def count_orders(maker: async_sessionmaker[AsyncSession], stream_id: int) -> int:
    async with maker() as s:
        return int(
            await s.scalar(select(func.count(Order.id)).where(Order.stream_id == stream_id)) or 0
        )


@dataclass
class Answer:
    """An HTTP answer, shaped like the bits of httpx.Response the races read."""

    status_code: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


async def asgi_post(app: FastAPI, path: str, headers: dict[str, str], body: Any) -> Answer:
    """POST straight into the ASGI app: httpx's client costs more per request than the
    endpoint does, and the races send thousands (performance.md)."""
    payload = orjson.dumps(body)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        "client": ("127.0.0.1", 1234),
        "server": ("test", 80),
        "state": {},
    }
    sent = False
    status = 0
    out_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}
        await asyncio.Event().wait()  # never: the client does not disconnect
        raise AssertionError

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers.update({k.decode().lower(): v.decode() for k, v in message["headers"]})
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return Answer(status, out_headers, b"".join(chunks))
