"""Service-queue intake throughput: what one server process spends per comment batch.

    python bench/bench_queue.py [--comments 6000] [--batch 250] [--senders 1 2] [--no-gc-freeze]

The path of a connector's comments, in-process, against a fresh PostgreSQL database and
a Redis prefix (as `controlroom serve` has them, no HTTP in between): for each batch,

1. the ingest transaction: `ingest.record_events` logs the batch (a unit of work);
2. the fold (`projection.fold` in its own unit of work, as `fold_after_commit` runs it
   right after the ingest commit): the log rows read back, the rollups, and the comment
   intake — moderation and classification with the stream's word list, the comments
   inserted, questions and complaints merged into the service queue
   (`queue.plan_feed` before the insert, `queue.record_feed` after it), the
   `comment.new` / `question.*` events written to the outbox and published after commit.

The mix is the simulator's with `comment_share=1.0` (`controlroom simulate`): 35 %
questions (10 distinct ones), 15 % purchase shouts, 45 % chatter, 5 % spam, 3,000
commenters. `--senders 2` runs two senders at once (two connectors of the stream):
their folds take turns on the stream's cursor and queue lock, as in production.

Printed per run: comments/s over the wall clock (what a sender holds), the CPU per
comment of the bench process (the server's Python; the client side is only the event
objects) and of the database's backends serving it (from /proc: the figure a busy
neighbour distorts least — their sum says how many comments a core can take in), the
per-stage wall time (inclusive: the fold contains the intake, the intake the feed) and
the queue it built (items, mention counts adding up). The database runs on the same
machine: on a shared machine the wall figures carry the neighbours' load; the load
average is printed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

from live_support import REDIS_URL, fresh_database, live_stream, machine, redis_prefix
from sqlalchemy import func, select, text

from app.config import Settings
from app.db import create_engine, make_sessionmaker
from app.models import Comment, QueueItem
from app.realtime.state import build_live
from app.schemas.events import EventIn, parse_batch
from app.services import comments, ingest, projection, queue
from app.services.uow import UnitOfWork
from app.simulate import QUESTIONS, Audience

STAGES: dict[str, list[float]] = defaultdict(list)
PROFILE = os.environ.get("BENCH_PROFILE")  # a file: cProfile of the timed part
GC_FREEZE = True


def timed(module: Any, name: str, label: str) -> None:
    """Wrap `module.name` to add its wall time to STAGES[label] (inclusive)."""
    original: Callable[..., Awaitable[Any]] | None = getattr(module, name, None)
    if original is None:  # an older tree (the bench also runs against main for comparison)
        return

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            STAGES[label].append(time.perf_counter() - start)

    setattr(module, name, wrapper)


def batches(n: int, size: int, seed: int) -> list[list[EventIn]]:
    audience = Audience(random.Random(seed), 3000, comment_share=1.0)
    out = []
    for _ in range(n // size):
        out.append(parse_batch({"events": audience.tick(size)}))
    return out


def backend_cpu(pids: list[int]) -> float:
    """CPU seconds the PostgreSQL backends have used so far (/proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # ended, or not on this machine
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


async def backends(maker: Any) -> list[int]:
    async with maker() as s:
        rows = await s.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        )
        return [int(r[0]) for r in rows]


async def run(url: str, prefix: str, n: int, size: int, senders: int) -> dict[str, Any]:
    stream_id, _ = await live_stream(url)
    settings = Settings(database_url=url, redis_url=REDIS_URL, redis_prefix=prefix)
    live = await build_live(settings)
    engine = create_engine(url, pool_size=4)
    maker = make_sessionmaker(engine)
    work = [batches(n // senders, size, seed) for seed in range(1, senders + 1)]
    # warm-up: the pool's connections, the first statements, the model (untimed)
    warm = [[EventIn(type="comment", user_id=f"w{i}", text="来了") for i in range(50)]]
    latencies: list[float] = []

    async def sender(mine: list[list[EventIn]]) -> None:
        for batch in mine:
            start = time.perf_counter()
            async with UnitOfWork.begin(maker, live) as uow:
                await ingest.record_events(uow, stream_id, batch, wake_projection=False)
            async with UnitOfWork.begin(maker, live) as uow:
                while (
                    await projection.fold(
                        uow.session, uow.live.comment_counts, stream_id, wait=True
                    )
                    < 0
                ):
                    pass
            latencies.append(time.perf_counter() - start)

    try:
        await sender(warm[0:1])
        if GC_FREEZE:  # as `controlroom serve` does after start-up (GC_FREEZE=true)
            gc.collect()
            gc.freeze()
        STAGES.clear()
        latencies.clear()
        pids = await backends(maker)
        db_cpu = backend_cpu(pids)
        profile = cProfile.Profile() if PROFILE else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profile:
            profile.enable()
        await asyncio.gather(*(sender(mine) for mine in work))
        if profile and PROFILE:
            profile.disable()
            profile.dump_stats(PROFILE)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        pids = sorted(set(pids) | set(await backends(maker)))
        db_cpu = backend_cpu(pids) - db_cpu
        async with maker() as s:
            items = (
                await s.execute(
                    select(QueueItem.title, QueueItem.mention_count).where(
                        QueueItem.stream_id == stream_id
                    )
                )
            ).all()
            stored = await s.scalar(
                select(func.count()).where(
                    Comment.stream_id == stream_id, Comment.viewer_id.notlike("w%")
                )
            )
    finally:
        await engine.dispose()
        await live.close()
    sent = sum(len(b) for mine in work for b in mine)
    latencies.sort()
    return {
        "sent": sent,
        "stored": stored,
        "wall": wall,
        "cpu": cpu,
        "db_cpu": db_cpu,
        "p50": statistics.median(latencies),
        "p95": latencies[int(0.95 * (len(latencies) - 1))],
        "items": items,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--comments", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--senders", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-gc-freeze", action="store_true", help="as with GC_FREEZE=false")
    args = parser.parse_args()
    global GC_FREEZE
    GC_FREEZE = not args.no_gc_freeze
    timed(ingest, "write_events", "log write (ingest)")
    timed(projection, "fold", "fold (all below)")
    timed(projection, "logged_after", "  log read")
    timed(projection, "pg_fold_range", "  rollups (SQL)")
    timed(comments, "intake_comments", "  comment intake (all below)")
    timed(queue, "feed", "    queue merge (plan + record)")  # before the split
    timed(queue, "plan_feed", "    queue merge (plan + record)")
    timed(queue, "record_feed", "    queue merge (plan + record)")
    print(machine())
    print(f"load average before: {os.getloadavg()}")
    for senders in args.senders:
        with fresh_database("queue") as url, redis_prefix() as prefix:
            STAGES.clear()
            r = asyncio.run(run(url, prefix, args.comments, args.batch, senders))
        rate = r["sent"] / r["wall"]
        print(
            f"\n{senders} sender(s), {r['sent']} comments in {args.batch}-comment batches: "
            f"{rate:,.0f} comments/s (wall); batch (log + fold) p50 {r['p50'] * 1000:.0f} ms, "
            f"p95 {r['p95'] * 1000:.0f} ms"
        )
        py, db = r["cpu"] / r["sent"] * 1e6, r["db_cpu"] / r["sent"] * 1e6
        print(
            f"  CPU a comment: Python {py:.0f} µs + PostgreSQL {db:.0f} µs = {py + db:.0f} µs "
            f"(≈ {1e6 / (py + db):,.0f} comments/s per core of both)"
        )
        for label, times in STAGES.items():
            per = sum(times) / r["sent"] * 1e6
            p50 = statistics.median(times) * 1000
            print(f"  {label:<30} {per:7.0f} µs a comment, p50 {p50:6.1f} ms a call")
        mentions = sum(m for _, m in r["items"])
        print(
            f"  queue: {len(r['items'])} items (distinct questions sent ≤ {len(QUESTIONS)}), "
            f"mentions {mentions}; comments stored {r['stored']} of {r['sent']}"
        )
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
