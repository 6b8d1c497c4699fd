"""Group commit of orders (app/services/order_groups.py `book_in_group`) on PostgreSQL + Redis.

Concurrent winners of one item are written in one transaction. Each must still get its
own durable order before its 201, and a group whose transaction fails (a key that already
names an order, a Redis mirror that promised more than the database holds) must leave
nothing behind and let each order be decided alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

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


async def _at_once(app: FastAPI, listing: Listing, keys: list[tuple[str, str]]) -> list[Answer]:
    body = {"product_id": listing.product_id, "quantity": 1}
    return list(
        await asyncio.gather(
            *(
                asgi_post(
                    app, listing.orders_url, viewer_headers(app, listing.stream_id, v, k), body
                )
                for v, k in keys
            )
        )
    )


class _Inserts:
    """Counts INSERTs into orders (one per group, however many orders it holds)."""

    def __init__(self, app: FastAPI) -> None:
        self.engine = app.state.engine.sync_engine
        self.count = 0

    def __enter__(self) -> _Inserts:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        if args[2].lstrip().startswith("INSERT INTO orders"):
            self.count += 1


async def test_concurrent_winners_are_written_in_groups(committed_app: FastAPI) -> None:
    app = committed_app
    listing = await seed_listing(app.state.sessionmaker, stock=60)
    keys = [(f"g-viewer-{i}", f"g-key-{i}") for i in range(80)]
    with _Inserts(app) as inserts:
        answers = await _at_once(app, listing, keys)
    won = [a for a in answers if a.status_code == 201]
    assert len(won) == 60
    assert {a.json()["code"] for a in answers if a.status_code != 201} == {"sold_out"}
    assert inserts.count < 30, inserts.count  # 60 orders, far fewer transactions
    orders = await held_orders(app.state.sessionmaker, listing)
    by_id = {o.id: o for o in orders}
    assert {a.json()["id"] for a in won} == set(by_id)  # every 201 is its own durable order
    for (viewer, key), a in zip(keys, answers, strict=True):
        if a.status_code == 201:
            o = by_id[a.json()["id"]]
            assert (o.viewer_id, o.idempotency_key) == (viewer, key)
            assert a.json()["amount"] == "59.90"
    assert await sold_units(app.state.sessionmaker, listing) == 60
    # each key is known as done: a retry answers the same order without taking stock
    rs = redis_book(app)
    assert rs is not None
    r = (await _at_once(app, listing, [keys[0]]))[0]
    assert r.status_code == 201 and r.headers.get("idempotent-replayed") == "true"
    assert r.json()["id"] == answers[0].json()["id"]
    assert (await rs.read(listing.stream_id, listing.product_id))["stock"] == "0"


async def test_a_key_that_already_names_an_order_fails_its_group_not_the_others(
    committed_app: FastAPI,
) -> None:
    """Redis forgot a placed key (e.g. it lost its data): that order's retry takes units
    again and its group's INSERT hits the UNIQUE key. Nothing of the group is written;
    each order then goes alone: the others are placed, the retry gets its first order."""
    app = committed_app
    listing = await seed_listing(app.state.sessionmaker, stock=10)
    first = (await _at_once(app, listing, [("early", "known-key")]))[0]
    assert first.status_code == 201
    rs = redis_book(app)
    assert rs is not None
    await rs.redis.hdel(rs.keys(listing.stream_id, 0)[2], "known-key")

    keys = [("early", "known-key")] + [(f"v-{i}", f"k-{i}") for i in range(6)]
    answers = await _at_once(app, listing, keys)
    assert [a.status_code for a in answers] == [201] * 7, [a.text for a in answers]
    assert answers[0].json()["id"] == first.json()["id"]
    assert len({a.json()["id"] for a in answers[1:]}) == 6
    assert await sold_units(app.state.sessionmaker, listing) == 7
    assert len(await held_orders(app.state.sessionmaker, listing)) == 7
    # the retry's second take was given back
    assert (await rs.read(listing.stream_id, listing.product_id))["stock"] == "3"


async def test_a_mirror_promising_too_much_fails_the_group_and_the_database_decides(
    committed_app: FastAPI,
) -> None:
    """The Redis mirror says 10 units are left where the database has 3: the group of
    concurrent orders does not fit, so each goes alone and exactly 3 are sold."""
    app = committed_app
    listing = await seed_listing(app.state.sessionmaker, stock=3)
    rs = redis_book(app)
    assert rs is not None
    assert (await _at_once(app, listing, [("warm", "warm-key")]))[0].status_code == 201
    await rs.patch(listing.stream_id, listing.product_id, stock=10)

    answers = await _at_once(app, listing, [(f"v-{i}", f"k-{i}") for i in range(8)])
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 2 and codes.count(409) == 6, [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"sold_out"}
    assert await sold_units(app.state.sessionmaker, listing) == 3
    assert len(await held_orders(app.state.sessionmaker, listing)) == 3
