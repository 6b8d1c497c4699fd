"""Live counters throughput: `MemoryCounters.apply` and `RedisCounters.apply` (the Lua
script), on a realistic event mix in 500-event batches.

    python bench/bench_counters.py [--events 200000] [--redis redis://127.0.0.1:6379/0]

    # the script's server time, exactly: a private Redis for the run
    redis-server --port 6390 --save '' --daemonize yes
    python bench/bench_counters.py --redis redis://127.0.0.1:6390/0

Prints events per second for each backend (best of `--rounds`, a fresh stream each):
in process by CPU time, Redis by wall time (the script runs in the server).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import redis.asyncio as aioredis

from app.realtime.memory import MemoryCounters
from app.realtime.ports import Counters
from app.realtime.redis import RedisCounters
from app.schemas.events import EventIn

MIX = (
    ["viewer_join"] * 10
    + ["viewer_leave"] * 6
    + ["like"] * 30
    + ["comment"] * 20
    + ["share", "follow"] * 2
    + ["product_click"] * 12
    + ["add_to_cart"] * 6
    + ["order_created"] * 3
    + ["order_paid"] * 2
    + ["order_cancelled", "order_refunded"]
)


def events(n: int) -> list[EventIn]:
    rng = random.Random(1)
    base = datetime(2026, 12, 5, 12, tzinfo=UTC)
    out = []
    for i in range(n):
        kind = rng.choice(MIX)
        pid = rng.randrange(1, 30) if kind.startswith(("product", "add", "order")) else None
        amount = (
            Decimal(rng.randint(100, 99999)) / 100
            if kind in ("order_paid", "order_refunded")
            else None
        )
        out.append(
            EventIn(
                kind,
                f"u{rng.randrange(20000)}",
                f"e{i}",
                base + timedelta(seconds=i // 50),
                pid,
                None,
                None,
                amount,
            )
        )
    return out


async def run(
    counters_for: Callable[[], Counters],
    evs: list[EventIn],
    rounds: int,
    clock: Callable[[], float],
) -> float:
    best = 0.0
    for r in range(rounds):
        counters = counters_for()
        start = clock()
        for i in range(0, len(evs), 500):
            await counters.apply(r + 1, evs[i : i + 500])
        best = max(best, len(evs) / (clock() - start))
        await counters.reset(r + 1)
    return best


async def _script_usec(client: aioredis.Redis) -> int:
    stats = await client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("usec", 0))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    evs = events(args.events)
    # In process: this process's CPU time (less noisy on a shared machine).
    rate = await run(MemoryCounters, evs, args.rounds, time.process_time)
    print(f"memory: {rate:,.0f} events/s (CPU time)")
    client = aioredis.from_url(args.redis)
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    try:
        # Redis: wall time, and the server's own time in the script (exact on a Redis
        # server that nothing else uses: --redis to one started for the run).
        before = await _script_usec(client)
        rate = await run(lambda: RedisCounters(client, prefix), evs, args.rounds, time.perf_counter)
        server = (await _script_usec(client) - before) / (len(evs) * args.rounds)
        print(f"redis (Lua): {rate:,.0f} events/s (wall time), {server:.2f} µs/event in the server")
    finally:
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
