"""One error model: JSON bodies with a code, no stack traces, readiness that tells the truth."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.db import create_engine
from app.errors import Conflict
from app.main import create_app
from app.migrate import upgrade
from tests.conftest import TEST_PASSWORD, make_settings


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
    # `message` is for people: localised by Accept-Language, Simplified Chinese by default
    assert r.json() == {
        "detail": "sold out",
        "code": "sold_out",
        "remaining": 0,
        "params": {"remaining": 0},
        "message": "已售罄",
    }
    r = await raising_client.get("/conflict", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert r.json()["message"] == "Sold out" and r.json()["code"] == "sold_out"
    r = await raising_client.get("/conflict", headers={"Accept-Language": "fr, zh-CN;q=0.5"})
    assert r.json()["message"] == "已售罄"


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


@pytest.mark.embedded
async def test_a_request_that_finds_every_connection_busy_gets_503_busy(tmp_path: Path) -> None:
    """A burst bigger than the database pool: the request that waited DB_POOL_TIMEOUT
    for a connection is answered 503 `busy` with Retry-After (and changes nothing),
    not a 500; once connections are free the same request succeeds."""
    settings = make_settings(tmp_path, db_pool_timeout=0.5)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade, settings.resolved_database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            login = {"username": "admin", "password": TEST_PASSWORD}
            engine = application.state.engine
            held = []
            try:
                # SQLite's pool: 5 connections + 10 overflow. Hold every one of them.
                for _ in range(15):
                    held.append(await engine.connect())
                r = await c.post("/api/v1/auth/login", json=login)
                assert r.status_code == 503, r.text
                assert r.json()["code"] == "busy"
                assert r.headers["Retry-After"] == "1"
            finally:
                for conn in held:
                    await conn.close()
            r = await c.post("/api/v1/auth/login", json=login)
            assert r.status_code == 200, r.text
