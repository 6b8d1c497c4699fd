"""Orders placed, paid and cancelled at once on one stream never deadlock.

Every transaction that logs events takes the stream's log lock (PostgreSQL advisory
lock, app/services/eventlog.py) last, after its row locks: a new order takes the
item's row lock then logs; a cancellation gives units back (the same row lock) then
logs. Were one of them to log first, the two would wait for each other and PostgreSQL
would abort one with "deadlock detected" — a 500 here."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from app.models import StreamEvent
from tests.conftest import bearer, login
from tests.orders.conftest import Env
from tests.orders.helpers import seed_listing, sold_units
from tests.orders.test_ingest_payments import paid_event


async def test_orders_payments_and_cancellations_racing_never_deadlock(
    committed_env: Env,
) -> None:
    env = committed_env
    listing = await seed_listing(env.maker, stock=1000)
    placed = []
    for i in range(40):
        r = await env.order(listing, f"old{i}", f"old-{i}")
        assert r.status_code == 201, r.text
        placed.append(r.json()["id"])

    async def cancel(i: int) -> int:
        r = await env.client.post(
            f"{listing.orders_url}/{placed[i]}/cancel", headers=env.viewer(listing, f"old{i}")
        )
        return r.status_code

    async def pay(i: int) -> int:
        r = await env.client.post(
            f"{listing.orders_url}/{placed[i]}/pay", headers=env.viewer(listing, f"old{i}")
        )
        return r.status_code

    async def order(i: int) -> int:
        return (await env.order(listing, f"new{i}", f"new-{i}")).status_code

    answers = await asyncio.gather(
        *(cancel(i) for i in range(20)),
        *(pay(i) for i in range(20, 40)),
        *(order(i) for i in range(40)),
    )
    assert answers[:20] == [200] * 20, answers[:20]
    assert answers[20:40] == [200] * 20, answers[20:40]
    assert answers[40:] == [201] * 40, answers[40:]
    # 40 old orders, 20 of them cancelled, 40 new ones: 60 units held
    assert await sold_units(env.maker, listing) == 60


async def test_ingested_payments_racing_the_pay_step_never_deadlock(committed_env: Env) -> None:
    """A connector's batch pays orders 0..n (it locks each order's row, then logs) while
    their buyers pay them n..0 on the watch page (row, then log): the batch logs only
    once it holds every row it changes."""
    env = committed_env
    listing = await seed_listing(env.maker, stock=1000)
    admin = bearer(await login(env.client, "admin"))
    r = await env.client.post(
        f"/api/v1/streams/{listing.stream_id}/ingest-keys", json={}, headers=admin
    )
    key = r.json()["key"]

    async def connector(orders: list[dict[str, Any]]) -> int:
        r = await env.client.post(
            f"/api/v1/streams/{listing.stream_id}/events",
            json={"events": [paid_event(o) for o in orders]},
            headers={"X-Ingest-Key": key},
        )
        return r.status_code

    async def buyer(o: dict[str, Any]) -> int:
        r = await env.client.post(
            f"{listing.orders_url}/{o['id']}/pay", headers=env.viewer(listing, o["viewer_id"])
        )
        return r.status_code

    for round_ in range(3):  # the interleaving differs from round to round
        orders = []
        for i in range(30):
            r = await env.order(listing, f"v{round_}-{i}", f"k-{round_}-{i}")
            assert r.status_code == 201, r.text
            orders.append(r.json())
        answers = await asyncio.gather(connector(orders), *(buyer(o) for o in reversed(orders)))
        assert answers == [202] + [200] * 30, (round_, answers)
    async with env.maker() as s:
        logged = await s.scalar(
            select(func.count())
            .select_from(StreamEvent)
            .where(StreamEvent.stream_id == listing.stream_id, StreamEvent.type == "order_paid")
        )
    assert logged == 90  # each payment logged once, whoever paid first
