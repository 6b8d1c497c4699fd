"""Shared set-up for the live-path benchmarks: a fresh PostgreSQL database, a Redis key
prefix, real server processes, and a live stream with an ingest key."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db import create_engine, make_sessionmaker  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.models import LineupItem, ListingStatus, Product, Stream, StreamStatus  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "bench-password-123"
SECRET = "bench-secret-key-0123456789abcdef0123"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_database(tag: str) -> Iterator[str]:
    name = f"lcr_bench_{tag}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def redis_prefix() -> Iterator[str]:
    prefix = f"lcrbench:{uuid.uuid4().hex[:8]}:"
    try:
        yield prefix
    finally:

        async def _clean() -> None:
            client = aioredis.from_url(REDIS_URL)
            keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
            for i in range(0, len(keys), 1000):
                await client.delete(*keys[i : i + 1000])
            await client.aclose()

        asyncio.run(_clean())


def server_env(db_url: str, prefix: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": prefix,
        "SECRET_KEY": SECRET,
        "ADMIN_PASSWORD": PASSWORD,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


@contextmanager
def process(args: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited early: {args}")
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in 60 s")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def app_server(
    db_url: str, prefix: str, workers: int = 1
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    args = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    args += ["--workers", str(workers)]
    with process(args, server_env(db_url, prefix), port) as proc:
        yield port, proc


async def live_stream(db_url: str) -> tuple[int, int]:
    """A live stream with one listed product: (stream_id, product_id)."""
    engine = create_engine(db_url, pool_size=2)
    try:
        async with make_sessionmaker(engine)() as s:
            stream = Stream(title="压测直播间", status=StreamStatus.live)
            product = Product(
                sku=f"B-{uuid.uuid4().hex[:8]}",
                name="保温杯",
                list_price=Decimal("99"),
                stock=10**6,
            )
            s.add_all([stream, product])
            await s.flush()
            s.add(
                LineupItem(
                    stream_id=stream.id,
                    product_id=product.id,
                    live_price=Decimal("59.90"),
                    allotted_stock=10**6,
                    status=ListingStatus.listed,
                    explaining=True,
                )
            )
            await s.commit()
            return stream.id, product.id
    finally:
        await engine.dispose()


async def admin_token(base: str) -> str:
    async with httpx.AsyncClient() as c:
        r = await c.post(
            f"{base}/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
        )
        r.raise_for_status()
        return str(r.json()["access_token"])


async def ingest_key(base: str, stream_id: int) -> str:
    token = await admin_token(base)
    async with httpx.AsyncClient() as c:
        r = await c.post(
            f"{base}/api/v1/streams/{stream_id}/ingest-keys",
            headers={"Authorization": f"Bearer {token}"},
        )
        r.raise_for_status()
        return str(r.json()["key"])


def rss_kib(pid: int) -> int:
    """Resident memory of a process (and its children, for uvicorn workers)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = os.getloadavg()
    return f"{os.cpu_count()} vCPU ({cpu}), load average {load[0]:.1f} at start"
