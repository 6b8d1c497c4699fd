"""Helpers for the live-path tests: streams set live, lineup rows, ingest keys, team
members and a console's first message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import orjson
import uvicorn
from fastapi import FastAPI
from sqlalchemy import update
from websockets.asyncio.client import connect

from app.models import LineupItem, ListingStatus, Product, Stream, StreamStatus
from app.realtime import opening
from app.realtime.state import Live
from tests.conftest import TEST_PASSWORD, bearer, free_port


async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    r = await client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": TEST_PASSWORD}
    )
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


async def new_stream(
    client: httpx.AsyncClient, headers: dict[str, str], title: str = "直播"
) -> int:
    r = await client.post("/api/v1/streams", json={"title": title}, headers=headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def set_status(app: FastAPI, stream_id: int, status: StreamStatus) -> None:
    # Going live is the planning engineer's endpoint; these tests only need the state.
    async with app.state.sessionmaker() as s:
        await s.execute(update(Stream).where(Stream.id == stream_id).values(status=status))
        await s.commit()


async def add_product(
    app: FastAPI, stream_id: int, sku: str, allotted: int, price: str = "59.90"
) -> int:
    async with app.state.sessionmaker() as s:
        product = Product(sku=sku, name=f"商品 {sku}", list_price=Decimal("99.00"), stock=1000)
        s.add(product)
        await s.flush()
        s.add(
            LineupItem(
                stream_id=stream_id,
                product_id=product.id,
                live_price=Decimal(price),
                allotted_stock=allotted,
                status=ListingStatus.listed,
                position=1,
            )
        )
        await s.commit()
        return product.id


async def ingest_key(client: httpx.AsyncClient, headers: dict[str, str], stream_id: int) -> str:
    r = await client.post(f"/api/v1/streams/{stream_id}/ingest-keys", headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


async def live_stream(app: FastAPI, client: httpx.AsyncClient) -> tuple[int, str, dict[str, str]]:
    """A live stream with an ingest key: (stream_id, key, admin headers)."""
    headers = await admin_headers(client)
    stream_id = await new_stream(client, headers)
    await set_status(app, stream_id, StreamStatus.live)
    return stream_id, await ingest_key(client, headers, stream_id), headers


async def send(
    client: httpx.AsyncClient, stream_id: int, key: str, events: list[dict[str, Any]]
) -> httpx.Response:
    return await client.post(
        f"/api/v1/streams/{stream_id}/events",
        json={"events": events},
        headers={"X-Ingest-Key": key},
    )


def live_of(app: FastAPI) -> Live:
    live: Live = app.state.live
    return live


async def team_member(
    client: httpx.AsyncClient, admin: dict[str, str], stream_id: int, name: str, role: str
) -> str:
    """A new user with `role` on the stream's team; their access token."""
    r = await client.post(
        "/api/v1/users",
        json={"username": name, "password": TEST_PASSWORD, "role": role},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = await client.put(
        f"/api/v1/streams/{stream_id}/team/{r.json()['id']}", json={"role": role}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = await client.post("/api/v1/auth/login", json={"username": name, "password": TEST_PASSWORD})
    return str(r.json()["access_token"])


async def first_snapshot(url: str) -> dict[str, Any]:
    """The first message of a console opened at `url` (a snapshot)."""
    async with connect(url) as ws:
        async with asyncio.timeout(10):
            msg = orjson.loads(await ws.recv())
    assert msg["type"] == "snapshot"
    return dict(msg)


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[int]:
    """`app` served by uvicorn in this event loop, as `controlroom serve` serves it
    (console opens take turns); yields the port."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        http=opening.HTTP_PROTOCOL,
        ws=opening.WS_PROTOCOL,
        ws_per_message_deflate=False,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        try:
            async with asyncio.timeout(10):
                await asyncio.shield(task)
        except TimeoutError:
            server.force_exit = True  # a socket a failed test left open must not hang the run
            await task
