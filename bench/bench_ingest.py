"""Durable ingest throughput: our endpoint vs one INSERT per event, real servers.

    python bench/bench_ingest.py [--events 200000] [--naive-events 20000] [--inflight 8]

Each run: a fresh PostgreSQL database (fsync on) and Redis prefix, a real server process
(`controlroom serve`, 1 worker, then 2 workers), a live stream and its ingest key, and a
load generator (aiohttp, `--inflight` requests in flight) posting 500-event batches of
a realistic mix (joins with sources, likes, comments, clicks, carts, orders) with
unique event ids. A batch counts when its 202 came back, i.e. once it is durable and
counted. The rollups and the comment intake are folded from the log after it commits
(app/services/projection.py): the run also times how long after the last 202 the
projection has folded every row, and reports the end-to-end rate (all events folded).
Then the same load against the naive server (`bench/naive_servers.py ingest`: pydantic
per event, one INSERT + one HINCRBY per event). The event log is counted afterwards
to check every acknowledged event is there.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_support import (
    ROOT,
    app_server,
    free_port,
    fresh_database,
    ingest_key,
    live_stream,
    machine,
    process,
    redis_prefix,
    server_env,
)

BATCH = 500


def make_bodies(n_events: int, pid: int, run: str) -> list[bytes]:
    rng = random.Random(1)
    now = datetime.now(UTC).isoformat()
    kinds = ["like"] * 40 + ["comment"] * 15 + ["viewer_join"] * 12 + ["viewer_leave"] * 8
    kinds += ["product_click"] * 10 + ["share"] * 3 + ["follow"] * 3 + ["add_to_cart"] * 5
    kinds += ["order_created"] * 2 + ["order_paid"] * 2
    bodies = []
    for b in range(n_events // BATCH):
        events: list[dict[str, Any]] = []
        for i in range(BATCH):
            kind = rng.choice(kinds)
            ev: dict[str, Any] = {
                "type": kind,
                "user_id": f"u{rng.randrange(50_000)}",
                "event_id": f"{run}-{b}-{i}",
                "ts": now,
            }
            if kind == "comment":
                ev["text"] = rng.choice(("有S码吗？", "已拍", "主播好美", "多少钱"))
            elif kind == "viewer_join":
                ev["source"] = rng.choice(("feed", "short_video", "follow", "ads"))
            elif kind in ("product_click", "add_to_cart", "order_created", "order_paid"):
                ev["product_id"] = pid
                if kind == "order_paid":
                    ev["amount"] = "59.90"
            events.append(ev)
        bodies.append(orjson.dumps({"events": events}))
    return bodies


async def load(url: str, key: str, bodies: list[bytes], inflight: int) -> tuple[float, int]:
    """Post every body, `inflight` at a time; returns (seconds, events acknowledged)."""
    queue = list(reversed(bodies))
    acked = 0
    headers = {"X-Ingest-Key": key, "Content-Type": "application/json"}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal acked
        while queue:
            body = queue.pop()
            async with session.post(url, data=body, headers=headers) as r:
                payload = await r.read()
                if r.status != 202:
                    raise RuntimeError(f"{r.status}: {payload[:300]!r}")
                acked += orjson.loads(payload)["accepted"]

    connector = aiohttp.TCPConnector(limit=inflight)
    async with aiohttp.ClientSession(connector=connector) as session:
        # warm-up: one batch, not timed
        warm = queue.pop()
        async with session.post(url, data=warm, headers=headers) as r:
            assert r.status == 202, await r.text()
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(inflight)))
        return time.perf_counter() - start, acked


async def logged(db_url: str, stream_id: int) -> int:
    conn = await asyncpg.connect(db_url.replace("+asyncpg", ""))
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM stream_events WHERE stream_id=$1", stream_id)
        )
    finally:
        await conn.close()


async def caught_up(db_url: str, stream_id: int, within: float = 600) -> float:
    """Seconds until the stream's projection cursor reaches its last logged row."""
    conn = await asyncpg.connect(db_url.replace("+asyncpg", ""))
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < within:
            behind = await conn.fetchval(
                "SELECT (SELECT max(id) FROM stream_events WHERE stream_id=$1)"
                " - last_event_id FROM stream_projections WHERE stream_id=$1",
                stream_id,
            )
            if not behind:
                return time.perf_counter() - start
            await asyncio.sleep(0.05)
        raise RuntimeError(f"projection still {behind} rows behind after {within} s")
    finally:
        await conn.close()


def run_ours(n_events: int, inflight: int, workers: int) -> dict[str, Any]:
    with fresh_database("ingest") as db, redis_prefix() as prefix:
        stream_id, pid = asyncio.run(live_stream(db))
        with app_server(db, prefix, workers=workers) as (port, _):
            base = f"http://127.0.0.1:{port}"
            key = asyncio.run(ingest_key(base, stream_id))
            bodies = make_bodies(n_events + BATCH, pid, uuid.uuid4().hex[:6])
            seconds, acked = asyncio.run(
                load(f"{base}/api/v1/streams/{stream_id}/events", key, bodies, inflight)
            )
            lag = asyncio.run(caught_up(db, stream_id))
        stored = asyncio.run(logged(db, stream_id))
    return {
        "events": acked,
        "seconds": seconds,
        "rate": acked / seconds,
        "logged": stored,
        "lag": lag,
        "folded_rate": acked / (seconds + lag),
    }


def run_naive(n_events: int, inflight: int) -> dict[str, Any]:
    with fresh_database("naive") as db, redis_prefix() as prefix:
        stream_id, pid = asyncio.run(live_stream(db))
        port = free_port()
        args = [sys.executable, str(ROOT / "bench" / "naive_servers.py"), "ingest"]
        with process([*args, "--port", str(port)], server_env(db, prefix), port):
            bodies = make_bodies(n_events + BATCH, pid, uuid.uuid4().hex[:6])
            url = f"http://127.0.0.1:{port}/api/v1/streams/{stream_id}/events"
            seconds, acked = asyncio.run(load(url, "naive", bodies, inflight))
        stored = asyncio.run(logged(db, stream_id))
    return {"events": acked, "seconds": seconds, "rate": acked / seconds, "logged": stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--naive-events", type=int, default=20_000)
    parser.add_argument("--inflight", type=int, default=8)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"batches of {BATCH}, {args.inflight} requests in flight\n")
    results = {}
    for workers in (1, 2):
        r = run_ours(args.events, args.inflight, workers)
        results[f"ours_{workers}w"] = r
        print(
            f"ours, {workers} worker(s): {r['rate']:>9,.0f} events/s "
            f"({r['events']:,} in {r['seconds']:.1f} s; logged {r['logged']:,} incl. warm-up)\n"
            f"   all folded (rollups, queue) {r['lag']:.1f} s after the last 202: "
            f"{r['folded_rate']:,.0f} events/s end to end"
        )
    naive = run_naive(args.naive_events, args.inflight)
    print(
        f"naive, 1 worker:     {naive['rate']:>9,.0f} events/s "
        f"({naive['events']:,} in {naive['seconds']:.1f} s; logged {naive['logged']:,})"
    )
    print(
        f"\nratio ours(1 worker)/naive: {results['ours_1w']['rate'] / naive['rate']:.1f}x; "
        f"ours(2 workers)/naive: {results['ours_2w']['rate'] / naive['rate']:.1f}x; "
        f"goal 50,000 events/s: {'met' if results['ours_2w']['rate'] >= 50_000 else 'not met'}"
    )


if __name__ == "__main__":
    main()
