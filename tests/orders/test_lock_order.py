"""Orders placed, paid and cancelled at once on one stream never deadlock.

Every transaction that logs events takes the stream's log lock (PostgreSQL advisory
lock, app/services/eventlog.py) last, after its row locks: a new order takes the
item's row lock then logs; a cancellation gives units back (the same row lock) then
logs. Were one of them to log first, the two would wait for each other and PostgreSQL
would abort one with "deadlock detected" — a 500 here."""

from __future__ import annotations

import asyncio

from tests.orders.conftest import Env
from tests.orders.helpers import seed_listing, sold_units


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
