"""Proof of no oversell: thousands of concurrent order attempts against a small stock.

Each race sends every attempt at once (asyncio.gather over the ASGI app, real commits),
part of them twice with the same Idempotency-Key (a client retrying while the first try
is still in flight), then replays every key again. It checks that

* units held by orders == the stock (demand exceeds it), never more;
* no viewer holds more than the per-viewer limit;
* every 201 is a durable row with the same content, and every answer for one key is the
  same order;
* the Redis mirror agrees with the database afterwards.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.models import FlashSale, Order
from tests.orders.conftest import Env
from tests.orders.helpers import (
    Answer,
    Listing,
    asgi_post,
    held_orders,
    redis_book,
    seed_listing,
    sold_units,
    viewer_headers,
)

pytestmark = pytest.mark.slow


async def _race(
    app: FastAPI,
    client: httpx.AsyncClient,
    listing: Listing,
    *,
    attempts: int,
    viewers: int,
    twins: int,
    extra: dict[str, Any] | None = None,
    max_quantity: int = 2,
) -> tuple[dict[str, tuple[str, int]], dict[str, list[Answer]]]:
    """Fire `attempts` orders (+ `twins` concurrent same-key retries) at once."""
    rnd = random.Random(5)
    plan: dict[str, tuple[str, int]] = {}
    for i in range(attempts):
        plan[f"key-{i}"] = (f"viewer-{rnd.randrange(viewers)}", rnd.randint(1, max_quantity))
    sends = list(plan) + rnd.sample(list(plan), twins)
    rnd.shuffle(sends)
    headers = {v: viewer_headers(app, listing.stream_id, v) for v in {v for v, _ in plan.values()}}

    async def send(key: str) -> tuple[str, Answer]:
        viewer, qty = plan[key]
        body = {"product_id": listing.product_id, "quantity": qty, **(extra or {})}
        r = await asgi_post(
            app, listing.orders_url, {**headers[viewer], "Idempotency-Key": key}, body
        )
        return key, r

    answers: dict[str, list[Answer]] = defaultdict(list)
    for key, r in await asyncio.gather(*(send(k) for k in sends)):
        answers[key].append(r)
    return plan, answers


def _check_answers(
    plan: dict[str, tuple[str, int]], answers: dict[str, list[Answer]]
) -> dict[str, int]:
    """Every answer is a 201 or a 409 with a contract code; same key → same order."""
    won: dict[str, int] = {}
    for key, rs in answers.items():
        codes = {r.status_code for r in rs}
        assert codes <= {201, 409}, [r.text for r in rs]
        ids = {r.json()["id"] for r in rs if r.status_code == 201}
        assert len(ids) <= 1, f"{key} answered by two orders {ids}"
        for r in rs:
            if r.status_code == 409:
                assert r.json()["code"] in {"sold_out", "limit_exceeded"}, r.text
        if ids:
            won[key] = ids.pop()
    return won


async def _check_durable(
    app: FastAPI, listing: Listing, plan: dict[str, tuple[str, int]], won: dict[str, int]
) -> list[Order]:
    orders = await held_orders(app.state.sessionmaker, listing)
    by_id = {o.id: o for o in orders}
    assert set(by_id) == set(won.values()), "every 201 is exactly one durable order"
    for key, order_id in won.items():
        o = by_id[order_id]
        assert (o.idempotency_key, o.viewer_id, o.quantity) == (key, *plan[key])
    return orders


async def _replay_all(
    app: FastAPI,
    client: httpx.AsyncClient,
    listing: Listing,
    plan: dict[str, tuple[str, int]],
    won: dict[str, int],
    extra: dict[str, Any] | None = None,
) -> None:
    sem = asyncio.Semaphore(200)

    async def again(key: str) -> None:
        viewer, qty = plan[key]
        body = {"product_id": listing.product_id, "quantity": qty, **(extra or {})}
        async with sem:
            r = await asgi_post(
                app, listing.orders_url, viewer_headers(app, listing.stream_id, viewer, key), body
            )
        if key in won:
            assert r.status_code == 201 and r.json()["id"] == won[key], r.text
        else:
            assert r.status_code == 409, r.text

    # every winner and a sample of the others
    sample = set(won) | set(random.Random(7).sample(sorted(plan), 300))
    await asyncio.gather(*(again(k) for k in sample))


async def _assert_mirror(app: FastAPI, listing: Listing, stock_left: int) -> None:
    rs = redis_book(app)
    if rs is None:
        return
    mirror = await rs.read(listing.stream_id, listing.product_id)
    assert int(mirror["stock"]) == stock_left


async def test_race_never_oversells_and_keys_stay_idempotent(committed_env: Env) -> None:
    app, client = committed_env.app, committed_env.client
    limit, stock = 3, 100
    app.state.settings.order_units_per_viewer = limit
    listing = await seed_listing(app.state.sessionmaker, stock=stock)

    plan, answers = await _race(app, client, listing, attempts=2000, viewers=60, twins=200)

    won = _check_answers(plan, answers)
    orders = await _check_durable(app, listing, plan, won)
    assert sum(o.quantity for o in orders) == stock
    assert await sold_units(app.state.sessionmaker, listing) == stock
    per_viewer = Counter[str]()
    for o in orders:
        per_viewer[o.viewer_id] += o.quantity
    assert max(per_viewer.values()) <= limit
    assert any(
        r.json()["code"] == "limit_exceeded"
        for rs in answers.values()
        for r in rs
        if r.status_code == 409
    )
    await _assert_mirror(app, listing, 0)
    await _replay_all(app, client, listing, plan, won)
    assert await sold_units(app.state.sessionmaker, listing) == stock


async def test_flash_sale_race_sells_exactly_its_quantity_and_ends_once(committed_env: Env) -> None:
    app, client = committed_env.app, committed_env.client
    from tests.conftest import bearer, login

    admin = bearer(await login(client, "admin"))
    listing = await seed_listing(app.state.sessionmaker, stock=200, price="99.00")
    quantity, limit = 50, 2
    r = await client.post(
        f"/api/v1/streams/{listing.stream_id}/flash-sales",
        json={
            "product_id": listing.product_id,
            "price": "9.90",
            "quantity": quantity,
            "per_user_limit": limit,
            "duration_seconds": 120,
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    flash_id = r.json()["id"]
    events: list[dict[str, Any]] = []

    async def on_event(channel: str, message: bytes) -> None:
        import orjson

        events.append(orjson.loads(message))

    live = app.state.live
    await live.broker.subscribe(live.events_channel(listing.stream_id), on_event)
    extra = {"flash_sale_id": flash_id}
    plan, answers = await _race(
        app, client, listing, attempts=2000, viewers=1000, twins=200, extra=extra
    )
    await asyncio.sleep(0.3)  # let the broker deliver
    await live.broker.unsubscribe(live.events_channel(listing.stream_id), on_event)

    won = _check_answers(plan, answers)
    orders = await _check_durable(app, listing, plan, won)
    assert sum(o.quantity for o in orders) == quantity
    assert all(o.flash_sale_id == flash_id and str(o.unit_price) == "9.90" for o in orders)
    per_viewer = Counter[str]()
    for o in orders:
        per_viewer[o.viewer_id] += o.quantity
    assert max(per_viewer.values()) <= limit
    async with app.state.sessionmaker() as s:
        fs = await s.scalar(select(FlashSale).where(FlashSale.id == flash_id))
        assert fs is not None and fs.sold == quantity
        assert fs.status == "ended" and fs.end_reason == "sold_out"
    ended = [e for e in events if e["type"] == "flash_sale.ended"]
    assert len(ended) == 1 and ended[0]["data"]["remaining"] == 0
    # the sale is over: a new order for it is refused, ordinary stock still sells
    r = await client.post(
        listing.orders_url,
        json={"product_id": listing.product_id, "quantity": 1, **extra},
        headers=viewer_headers(app, listing.stream_id, "late", "late-1"),
    )
    assert r.status_code == 409 and r.json()["code"] == "sold_out"
    r = await client.post(
        listing.orders_url,
        json={"product_id": listing.product_id, "quantity": 1},
        headers=viewer_headers(app, listing.stream_id, "late", "late-2"),
    )
    assert r.status_code == 201 and r.json()["unit_price"] == "99.00"
    await _assert_mirror(app, listing, 200 - quantity - 1)
