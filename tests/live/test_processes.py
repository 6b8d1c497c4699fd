"""Real `controlroom serve` processes on one PostgreSQL + Redis: several instances,
and an acknowledged batch surviving `kill -9`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from app.config import PROJECT_ROOT
from app.db import create_engine, make_sessionmaker
from app.migrate import upgrade
from app.models import LineupItem, ListingStatus, Product, Stream, StreamStatus
from tests.conftest import PG_ADMIN_DSN, REDIS_URL, TEST_PASSWORD, free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def private_db() -> Iterator[str]:
    """A database of its own: these servers commit, and other tests count rows."""
    name = f"lcr_proc_{uuid.uuid4().hex[:10]}"

    async def _admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    upgrade(url)
    try:
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def server(db_url: str, prefix: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": prefix,
        "SECRET_KEY": "process-test-secret-0123456789abcdef",
        "ADMIN_PASSWORD": TEST_PASSWORD,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while True:
            assert proc.poll() is None, "server exited early"
            assert time.monotonic() < deadline, "server did not start"
            try:
                if httpx.get(f"http://{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


async def _live_stream(db_url: str, allotted: int = 20) -> tuple[int, int]:
    """A live stream with one listed product, written straight to the database
    (going live and the lineup API belong to other parts of the app)."""
    engine = create_engine(db_url, pool_size=2)
    try:
        async with make_sessionmaker(engine)() as s:
            stream = Stream(title="多实例", status=StreamStatus.live)
            product = Product(
                sku=f"P-{uuid.uuid4().hex[:8]}", name="保温杯", list_price=Decimal("99"), stock=100
            )
            s.add_all([stream, product])
            await s.flush()
            s.add(
                LineupItem(
                    stream_id=stream.id,
                    product_id=product.id,
                    live_price=Decimal("59.90"),
                    allotted_stock=allotted,
                    status=ListingStatus.listed,
                )
            )
            await s.commit()
            return stream.id, product.id
    finally:
        await engine.dispose()


async def _admin_token(client: httpx.AsyncClient, base: str) -> str:
    r = await client.post(
        f"http://{base}/api/v1/auth/login", json={"username": "admin", "password": TEST_PASSWORD}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def _ingest_key(client: httpx.AsyncClient, base: str, token: str, stream_id: int) -> str:
    r = await client.post(
        f"http://{base}/api/v1/streams/{stream_id}/ingest-keys",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


async def _until(ws: ClientConnection, check: Any) -> Any:
    return (await _collect(ws, {"it": check}))["it"]


async def _collect(
    ws: ClientConnection, wanted: dict[str, Callable[[dict[str, Any]], bool]], within: float = 30
) -> dict[str, dict[str, Any]]:
    """Read one socket until each condition has matched a message (in any order): the
    first match of each, by name. Fails after `within` seconds or if the socket closes."""
    found: dict[str, dict[str, Any]] = {}
    async with asyncio.timeout(within):
        async for raw in ws:
            msg = orjson.loads(raw)
            for name, check in wanted.items():
                if name not in found and check(msg):
                    found[name] = msg
            if len(found) == len(wanted):
                return found
    raise AssertionError(f"socket closed before {sorted(set(wanted) - set(found))} arrived")


@pytest.fixture
async def two_servers(private_db: str) -> AsyncIterator[tuple[str, str, str]]:
    prefix = f"lcrtest:{uuid.uuid4().hex[:8]}:"
    with server(private_db, prefix) as (a, _), server(private_db, prefix) as (b, _):
        yield private_db, a, b


async def test_two_instances_share_events_and_numbers(two_servers: tuple[str, str, str]) -> None:
    db_url, a, b = two_servers
    stream_id, pid = await _live_stream(db_url)
    async with httpx.AsyncClient(timeout=10) as client:
        token = await _admin_token(client, a)
        key = await _ingest_key(client, a, token, stream_id)
        path = f"/ws/streams/{stream_id}?token={token}"
        async with connect(f"ws://{a}{path}") as ws_a, connect(f"ws://{b}{path}") as ws_b:
            for ws in (ws_a, ws_b):
                assert (await _until(ws, lambda m: True))["type"] == "snapshot"
            events: list[dict[str, Any]] = [
                {"type": "viewer_join", "user_id": f"v{i}"} for i in range(30)
            ]
            events += [{"type": "like", "user_id": "v1", "event_id": f"l{i}"} for i in range(50)]
            events.append(
                # a connector's order (it names the platform's order id): an order that
                # takes stock like any other (issue #13's one order book)
                {
                    "type": "order_created",
                    "user_id": "v2",
                    "product_id": pid,
                    "quantity": 4,
                    "order_id": "platform-1",
                }
            )
            r = await client.post(
                f"http://{a}/api/v1/streams/{stream_id}/events",
                json={"events": events},
                headers={"X-Ingest-Key": key},
            )
            assert r.status_code == 202, r.text
            # the same likes again on the other instance: counted once across instances
            r = await client.post(
                f"http://{b}/api/v1/streams/{stream_id}/events",
                json={"events": events[30:80]},
                headers={"X-Ingest-Key": key},
            )
            assert r.json() == {"accepted": 0, "duplicates": 50}
            # One receive loop per socket, both read at once: the stock event and the
            # metrics may come in either order, and neither socket waits on the other.
            wanted: dict[str, Callable[[dict[str, Any]], bool]] = {
                "stock": lambda m: m["type"] == "stock.changed",
                "metrics": lambda m: m["type"] == "metrics" and m["metrics"]["likes"] == 50,
            }
            seen = await asyncio.gather(_collect(ws_a, wanted), _collect(ws_b, wanted))
            got = []
            for found in seen:
                assert found["stock"]["data"] == {
                    "product_id": pid,
                    "stock_left": 16,
                    "allotted_stock": 20,
                    "sold_units": 4,
                }
                got.append(found["metrics"]["metrics"])
            assert got[0] == got[1]
            assert got[0]["online"] == 30 and got[0]["orders"] == 1
        rest = [
            (
                await client.get(
                    f"http://{base}/api/v1/streams/{stream_id}/metrics",
                    headers={"Authorization": f"Bearer {token}"},
                )
            ).json()
            for base in (a, b)
        ]
        assert rest[0] == rest[1] == got[0]


async def test_acknowledged_events_survive_kill_9(private_db: str) -> None:
    prefix = f"lcrtest:{uuid.uuid4().hex[:8]}:"
    stream_id, _ = await _live_stream(private_db)
    with server(private_db, prefix) as (base, proc):
        async with httpx.AsyncClient(timeout=10) as client:
            token = await _admin_token(client, base)
            key = await _ingest_key(client, base, token, stream_id)
            events = [
                {"type": "comment", "user_id": f"u{i}", "event_id": f"k{i}", "text": "好看"}
                for i in range(500)
            ]
            r = await client.post(
                f"http://{base}/api/v1/streams/{stream_id}/events",
                json={"events": events},
                headers={"X-Ingest-Key": key},
            )
            assert r.status_code == 202
            os.kill(proc.pid, signal.SIGKILL)  # right after the acknowledgement
        proc.wait(timeout=10)
    with server(private_db, prefix) as (base, _):
        conn = await asyncpg.connect(private_db.replace("+asyncpg", ""))
        try:
            n = await conn.fetchval(
                "SELECT count(*) FROM stream_events WHERE stream_id = $1", stream_id
            )
        finally:
            await conn.close()
        assert n == 500
        async with httpx.AsyncClient(timeout=10) as client:
            token = await _admin_token(client, base)
            m = await client.get(
                f"http://{base}/api/v1/streams/{stream_id}/metrics",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert m.json()["comments"] == 500
