"""One error model: JSON bodies with a code, no stack traces, readiness that tells the truth."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.db import create_engine
from app.errors import Conflict


@pytest.fixture
async def raising_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    @app.get("/conflict")
    async def conflict() -> None:
        raise Conflict("sold out", code="sold_out", remaining=0)

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_unexpected_error_is_generic_json_500_without_internals(
    raising_client: httpx.AsyncClient,
) -> None:
    r = await raising_client.get("/boom", headers={"X-Request-ID": "req-123"})
    assert r.status_code == 500
    body = r.json()
    assert body["code"] == "internal_error"
    assert body["request_id"] == "req-123"
    assert "passwd" not in r.text and "Traceback" not in r.text


async def test_domain_error_carries_status_code_and_extra(
    raising_client: httpx.AsyncClient,
) -> None:
    r = await raising_client.get("/conflict")
    assert r.status_code == 409
    assert r.json() == {"detail": "sold out", "code": "sold_out", "remaining": 0}


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "abc"})
    assert r.headers["x-request-id"] == "abc"
    r = await client.get("/healthz")
    assert len(r.headers["x-request-id"]) == 32


async def test_readyz_is_503_when_database_or_redis_is_down(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    import redis.asyncio as aioredis

    good_engine = app.state.engine
    app.state.engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none", pool_size=1)
    try:
        r = await client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["database"] is False
    finally:
        await app.state.engine.dispose()
        app.state.engine = good_engine

    broker = app.state.live.broker
    good_client = broker._client
    broker._client = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    try:
        r = await client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"] == {"database": True, "redis": False}
    finally:
        await broker._client.aclose()
        broker._client = good_client
