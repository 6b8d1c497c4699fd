"""Redis restarted mid-stream (issue 15, point 4), with ingest and orders running.

A Redis of its own (its own port, no persistence: a restart loses everything) under a
real `controlroom serve` on PostgreSQL. While Redis is away, ingest and orders answer
503 with Retry-After (never a 500, never a hang); within 5 s of Redis being back the
console is live again, the counters equal the durable log (rebuilt: Redis lost them),
the stock mirror is resynced before orders are taken, nothing acknowledged is lost and
nothing is oversold.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
import redis.asyncio as aioredis

from tests.conftest import free_port
from tests.live.procs import Console, admin_token, serve
from tests.live.test_processes import _ingest_key, _live_stream, private_db  # noqa: F401

pytestmark = pytest.mark.slow

ALLOTTED = 40


@contextmanager
def redis_server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                subprocess.run(
                    ["redis-cli", "-p", str(port), "ping"],
                    check=True,
                    capture_output=True,
                    timeout=2,
                )
                break
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                assert time.monotonic() < deadline, "redis did not start"
                time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


class Load:
    """Ingest batches and orders, each kept going until stopped; every answer is
    recorded (status, the moment, Retry-After)."""

    def __init__(self, client: httpx.AsyncClient, base: str, sid: int, pid: int, key: str):
        self.client, self.base, self.sid, self.pid, self.key = client, base, sid, pid, key
        self.answers: list[tuple[str, int, float, str | None]] = []
        self.acked_likes: list[str] = []
        self.orders_placed = 0
        self.running = True
        self.errors: list[str] = []

    async def ingest(self) -> None:
        n = 0
        while self.running:
            ids = [f"like-{n}-{i}" for i in range(10)]
            n += 1
            events = [{"type": "like", "user_id": f"u{n}", "event_id": e} for e in ids]
            await self._post("ingest", f"/api/v1/streams/{self.sid}/events", {"events": events})
            if self.answers[-1][1] == 202:
                self.acked_likes += ids
            await asyncio.sleep(0.05)

    async def orders(self) -> None:
        n = 0
        while self.running:
            n += 1
            body = {"product_id": self.pid, "quantity": 1, "viewer_id": f"buyer{n}"}
            await self._post(
                "order",
                f"/api/v1/streams/{self.sid}/orders",
                body,
                {"Idempotency-Key": uuid.uuid4().hex},
            )
            if self.answers[-1][1] == 201:
                self.orders_placed += 1
            await asyncio.sleep(0.05)

    async def _post(
        self, kind: str, path: str, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        t0 = time.monotonic()
        try:
            r = await self.client.post(
                f"http://{self.base}{path}",
                json=body,
                headers={"X-Ingest-Key": self.key, **(headers or {})},
                timeout=10,
            )
        except httpx.HTTPError as exc:  # a hang (10 s) or a dropped connection
            self.errors.append(f"{kind}: {exc!r} after {time.monotonic() - t0:.1f}s")
            self.answers.append((kind, 0, t0, None))
            return
        self.answers.append((kind, r.status_code, t0, r.headers.get("retry-after")))
        if r.status_code >= 500 and r.status_code != 503:
            self.errors.append(f"{kind}: {r.status_code} {r.text}")


async def test_redis_restart_mid_stream(private_db: str) -> None:  # noqa: F811
    port = free_port()
    prefix = f"lcrtest:{uuid.uuid4().hex[:8]}:"
    env = {
        "DATABASE_URL": private_db,
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "REDIS_PREFIX": prefix,
    }
    sid, pid = await _live_stream(private_db, allotted=ALLOTTED)
    async with httpx.AsyncClient(timeout=20) as client:
        with redis_server(port) as first_redis, serve(env) as (base, _):
            token = await admin_token(client, base)
            key = await _ingest_key(client, base, token, sid)
            console = Console(sid, token)
            await console.open(base)
            load = Load(client, base, sid, pid, key)
            tasks = [asyncio.create_task(load.ingest()), asyncio.create_task(load.orders())]
            await asyncio.sleep(1.5)
            first_redis.kill()  # Redis dies, with everything it held
            first_redis.wait(timeout=10)
            down_at = time.monotonic()
            await asyncio.sleep(2.0)
            with redis_server(port):
                back_at = time.monotonic()
                # the console is live again: metrics that count what was acknowledged
                # before the outage (the counters were rebuilt), and new events
                live_again = None
                assert console.ws is not None
                async with asyncio.timeout(10):
                    async for raw in console.ws:
                        msg = orjson.loads(raw)
                        if (
                            msg["type"] == "metrics"
                            and msg["metrics"]["likes"] >= len(load.acked_likes) > 0
                            and msg["metrics"]["orders"] >= load.orders_placed
                        ):
                            live_again = time.monotonic() - back_at
                            break
                assert live_again is not None and live_again <= 5.0, live_again
                live_at = time.monotonic()
                await asyncio.sleep(3.0)
                load.running = False
                await asyncio.gather(*tasks)
                # let the last acknowledged batch's count land
                await asyncio.sleep(1.0)
                hdr = {"Authorization": f"Bearer {token}"}
                metrics = (
                    await client.get(f"http://{base}/api/v1/streams/{sid}/metrics", headers=hdr)
                ).json()
                mirror = await _mirror_stock(port, prefix, sid, pid)
            await console.close()
    # while Redis was away: 503 with Retry-After, nothing else (no 500, no hang)
    assert not load.errors, load.errors[:5]
    during = [a for a in load.answers if down_at + 0.7 < a[2] < back_at]
    assert during and {a[1] for a in during} == {503}
    assert all(a[3] for a in during)
    after = [a for a in load.answers if a[2] > live_at + 0.5]
    assert after
    assert {a[1] for a in after if a[0] == "ingest"} == {202}
    assert {a[1] for a in after if a[0] == "order"} <= {201, 409}
    conn = await asyncpg.connect(private_db.replace("+asyncpg", ""))
    try:
        logged = {
            r["event_id"]
            for r in await conn.fetch(
                "SELECT event_id FROM stream_events WHERE stream_id = $1 AND type = 'like'", sid
            )
        }
        sold = await conn.fetchval(
            "SELECT sold_units FROM lineup_items WHERE stream_id = $1 AND product_id = $2",
            sid,
            pid,
        )
        orders = await conn.fetchval(
            "SELECT coalesce(sum(quantity), 0) FROM orders WHERE stream_id = $1", sid
        )
    finally:
        await conn.close()
    # nothing acknowledged lost; counters equal the log
    assert set(load.acked_likes) <= logged
    assert metrics["likes"] == len(logged)
    assert metrics["orders"] == orders == load.orders_placed
    # nothing oversold; the mirror agrees with the database
    assert sold == orders <= ALLOTTED
    assert mirror == ALLOTTED - sold


async def _mirror_stock(port: int, prefix: str, sid: int, pid: int) -> int | None:
    """The mirror's units left (app/realtime/redis.py: key stock:{s<stream>}:<product>)."""
    client = aioredis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        raw = await client.hget(f"{prefix}stock:{{s{sid}}}:{pid}", "stock")
        return int(raw) if raw is not None else None
    finally:
        await client.aclose()
