"""A merchant backend's burst through the stream's `X-Ingest-Key` (issue #13): 2,000
attempts with 200 in flight for 50 units (smaller in embedded mode) → only 201 and 409
`sold_out`, exactly the stock sold, and on both backends (since #17 the embedded mode
has the same fast path over its in-memory stock book) every sold-out refusal is the
fast path's and takes no database connection: the key is verified once and believed
for a moment (app/deps.py), verified again before the belief runs out, and the refusal
is the stock script's — the first wave too, which the fast path's door holds back while
the orders let in take the last units (app/routers/order_fast_path.py)."""

from __future__ import annotations

import asyncio
import traceback
import uuid
from collections import Counter
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event, update

from app import deps
from app.models.events import IngestKey
from app.routers import order_fast_path
from tests.conftest import bearer, login
from tests.orders.conftest import Env
from tests.orders.helpers import Answer, asgi_post, held_orders, seed_listing, sold_units

pytestmark = pytest.mark.slow
ORDER_CODE = ("app/deps.py", "app/routers/orders.py", "app/services/order", "order_fast_path")


async def _burst(
    env: Env, url: str, key: str, product_id: int, attempts: int, in_flight: int
) -> list[Answer]:
    gate = asyncio.Semaphore(in_flight)

    async def one(i: int) -> Answer:
        async with gate:
            return await asgi_post(
                env.app,
                url,
                {"X-Ingest-Key": key, "Idempotency-Key": f"burst-{uuid.uuid4().hex}"},
                {"product_id": product_id, "quantity": 1, "viewer_id": f"shopper-{i}"},
            )

    return list(await asyncio.gather(*(one(i) for i in range(attempts))))


async def test_an_ingest_key_burst_sells_the_stock_and_refuses_the_rest(
    committed_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = committed_env
    embedded = env.app.state.settings.redis_url is None
    units, attempts = (20, 300) if embedded else (50, 2000)
    monkeypatch.setattr(deps, "INGEST_KEY_CACHE_SECONDS", 60.0)
    monkeypatch.setattr(order_fast_path, "GATE_WAIT_SECONDS", 60.0)  # a slow CI machine
    admin = bearer(await login(env.client, "admin"))
    listing = await seed_listing(env.maker, stock=units)
    r = await env.client.post(
        f"/api/v1/streams/{listing.stream_id}/ingest-keys", json={}, headers=admin
    )
    key = r.json()["key"]

    fast_before = _fast()
    # A fresh key (never verified) and no stock mirror yet: the burst's first wave
    answers = await _burst(env, listing.orders_url, key, listing.product_id, attempts, 200)
    codes = Counter(a.status_code for a in answers)
    assert set(codes) <= {201, 409}, {
        a.status_code: a.text for a in answers if a.status_code not in (201, 409)
    }
    assert codes[201] == units and codes[409] == attempts - units
    assert all(a.json()["code"] == "sold_out" for a in answers if a.status_code == 409)
    assert await sold_units(env.maker, listing) == units
    held = await held_orders(env.maker, listing)
    assert len(held) == units and {o.source for o in held} == {"ingest"}

    # every refusal, the first wave's included, was the fast path's
    assert _fast() - fast_before == attempts - units
    engine = env.app.state.sessionmaker.kw["bind"]
    checkouts: list[Any] = []

    def _count(*_args: Any) -> None:
        # Only the order requests' own checkouts: background workers of the app (the
        # outbox relay, the projection, the tickers) may use the pool meanwhile.
        stack = "".join(traceback.format_stack())
        if any(part in stack for part in ORDER_CODE):
            checkouts.append(stack)

    event.listen(engine.sync_engine.pool, "checkout", _count)
    try:
        more = await _burst(env, listing.orders_url, key, listing.product_id, 400, 200)
    finally:
        event.remove(engine.sync_engine.pool, "checkout", _count)
    assert Counter(a.status_code for a in more) == {409: 400}
    assert checkouts == []  # no sold-out refusal took a database connection
    # a wrong key is still refused
    bad = await asgi_post(
        env.app,
        listing.orders_url,
        {"X-Ingest-Key": key + "x", "Idempotency-Key": "k-bad"},
        {"product_id": listing.product_id, "quantity": 1, "viewer_id": "v"},
    )
    assert bad.status_code == 401, bad.text


def _fast() -> float:
    return REGISTRY.get_sample_value("lcr_order_fast_refusals_total") or 0.0


async def test_a_believed_key_is_verified_again_and_a_revocation_elsewhere_ends_it(
    committed_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst longer than the belief stays on the fast path (the key is verified again
    in the background before the belief runs out); a key revoked by another instance
    (only the database knows) is refused within the belief's period."""
    env = committed_env
    period = 0.4
    monkeypatch.setattr(deps, "INGEST_KEY_CACHE_SECONDS", period)
    admin = bearer(await login(env.client, "admin"))
    listing = await seed_listing(env.maker, stock=1)
    r = await env.client.post(
        f"/api/v1/streams/{listing.stream_id}/ingest-keys", json={}, headers=admin
    )
    key_id, key = r.json()["id"], r.json()["key"]

    async def order(i: int) -> Answer:
        return await asgi_post(
            env.app,
            listing.orders_url,
            {"X-Ingest-Key": key, "Idempotency-Key": f"long-{i}"},
            {"product_id": listing.product_id, "quantity": 1, "viewer_id": f"s{i}"},
        )

    assert (await order(0)).status_code == 201  # the last unit
    before = _fast()
    for i in range(1, 13):  # 1.2 s: three times the belief
        a = await order(i)
        assert a.status_code == 409 and a.json()["code"] == "sold_out", a.text
        await asyncio.sleep(0.1)
    assert _fast() - before == 12  # never sent to the full path when the belief ran out

    async with env.maker() as s:  # revoked where this instance does not hear of it
        await s.execute(
            update(IngestKey).where(IngestKey.id == key_id).values(revoked_at=IngestKey.created_at)
        )
        await s.commit()
    loop = asyncio.get_running_loop()
    revoked_at = loop.time()
    codes: list[int] = []
    while loop.time() - revoked_at < 3 * period:
        codes.append((await order(100 + len(codes))).status_code)
        if codes[-1] == 401:
            break
        await asyncio.sleep(0.05)
    assert codes[-1] == 401, codes
    assert loop.time() - revoked_at <= 2 * period + 0.3  # within the belief (and a refresh)


async def test_a_revoked_key_stops_ordering_at_once(env: Env) -> None:
    admin = bearer(await login(env.client, "admin"))
    listing = await seed_listing(env.maker, stock=5)
    r = await env.client.post(
        f"/api/v1/streams/{listing.stream_id}/ingest-keys", json={}, headers=admin
    )
    key_id, key = r.json()["id"], r.json()["key"]

    async def order(idem: str) -> int:
        r = await env.client.post(
            listing.orders_url,
            json={"product_id": listing.product_id, "quantity": 1, "viewer_id": "v1"},
            headers={"X-Ingest-Key": key, "Idempotency-Key": idem},
        )
        return r.status_code

    assert await order("a") == 201  # verified, and believed for a moment
    r = await env.client.delete(
        f"/api/v1/streams/{listing.stream_id}/ingest-keys/{key_id}", headers=admin
    )
    assert r.status_code == 200, r.text
    assert await order("b") == 401
