"""One order book: every sale is an order row whatever its source — the watch page
(viewer token), a merchant backend (ingest key) or a platform connector (ingest order
events with `order_id`) — and the order list, the export, the live metrics, the
storefront and the review agree on them."""

from __future__ import annotations

import asyncio
import csv
import io
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.models import FlashSale, FlashSaleStatus, LineupItem
from app.services.connector_orders import SOURCE
from tests.conftest import bearer, login
from tests.orders.conftest import Env
from tests.orders.helpers import Listing, seed_listing

ALLOTTED = 40
PRICE = "59.90"


class Room:
    def __init__(self, env: Env, listing: Listing, key: str, admin: dict[str, str]) -> None:
        self.env, self.listing, self.key, self.admin = env, listing, key, admin
        self.base = f"/api/v1/streams/{listing.stream_id}"

    async def watch_order(self, viewer: str, idem: str, qty: int = 1) -> dict[str, Any]:
        r = await self.env.order(self.listing, viewer, idem, qty)
        assert r.status_code == 201, r.text
        order: dict[str, Any] = r.json()
        return order

    async def key_order(self, viewer: str, idem: str, qty: int = 1) -> dict[str, Any]:
        r = await self.env.client.post(
            self.listing.orders_url,
            json={"product_id": self.listing.product_id, "quantity": qty, "viewer_id": viewer},
            headers={"X-Ingest-Key": self.key, "Idempotency-Key": idem},
        )
        assert r.status_code == 201, r.text
        order: dict[str, Any] = r.json()
        return order

    async def pay(self, order: dict[str, Any], viewer: str | None = None) -> None:
        headers = (
            self.env.viewer(self.listing, viewer)
            if viewer is not None
            else {"X-Ingest-Key": self.key}
        )
        r = await self.env.client.post(
            f"{self.listing.orders_url}/{order['id']}/pay", headers=headers
        )
        assert r.status_code == 200, r.text

    async def ingest(self, events: list[dict[str, Any]]) -> Any:
        r = await self.env.client.post(
            f"{self.base}/events", json={"events": events}, headers={"X-Ingest-Key": self.key}
        )
        assert r.status_code == 202, r.text
        return r.json()

    async def get(self, path: str, **params: Any) -> Any:
        r = await self.env.client.get(f"{self.base}{path}", headers=self.admin, params=params)
        assert r.status_code == 200, r.text
        return r


def sale(kind: str, order_id: str, user: str, qty: int = 1, **extra: Any) -> dict[str, Any]:
    ev = {"type": kind, "user_id": user, "order_id": order_id, "quantity": qty, **extra}
    if kind in ("order_created", "order_paid", "order_refunded"):
        ev.setdefault("amount", f"{Decimal(PRICE) * qty:.2f}")
    return ev


async def _room(env: Env, stock: int = ALLOTTED) -> Room:
    admin = bearer(await login(env.client, "admin"))
    listing = await seed_listing(env.maker, stock=stock, price=PRICE)
    r = await env.client.post(
        f"/api/v1/streams/{listing.stream_id}/ingest-keys", json={}, headers=admin
    )
    assert r.status_code == 201, r.text
    return Room(env, listing, r.json()["key"], admin)


async def test_three_sources_at_once_agree_everywhere(committed_env: Env) -> None:
    env = committed_env
    room = await _room(env)
    pid = room.listing.product_id

    async def watch_page() -> None:
        for i in range(6):
            order = await room.watch_order(f"w{i}", f"watch-{i}")
            if i % 2 == 0:
                await room.pay(order, f"w{i}")

    async def merchant_backend() -> None:
        for i in range(6):
            order = await room.key_order(f"k{i}", f"key-{i}", qty=2 if i == 0 else 1)
            if i < 4:
                await room.pay(order)

    async def connector() -> None:
        for i in range(6):
            await room.ingest(
                [sale("order_created", f"P{i}", f"c{i}", product_id=pid, qty=1 + i % 2)]
            )
        # paid (P0, P1, P3), a repeat of a creation, a cancellation (P2), a refund (P3)
        body = await room.ingest(
            [
                sale("order_paid", "P0", "c0"),
                sale("order_paid", "P1", "c1", qty=2),
                sale("order_created", "P0", "c0", product_id=pid),  # duplicate
                sale("order_cancelled", "P2", "c2"),
                sale("order_paid", "P3", "c3", qty=2),
            ]
        )
        assert body == {"accepted": 4, "duplicates": 1}
        body = await room.ingest([sale("order_refunded", "P3", "c3", qty=2)])
        assert body == {"accepted": 1, "duplicates": 0}
        # the connector retries its whole batch: nothing changes
        body = await room.ingest(
            [sale("order_paid", "P0", "c0"), sale("order_paid", "P1", "c1", qty=2)]
        )
        assert body == {"accepted": 0, "duplicates": 2}

    await asyncio.gather(watch_page(), merchant_backend(), connector())

    orders = (await room.get("/orders", limit=500)).json()
    assert len(orders) == 18
    by_source: dict[str, int] = {}
    for o in orders:
        by_source[o["source"]] = by_source.get(o["source"], 0) + 1
    assert by_source == {"viewer": 6, "ingest": 6, SOURCE: 6}
    connector_orders = {o["external_id"]: o for o in orders if o["source"] == SOURCE}
    assert set(connector_orders) == {f"P{i}" for i in range(6)}
    assert connector_orders["P2"]["status"] == "cancelled"
    assert connector_orders["P3"]["status"] == "refunded"
    assert connector_orders["P0"]["status"] == "paid"

    held = [o for o in orders if o["status"] in ("created", "paid")]
    paid = [o for o in orders if o["paid_at"] is not None]
    units_held = sum(o["quantity"] for o in held)
    units_paid = sum(o["quantity"] for o in paid)
    gmv = sum(Decimal(o["amount"]) for o in paid)
    refunds = sum(Decimal(o["amount"]) for o in orders if o["status"] == "refunded")

    # the export: one row per order, the same orders
    r = await room.get("/exports/orders", format="csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert sorted(int(row["order_id"]) for row in rows) == sorted(o["id"] for o in orders)
    assert {row["external_order_id"] for row in rows if row["source"] == SOURCE} == set(
        connector_orders
    )

    # the live metrics: orders, payments, money and stock
    m = (await room.get("/metrics")).json()
    assert m["orders"] == len(orders)
    assert m["paid_orders"] == len(paid)
    assert m["units_sold"] == units_paid
    assert Decimal(m["gmv"]) == gmv
    assert Decimal(m["refunds"]) == refunds
    (product,) = [p for p in m["products"] if p["product_id"] == pid]
    assert product["stock_left"] == ALLOTTED - units_held

    # the public storefront (the watch page) shows the same stock left
    r = await env.client.get(f"{room.base}/storefront")
    (shown,) = [p for p in r.json()["products"] if p["product_id"] == pid]
    assert shown["stock_left"] == ALLOTTED - units_held
    async with env.maker() as s:
        item = await s.scalar(
            select(LineupItem).where(
                LineupItem.stream_id == room.listing.stream_id, LineupItem.product_id == pid
            )
        )
        assert item is not None and item.sold_units == units_held

    # the review, once the stream has ended
    r = await env.client.post(f"{room.base}/end", headers=room.admin)
    assert r.status_code == 200, r.text
    rep = (await room.get("/review")).json()
    assert rep["orders"] == len(orders)
    assert rep["paid_orders"] == len(paid)
    assert rep["units_sold"] == units_paid
    assert Decimal(rep["gmv"]) == gmv
    assert Decimal(rep["refunds"]) == refunds


async def test_a_platform_sale_of_the_last_units_sells_out_here(env: Env) -> None:
    room = await _room(env, stock=3)
    pid = room.listing.product_id
    await room.watch_order("w1", "w-1")
    # the platform sold 3 while 2 were left here: it takes the 2, the product is sold out
    body = await room.ingest([sale("order_created", "X1", "p1", qty=3, product_id=pid)])
    assert body == {"accepted": 1, "duplicates": 0}
    r = await room.env.order(room.listing, "w2", "w-2")
    assert r.status_code == 409 and r.json()["code"] == "sold_out", r.text
    m = (await room.get("/metrics")).json()
    assert [p["stock_left"] for p in m["products"] if p["product_id"] == pid] == [0]
    # its cancellation gives back what it held (2), not what it sold (3)
    body = await room.ingest([sale("order_cancelled", "X1", "p1", qty=3)])
    assert body == {"accepted": 1, "duplicates": 0}
    assert await env_storefront(room) == 2
    r2 = await room.env.order(room.listing, "w2", "w-3")
    assert r2.status_code == 201, r2.text


async def env_storefront(room: Room) -> int:
    r = await room.env.client.get(f"{room.base}/storefront")
    (shown,) = [p for p in r.json()["products"] if p["product_id"] == room.listing.product_id]
    return int(shown["stock_left"])


async def test_connector_order_contradictions_are_refused_whole(env: Env) -> None:
    room = await _room(env)
    pid = room.listing.product_id
    await room.ingest([sale("order_created", "Y1", "u1", product_id=pid)])
    r = await room.env.client.post(
        f"{room.base}/events",
        json={
            "events": [
                {"type": "like", "user_id": "u9"},
                sale("order_paid", "Y1", "someone-else"),
                sale("order_created", "Y2", "u2", product_id=999_999),
                sale("order_refunded", "never", "u3"),
                {"type": "like", "user_id": "u9", "order_id": "Z"},
                {
                    "type": "order_created",
                    "user_id": "u4",
                    "order_id": "Z" * 129,
                    "product_id": pid,
                },
            ]
        },
        headers={"X-Ingest-Key": room.key},
    )
    assert r.status_code == 422, r.text
    bad = {e["index"] for e in r.json()["detail"]}
    assert bad >= {4, 5}  # parse errors are reported first, alone
    r = await room.env.client.post(
        f"{room.base}/events",
        json={
            "events": [
                {"type": "like", "user_id": "u9"},
                sale("order_paid", "Y1", "someone-else"),
                sale("order_created", "Y2", "u2", product_id=999_999),
                sale("order_refunded", "never", "u3"),
            ]
        },
        headers={"X-Ingest-Key": room.key},
    )
    assert r.status_code == 422, r.text
    assert [e["index"] for e in r.json()["detail"]] in ([2], [1, 3])
    orders = (await room.get("/orders")).json()
    assert [(o["external_id"], o["status"]) for o in orders] == [("Y1", "created")]
    m = (await room.get("/metrics")).json()
    assert (m["likes"], m["orders"], m["paid_orders"]) == (0, 1, 0)


async def test_a_connector_sale_at_the_flash_price_moves_the_flash_sale(env: Env) -> None:
    room = await _room(env, stock=20)
    pid = room.listing.product_id
    r = await room.env.client.post(
        f"{room.base}/flash-sales",
        json={
            "product_id": pid,
            "price": "9.90",
            "quantity": 5,
            "per_user_limit": 2,
            "duration_seconds": 300,
        },
        headers=room.admin,
    )
    assert r.status_code == 201, r.text
    flash_id = r.json()["id"]
    async with env.maker() as s:  # start it now
        fs = await s.get(FlashSale, flash_id)
        assert fs is not None
        if fs.status != FlashSaleStatus.active:
            r = await room.env.client.post(
                f"{room.base}/flash-sales/{flash_id}/start", headers=room.admin
            )
            assert r.status_code in (200, 201), r.text
    await room.ingest(
        [
            sale("order_created", "F1", "f1", qty=2, product_id=pid, amount="19.80"),
            sale("order_created", "F2", "f2", qty=1, product_id=pid),  # live price: not flash
        ]
    )
    store = (await room.env.client.get(f"{room.base}/storefront")).json()
    (banner,) = store["flash_sales"]
    assert banner["remaining"] == 3
    (shown,) = [p for p in store["products"] if p["product_id"] == pid]
    assert shown["stock_left"] == 20 - 3
    # a watch-page flash order and a connector cancellation move it too
    r = await room.env.order(room.listing, "w1", "w-1", 1)
    assert r.status_code == 201 and r.json()["flash_sale_id"] == flash_id, r.text
    await room.ingest([sale("order_cancelled", "F1", "f1", qty=2)])
    store = (await room.env.client.get(f"{room.base}/storefront")).json()
    assert store["flash_sales"][0]["remaining"] == 5 - 1
