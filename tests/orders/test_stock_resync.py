"""Re-sync of the Redis stock mirror after a crash left units taken in Redis without an
order: the mirror comes back to the database's truth, orders then sell the full stock
and never more, and a re-sync racing real orders never oversells or loses units."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
from fastapi import FastAPI

from app.config import Settings
from app.realtime.ports import StockBook
from app.realtime.redis import RedisStockBook
from app.services.orders import ABANDONED_AFTER_MS
from app.services.stock_resync import StockWatch, resync_stream
from tests.conftest import REDIS_URL
from tests.orders.conftest import Env
from tests.orders.helpers import Listing, held_orders, redis_book, seed_listing, sold_units

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _rs(app: FastAPI) -> RedisStockBook:
    rs = redis_book(app)
    assert rs is not None
    return rs


async def _crash_after_take(
    rs: StockBook, listing: Listing, viewer: str, key: str, qty: int, age_ms: int
) -> None:
    """What a process does before it dies: the TAKE script with its in-flight entry."""
    started = int(time.time() * 1000) - age_ms
    take = await rs.take(
        listing.stream_id,
        listing.product_id,
        key,
        viewer,
        qty,
        f"p|dead{key}|{listing.product_id}:{qty}:{viewer}|{started}",
        None,
    )
    assert take.outcome == "ok"


async def _resync(app: FastAPI, stream_id: int) -> dict[int, str]:
    async with app.state.sessionmaker() as session:
        return await resync_stream(session, app.state.live, app.state.settings, stream_id)


async def test_lost_units_come_back_and_the_full_stock_sells_exactly(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    env = Env(app, client, app.state.sessionmaker)
    listing = await seed_listing(env.maker, stock=6)
    rs = _rs(app)
    assert (await env.order(listing, "v1", "k1")).status_code == 201  # builds the mirror
    assert await _resync(app, listing.stream_id) == {listing.product_id: "in_sync"}

    # A process took 2 units and died; another lost 2 more without a trace (DECR).
    await _crash_after_take(rs, listing, "v9", "dead", 2, age_ms=ABANDONED_AFTER_MS + 5000)
    await rs.redis.hincrby(rs.keys(listing.stream_id, listing.product_id)[0], "stock", -2)
    assert (await rs.read(listing.stream_id, listing.product_id))["stock"] == "1"
    r = await env.order(listing, "v2", "k2", quantity=2)
    assert r.status_code == 409 and r.json()["code"] == "sold_out"  # 5 are really left

    # an order in flight (a live request, not a dead one): the re-sync waits
    await _crash_after_take(rs, listing, "v8", "live", 1, age_ms=0)
    assert await _resync(app, listing.stream_id) == {listing.product_id: "busy"}
    assert (await rs.read(listing.stream_id, listing.product_id))["stock"] == "0"
    await rs.give_back(
        listing.stream_id,
        listing.product_id,
        "v8",
        1,
        None,
        "live",
        (await rs.idem_entry(listing.stream_id, "live")) or "",
    )

    assert await _resync(app, listing.stream_id) == {listing.product_id: "fixed"}
    mirror = await rs.read(listing.stream_id, listing.product_id)
    assert mirror["stock"] == "5" and mirror["allotted"] == "6"
    assert await rs.read_bought(listing.stream_id, listing.product_id) == {"v1": 1}
    assert await rs.idem_entry(listing.stream_id, "dead") is None  # the dead key is free
    assert await _resync(app, listing.stream_id) == {listing.product_id: "in_sync"}

    # the full stock sells, and not one unit more
    assert (await env.order(listing, "v2", "k2", quantity=2)).status_code == 201
    assert (await env.order(listing, "v9", "dead", quantity=2)).status_code == 201
    assert (await env.order(listing, "v3", "k3", quantity=1)).status_code == 201
    r = await env.order(listing, "v4", "k4", quantity=1)
    assert r.status_code == 409 and r.json()["code"] == "sold_out"
    assert await sold_units(env.maker, listing) == 6
    assert sum(o.quantity for o in await held_orders(env.maker, listing)) == 6


async def test_stock_watch_resyncs_a_lasting_disagreement_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    env = Env(app, client, app.state.sessionmaker)
    listing = await seed_listing(env.maker, stock=4)
    rs = _rs(app)
    assert (await env.order(listing, "v1", "k1")).status_code == 201
    watch = StockWatch(env.maker, app.state.live, app.state.settings, every=1.0)
    item = (listing.stream_id, listing.product_id)
    assert item not in await watch.check()

    await rs.redis.hincrby(rs.keys(*item)[0], "stock", -3)  # lost units
    assert item not in await watch.check()  # first seen: could be an order in progress
    assert (await watch.check())[item] == "fixed"  # the same disagreement a look later
    assert (await rs.read(*item))["stock"] == "3"
    assert item not in await watch.check()


async def test_resync_racing_orders_never_oversells(
    committed_app: FastAPI, committed_client: httpx.AsyncClient
) -> None:
    app, client = committed_app, committed_client
    env = Env(app, client, app.state.sessionmaker)
    stock = 40
    listing = await seed_listing(env.maker, stock=stock)
    rs = _rs(app)
    assert (await env.order(listing, "v0", "k0")).status_code == 201
    # a crash took 10 units long ago
    await _crash_after_take(rs, listing, "vx", "dead", 10, age_ms=ABANDONED_AFTER_MS + 5000)

    outcomes: Counter[str] = Counter()
    stop = asyncio.Event()

    async def resyncer() -> None:
        while not stop.is_set():
            for outcome in (await _resync(app, listing.stream_id)).values():
                outcomes[outcome] += 1
            await asyncio.sleep(0.005)

    async def buyer(n: int) -> int:
        r = await env.order(listing, f"b{n % 30}", f"r{n}", quantity=1)
        assert r.status_code in (201, 409), r.text
        return r.status_code

    task = asyncio.create_task(resyncer())
    answers = await asyncio.gather(*(buyer(n) for n in range(120)))
    stop.set()
    await task

    sold = await sold_units(env.maker, listing)
    assert sold <= stock
    assert (
        answers.count(201) + 1
        == sold
        == sum(o.quantity for o in await held_orders(env.maker, listing))
    )
    # whatever the race left, one quiet re-sync makes every remaining unit sellable
    final = await _resync(app, listing.stream_id)
    assert final[listing.product_id] in ("fixed", "in_sync")
    mirror = await rs.read(listing.stream_id, listing.product_id)
    assert int(mirror["stock"]) == stock - sold
    left = stock - sold
    for n in range(left):
        assert (await env.order(listing, f"late{n}", f"late{n}")).status_code == 201
    r = await env.order(listing, "late-x", "late-x")
    assert r.status_code == 409 and r.json()["code"] == "sold_out"
    assert await sold_units(env.maker, listing) == stock
    # the re-syncs really ran during the race (whether one found a quiet moment to fix
    # the mirror, or all saw orders in flight, depends on timing)
    assert sum(outcomes.values()) >= 1
    assert set(outcomes) <= {"fixed", "in_sync", "busy", "moved"}


async def test_resync_stock_cli(committed_app: FastAPI, tmp_path: Path) -> None:
    listing = await seed_listing(committed_app.state.sessionmaker, stock=3)
    transport = httpx.ASGITransport(app=committed_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        env = Env(committed_app, client, committed_app.state.sessionmaker)
        assert (await env.order(listing, "v1", "k1")).status_code == 201
        rs = _rs(committed_app)
        await rs.redis.hincrby(rs.keys(listing.stream_id, listing.product_id)[0], "stock", -2)
        settings: Settings = committed_app.state.settings
        cli_env = {
            **os.environ,
            "DATABASE_URL": settings.resolved_database_url,
            "REDIS_URL": REDIS_URL,
            "REDIS_PREFIX": settings.redis_prefix,
            "DATA_DIR": str(tmp_path / "cli-data"),
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "app.cli", "resync-stock", str(listing.stream_id)],
            env=cli_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr + result.stdout
        assert f"product {listing.product_id}: fixed" in result.stdout
        assert (await rs.read(listing.stream_id, listing.product_id))["stock"] == "2"
        assert (await env.order(listing, "v2", "k2", quantity=2)).status_code == 201


async def test_embedded_book_is_resynced_the_same_way(
    embedded_app: FastAPI, embedded_client: httpx.AsyncClient
) -> None:
    """The embedded mode's in-memory stock book follows the same rules: an abandoned
    take is given back by the re-sync, and the full stock then sells exactly."""
    env = Env(embedded_app, embedded_client, embedded_app.state.sessionmaker)
    listing = await seed_listing(env.maker, stock=3)
    assert await _resync(embedded_app, listing.stream_id) == {listing.product_id: "absent"}
    assert (await env.order(listing, "v1", "k1")).status_code == 201
    book: StockBook = embedded_app.state.live.stock
    await _crash_after_take(book, listing, "v2", "dead", 2, ABANDONED_AFTER_MS + 1000)
    assert await book.read_stock(listing.stream_id, listing.product_id) == 0
    assert (await env.order(listing, "v3", "k3")).status_code == 409
    assert await _resync(embedded_app, listing.stream_id) == {listing.product_id: "fixed"}
    assert (await env.order(listing, "v3", "k3", quantity=2)).status_code == 201
    assert await sold_units(env.maker, listing) == 3
