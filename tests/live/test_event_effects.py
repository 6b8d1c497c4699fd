"""Every backend counts a random mix of events identically (app/domain/effects.py).

The same events go to the in-process counters, the Redis counters (their Lua script),
the log on PostgreSQL and on SQLite (`log_totals`: SQL aggregates), the projection's
folds (SQL on PostgreSQL, Python on SQLite) and the review's raw recount; every figure
that two of them keep must be equal.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import create_engine, make_sessionmaker
from app.domain import effects
from app.migrate import upgrade
from app.models import Stream, StreamMinute, StreamViewer
from app.models.rollups import StreamProductMinute, StreamProductSecond, StreamSecond
from app.realtime.counters import CounterState, cents
from app.realtime.memory import MemoryCommentCounts, MemoryCounters
from app.realtime.redis import RedisCounters
from app.schemas.events import EventIn
from app.services.eventlog import log_totals, write_events
from app.services.projection import catch_up
from app.services.review_from_log import raw_headline
from tests.conftest import REDIS_URL

BASE = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
PIDS = (101, 102, 103)


def _events(rng: random.Random, n: int) -> list[EventIn]:
    out: list[EventIn] = []
    for i in range(n):
        kind = rng.choice(effects.EVENT_TYPES)
        amount = None
        if kind in ("order_paid", "order_refunded") or rng.random() < 0.1:
            amount = Decimal(rng.randint(1, 99999)) / 100
        product = rng.choice(PIDS) if rng.random() < 0.7 else None
        out.append(
            EventIn(
                kind,
                f"u{rng.randrange(30)}",
                f"e{i}" if rng.random() < 0.8 else None,
                BASE + timedelta(seconds=rng.randrange(300), milliseconds=rng.randrange(1000)),
                product,
                "好" if kind == "comment" else None,
                rng.choice((None, 1, 2, 5)),
                amount,
            )
        )
    # a fifth of the events with ids are sent again, somewhere later
    for ev in [e for e in out if e.event_id is not None and rng.random() < 0.2]:
        out.insert(rng.randrange(len(out)), ev)
    return out


def _batches(rng: random.Random, events: list[EventIn]) -> list[list[EventIn]]:
    out, i = [], 0
    while i < len(events):
        size = rng.randint(1, 120)
        out.append(events[i : i + size])
        i += size
    return out


async def _count(counters: Any, batches: list[list[EventIn]]) -> tuple[CounterState, Any]:
    for batch in batches:
        await counters.apply(1, batch)
    return await counters.read(1), await counters.minutes(1)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


async def _logged_and_folded(session: AsyncSession, batches: list[list[EventIn]]) -> dict[str, Any]:
    stream = Stream(title="effects")
    session.add(stream)
    await session.flush()
    for batch in batches:
        await write_events(session, stream.id, batch)
    await session.flush()
    await catch_up(session, MemoryCommentCounts(), stream.id)

    async def rows(model: Any, keys: tuple[str, ...], columns: tuple[str, ...]) -> Any:
        out = {}
        for r in await session.execute(select(model).where(model.stream_id == stream.id)):
            row = r[0]
            key = tuple(
                _utc(getattr(row, k)) if k in ("minute", "second") else getattr(row, k)
                for k in keys
            )
            out[key] = {
                c: _money(getattr(row, c))
                if isinstance(getattr(row, c), Decimal)
                else getattr(row, c)
                for c in columns
            }
        return out

    headline, products, minutes = await raw_headline(session, stream)
    return {
        "totals": await log_totals(session, stream.id),
        "viewers": await rows(StreamViewer, ("viewer_id",), tuple(effects.VIEWER_ROLLUP)),
        "minutes": await rows(StreamMinute, ("minute",), tuple(effects.MINUTE_ROLLUP)),
        "product_minutes": await rows(
            StreamProductMinute, ("product_id", "minute"), tuple(effects.PRODUCT_ROLLUP)
        ),
        "product_seconds": await rows(
            StreamProductSecond, ("product_id", "second"), tuple(effects.PRODUCT_SECOND_ROLLUP)
        ),
        "seconds": await rows(StreamSecond, ("second",), tuple(effects.SECOND_ROLLUP)),
        "raw": (headline, products, minutes),
    }


def _sum(rows: dict[Any, dict[str, Any]], column: str, where: Any = None) -> Any:
    return sum((r[column] for k, r in rows.items() if where is None or where(k)), 0)


async def test_every_backend_counts_a_random_event_mix_identically(
    session: AsyncSession, redis_prefix: str, tmp_path: Path
) -> None:
    rng = random.Random(17)
    batches = _batches(rng, _events(rng, 2500))

    memory, memory_minutes = await _count(MemoryCounters(), batches)
    client = aioredis.from_url(REDIS_URL)
    try:
        redis, redis_minutes = await _count(RedisCounters(client, redis_prefix), batches)
    finally:
        await client.aclose()
    assert redis == memory
    assert redis_minutes == memory_minutes
    assert memory.totals["gmv"] > 0 and memory.totals["refunds"] > 0
    assert any(p["held"] for p in memory.products.values())

    pg = await _logged_and_folded(session, batches)
    sqlite_url = f"sqlite+aiosqlite:///{(tmp_path / 'effects.db').as_posix()}"
    await asyncio.to_thread(upgrade, sqlite_url)  # alembic runs its own event loop
    engine = create_engine(sqlite_url)
    try:
        async with make_sessionmaker(engine)() as lite_session:
            lite = await _logged_and_folded(lite_session, batches)
    finally:
        await engine.dispose()

    # The log's totals (SQL aggregates) on both databases equal the live counters.
    assert pg["totals"] == memory
    assert lite["totals"] == memory
    # The SQL folds (PostgreSQL) and the Python folds (SQLite) make the same rows.
    for name in ("viewers", "minutes", "product_minutes", "product_seconds", "seconds"):
        assert pg[name] == lite[name], name
        assert pg[name], name

    # The rollups add up to the counters.
    t = memory.totals
    for column, value in t.items():
        if column == "peak_online":
            continue
        summed = _sum(pg["minutes"], column)
        assert (cents(summed) if column in effects.MONEY_METRICS else summed) == value, column
    viewer_of = effects.VIEWER_ROLLUP
    for column, metric in viewer_of.items():
        summed = _sum(pg["viewers"], column)
        assert (cents(summed) if metric in effects.MONEY_METRICS else summed) == t[metric], column
    assert len(pg["viewers"]) == memory.viewers
    for pid, p in memory.products.items():
        mine = {k: r for k, r in pg["product_minutes"].items() if k[0] == pid}
        assert _sum(mine, "product_clicks") == p["clicks"]
        assert _sum(mine, "orders") == p["orders"]
        assert _sum(mine, "units_sold") == p["units_sold"]
        assert cents(_sum(mine, "gmv")) == p["gmv"]
        per_second = {k: r for k, r in pg["product_seconds"].items() if k[0] == pid}
        for column in effects.PRODUCT_SECOND_ROLLUP:
            assert _sum(per_second, column) == _sum(mine, column), (pid, column)
    for column in effects.SECOND_ROLLUP:
        summed = _sum(pg["seconds"], column)
        assert (cents(summed) if column in effects.MONEY_METRICS else summed) == t[column]
    # Per minute: the live counters (keyed by event type) and the minute rollup.
    live_minutes: dict[datetime, dict[str, int]] = defaultdict(dict)
    for minute, figures in memory_minutes.items():
        live_minutes[datetime.fromtimestamp(minute * 60, UTC)] = figures
    assert set(live_minutes) == {k[0] for k in pg["minutes"]}
    for (minute,), row in pg["minutes"].items():
        live = live_minutes[minute]
        for kind, count in effects.COUNT_OF.items():
            assert live.get(kind, 0) == row[count], (minute, kind)
        assert live.get("units_sold", 0) == row["units_sold"]
        assert live.get("gmv", 0) == cents(row["gmv"])

    # The review's raw recount from the log.
    for db in (pg, lite):
        headline, products, _ = db["raw"]
        for column, value in headline.counts.items():
            assert value == t[column], column
        assert cents(headline.gmv) == t["gmv"] and cents(headline.refunds) == t["refunds"]
        assert headline.entries == t["joins"]
        by_product = {(pid,): row for pid, row in products.items()}
        for column in effects.PRODUCT_ROLLUP:
            for (pid,), row in by_product.items():
                mine = {k: r for k, r in db["product_minutes"].items() if k[0] == pid}
                assert _money(row[column]) == _money(_sum(mine, column)), (pid, column)


def test_the_rollup_models_have_a_column_for_every_metric_of_their_list() -> None:
    for model, columns in (
        (StreamViewer, effects.VIEWER_ROLLUP),
        (StreamMinute, effects.MINUTE_ROLLUP),
        (StreamProductMinute, effects.PRODUCT_ROLLUP),
        (StreamProductSecond, effects.PRODUCT_SECOND_ROLLUP),
        (StreamSecond, effects.SECOND_ROLLUP),
    ):
        missing = set(columns) - set(model.__table__.columns.keys())
        assert not missing, (
            f"{model.__tablename__} needs columns {sorted(missing)} (and a migration)"
        )


def test_the_lua_table_is_generated_from_the_effects() -> None:
    lua = effects.lua_effects({"tot": effects.TOTALS})
    for kind, count in effects.COUNT_OF.items():
        assert f"{kind} = {{tot = {{{{'{count}', 1, 1}}" in lua
    assert "{'held', 2, -1}" in effects.lua_effects({"prod": effects.LIVE_PRODUCT})
