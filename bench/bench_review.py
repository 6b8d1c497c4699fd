"""Post-stream review of a stream with 1,000,000 events: rollups vs a raw scan.

    .venv/bin/python bench/bench_review.py [--events 1000000] [--runs 3]

1. A fresh PostgreSQL database (migrated) gets one ended 3-hour stream with 20 products,
   36 script segments and 60 explanation windows (edges off the whole minute), and 200
   merged service-queue items.
2. 1,000,000 synthetic events (joins/leaves with real sessions, comments, likes, clicks,
   carts, orders, payments, cancellations, refunds) are generated in time order and
   written with COPY into `stream_events`; the comments also into `comments`, labelled
   by the classifier as on arrival.
3. The rollups are kept exactly as the projection keeps them on PostgreSQL while the
   stream runs (app/services/projection.py), per 1,000-event batch in one transaction:
   `eventlog.pg_fold_range` (stream_viewers, stream_minutes, per product minute, per
   second, per product second: summed by the server from the batch's log rows) and
   `rollups.apply_presence` (presence replay, online minutes), and the stream's
   projection cursor moved past the batch (the comments were copied in already, so the
   projection's comment intake is not part of this). The per-batch cost is printed.
4. VACUUM ANALYZE (what autovacuum does soon after the stream ends).
5. Then, in the same run, the full review (`review_report.build_review`) from rollups
   and the headline/product/minute figures by scanning the log (`review_from_log`), median
   of `--runs` runs each, and a check that both give the same headline figures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.db import create_engine, make_sessionmaker
from app.migrate import upgrade
from app.models import (
    ControlAction,
    ItemStatus,
    LineupItem,
    Product,
    QueueItem,
    ScriptSegment,
    SegmentKind,
    Stream,
    StreamProjection,
    StreamStatus,
)
from app.realtime.memory import MemoryCommentCounts
from app.schemas.events import EventIn
from app.services.eventlog import pg_fold_range
from app.services.review_from_log import raw_headline
from app.services.review_report import build_review, headline
from app.services.rollups import apply_presence
from app.text.classifier import classify_many

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
MINUTES = 180
PER_MINUTE = {  # ~5,750 events a minute; trimmed to the requested total
    "viewer_join": 450,
    "viewer_leave": 400,
    "comment": 1700,
    "like": 2000,
    "share": 60,
    "follow": 60,
    "product_click": 700,
    "add_to_cart": 230,
    "order_created": 70,
    "order_paid": 60,
    "order_cancelled": 6,
    "order_refunded": 3,
}
SOURCES = ("feed", "short_video", "follow", "search", "private", "ads", "other")
COMMENTS = ("这个多少钱", "有没有优惠券", "什么时候发货", "主播好美", "扣1", "质量怎么样")


def generate(total: int, products: list[tuple[int, Decimal]], seed: int = 7) -> Iterator[EventIn]:
    rng = random.Random(seed)
    pool = 60_000
    present: list[str] = []
    present_set: set[str] = set()
    produced = 0
    for minute in range(MINUTES):
        base = START + timedelta(minutes=minute)
        batch: list[tuple[float, EventIn]] = []
        for kind, n in PER_MINUTE.items():
            for _ in range(n):
                sec = rng.random() * 60
                ts = base + timedelta(seconds=sec)
                if kind == "viewer_join":
                    vid = f"v{rng.randrange(pool)}"
                    ev = EventIn(kind, vid, None, ts, source=rng.choice(SOURCES))
                    if vid not in present_set:
                        present_set.add(vid)
                        present.append(vid)
                elif kind == "viewer_leave" and present:
                    i = rng.randrange(len(present))
                    vid = present[i]
                    present[i] = present[-1]
                    present.pop()
                    present_set.discard(vid)
                    ev = EventIn(kind, vid, None, ts)
                else:
                    vid = rng.choice(present) if present else f"v{rng.randrange(pool)}"
                    pid, price = rng.choice(products)
                    if kind in ("product_click", "add_to_cart"):
                        ev = EventIn(kind, vid, None, ts, pid, quantity=1)
                    elif kind.startswith("order_"):
                        qty = rng.choice((1, 1, 1, 2))
                        amount = price * qty if kind in ("order_paid", "order_refunded") else None
                        ev = EventIn(kind, vid, None, ts, pid, quantity=qty, amount=amount)
                    elif kind == "comment":
                        ev = EventIn(kind, vid, None, ts, text=rng.choice(COMMENTS))
                    else:
                        ev = EventIn(kind, vid, None, ts)
                batch.append((sec, ev))
        batch.sort(key=lambda x: x[0])
        for _, ev in batch:
            if produced >= total:
                return
            produced += 1
            yield ev


async def main(total: int, runs: int) -> None:
    name = f"lcr_bench_review_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url, pool_size=4)
        maker = make_sessionmaker(engine)
        async with maker() as session:
            stream = Stream(
                title="bench",
                status=StreamStatus.ended,
                started_at=START,
                ended_at=START + timedelta(minutes=MINUTES),
            )
            session.add(stream)
            await session.flush()
            products = []
            for i in range(20):
                price = Decimal(f"{19 + i * 10}.90")
                p = Product(sku=f"B-{i}", name=f"Product {i}", list_price=price)
                session.add(p)
                await session.flush()
                session.add(
                    LineupItem(
                        stream_id=stream.id,
                        product_id=p.id,
                        position=i + 1,
                        live_price=price,
                        allotted_stock=100_000,
                    )
                )
                products.append((p.id, price))
            _plan(session, stream.id, [pid for pid, _ in products])
            await session.commit()
            sid = stream.id

        conn = await asyncpg.connect(url.replace("+asyncpg", ""))
        columns = [
            "stream_id",
            "type",
            "viewer_id",
            "ts",
            "received_at",
            "product_id",
            "quantity",
            "amount",
            "text",
            "source",
        ]
        labels = dict(zip(COMMENTS, classify_many(list(COMMENTS)), strict=True))
        comment_columns = [
            "stream_id",
            "viewer_id",
            "text",
            "source",
            "kind",
            "topic",
            "sentiment",
            "blocked",
            "hidden",
            "created_at",
        ]
        copy_s = 0.0
        rollup_s = 0.0
        batch_times: list[float] = []
        batch: list[EventIn] = []
        now = datetime.now(UTC)

        folded = 0

        async def flush(events: list[EventIn]) -> None:
            nonlocal copy_s, rollup_s, folded
            t = time.perf_counter()
            await conn.copy_records_to_table(
                "stream_events",
                records=[
                    (
                        sid,
                        e.type,
                        e.user_id,
                        e.ts,
                        now,
                        e.product_id,
                        e.quantity,
                        e.amount,
                        e.text,
                        e.source,
                    )
                    for e in events
                ],
                columns=columns,
            )
            await conn.copy_records_to_table(
                "comments",
                records=[
                    (
                        sid,
                        e.user_id,
                        e.text,
                        "ingest",
                        labels[str(e.text)].kind,
                        labels[str(e.text)].topic,
                        labels[str(e.text)].sentiment,
                        False,
                        False,
                        e.ts,
                    )
                    for e in events
                    if e.type == "comment"
                ],
                columns=comment_columns,
            )
            copy_s += time.perf_counter() - t
            t = time.perf_counter()
            upto = int(
                await conn.fetchval("SELECT max(id) FROM stream_events WHERE stream_id=$1", sid)
            )
            async with maker() as s:
                await pg_fold_range(s, sid, folded, upto)
                await apply_presence(s, sid, events)
                await s.execute(
                    update(StreamProjection)
                    .where(StreamProjection.stream_id == sid)
                    .values(last_event_id=upto)
                )
                await s.commit()
            folded = upto
            dt = time.perf_counter() - t
            rollup_s += dt
            batch_times.append(dt)

        t0 = time.perf_counter()
        for ev in generate(total, products):
            batch.append(ev)
            if len(batch) == 1000:
                await flush(batch)
                batch = []
        if batch:
            await flush(batch)
        load_s = time.perf_counter() - t0
        # What autovacuum does soon after a stream ends: the rollup rows were updated
        # once per batch, so their tables hold many dead row versions until vacuumed.
        t = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        vacuum_s = time.perf_counter() - t
        await conn.close()
        n = await _count(url, sid)
        print(
            f"events logged: {n:,} (COPY {copy_s:.1f} s; generation+load {load_s:.1f} s; "
            f"VACUUM ANALYZE {vacuum_s:.1f} s)"
        )
        batch_times.sort()
        print(
            f"rollup maintenance per 1,000-event batch: median "
            f"{statistics.median(batch_times) * 1000:.1f} ms, p99 "
            f"{batch_times[int(len(batch_times) * 0.99) - 1] * 1000:.1f} ms "
            f"(total {rollup_s:.1f} s)"
        )

        fast: list[float] = []
        raw: list[float] = []
        for _ in range(runs):
            async with maker() as s:
                st = await s.get(Stream, sid)
                assert st is not None
                t = time.perf_counter()
                # the projection's cursor is past every batch: nothing to fold, so the
                # comment counts are not read (an in-memory port stands in for Redis)
                report = await build_review(s, MemoryCommentCounts(), st)
                fast.append(time.perf_counter() - t)
            async with maker() as s:
                st = await s.get(Stream, sid)
                assert st is not None
                t = time.perf_counter()
                raw_h, _, _ = await raw_headline(s, st)
                raw.append(time.perf_counter() - t)
        async with maker() as s:
            st = await s.get(Stream, sid)
            assert st is not None
            fast_h, _ = await headline(s, st)
        ff, rf = fast_h.figures(), raw_h.figures()
        same = ff == rf
        if not same:
            print("differences:", {k: (ff[k], rf[k]) for k in ff if ff[k] != rf[k]})
        await _breakdown(maker, sid)
        f, r = statistics.median(fast), statistics.median(raw)
        print(
            f"full review from rollups: median {f * 1000:.0f} ms "
            f"(runs: {', '.join(f'{x * 1000:.0f}' for x in fast)})"
        )
        print(
            f"headline/products/minutes by raw scan: median {r * 1000:.0f} ms "
            f"(runs: {', '.join(f'{x * 1000:.0f}' for x in raw)})"
        )
        print(f"ratio raw / rollups: {r / f:.1f}x; same headline figures: {same}")
        print(
            f"report: viewers {report['viewers']:,}, peak {report['peak_online']:,}, "
            f"gmv {report['gmv']}, paid {report['paid_orders']:,}, "
            f"minutes {len(report['minutes'])}, products {len(report['products'])}, "
            f"segments {len(report['segments'])}, explanations {len(report['explanations'])}, "
            f"comments classified {report['questions']['comments_classified']:,}, "
            f"queue items {len(report['questions']['top_questions'])} top questions"
        )
        await engine.dispose()
    finally:
        admin = await asyncpg.connect(ADMIN_DSN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _breakdown(maker: async_sessionmaker[AsyncSession], sid: int) -> None:
    """Time each part of the report once (where the budget goes)."""
    from app.services import review_report as rr

    async with maker() as s:
        st = await s.get(Stream, sid)
        assert st is not None
        until = rr.review_until(st)
        parts: list[tuple[str, float]] = []

        async def timed(name: str, coro: Any) -> Any:
            t = time.perf_counter()
            out = await coro
            parts.append((name, (time.perf_counter() - t) * 1000))
            return out

        _h, minute_rows = await timed("headline", rr.headline(s, st))
        earlier = await timed("earlier streams", rr.earlier_stream_ids(s, st, until))
        await timed("returning", rr.returning_viewers(s, sid, earlier))
        series = await timed("minute series", rr.minute_series(s, sid, minute_rows))
        totals = await timed("product totals", rr.product_totals(s, sid))
        await timed("products", rr.products(s, sid, totals))
        await timed("segments", rr.segments(s, st, series))
        await timed("retention", rr.new_viewer_retention(s, sid, until, earlier))
        await timed("explanations", rr.explanations(s, st, until))
        await timed("questions", rr.questions(s, sid))
        await timed("timeline", rr.timeline(s, st))
        print("breakdown (ms): " + ", ".join(f"{n} {ms:.0f}" for n, ms in parts))


def _plan(session: AsyncSession, sid: int, product_ids: list[int]) -> None:
    """Script segments of 5 minutes starting 17 s past the minute, an explanation every
    3 minutes at 23 s past it (each ends at the next), and 200 merged queue items."""
    for i in range(MINUTES // 5):
        session.add(
            ScriptSegment(
                stream_id=sid,
                position=i + 1,
                kind=SegmentKind.product,
                title=f"Segment {i + 1}",
                start_offset_seconds=i * 300 + 17,
                duration_seconds=300,
                product_id=product_ids[i % len(product_ids)],
            )
        )
    for i in range(MINUTES // 3):
        session.add(
            ControlAction(
                stream_id=sid,
                action="explain",
                product_id=product_ids[i % len(product_ids)],
                detail={},
                created_at=START + timedelta(minutes=i * 3, seconds=23),
            )
        )
    for i in range(200):
        first = START + timedelta(seconds=i * 50)
        session.add(
            QueueItem(
                stream_id=sid,
                kind="question" if i % 5 else "complaint",
                topic=("product", "promo", "logistics", "after_sales")[i % 4],
                title=f"问题 {i}",
                norm=f"问题 {i}",
                asker_count=1 + (i * 7) % 40,
                mention_count=1 + (i * 11) % 60,
                negative_count=i % 3,
                status=ItemStatus.answered if i % 2 else ItemStatus.open,
                answered_at=first + timedelta(seconds=30 + i) if i % 2 else None,
                first_at=first,
                last_at=first,
                sla_due_at=first + timedelta(seconds=120),
            )
        )


async def _count(url: str, sid: int) -> int:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM stream_events WHERE stream_id=$1", sid)
        )
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.runs))
