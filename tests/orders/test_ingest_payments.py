"""`order_paid` through ingest marks the matching order paid (like the watch page's pay
step, once); payments of orders we do not know stay external events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.models import StreamEvent
from app.services.eventlog import log_totals
from tests.conftest import bearer, login
from tests.orders.conftest import Env
from tests.orders.helpers import Listing, seed_listing


class Shop:
    def __init__(self, env: Env, listing: Listing, key: str) -> None:
        self.env, self.listing, self.key = env, listing, key

    async def order(self, viewer: str, idem: str, quantity: int) -> dict[str, Any]:
        r = await self.env.client.post(
            self.listing.orders_url,
            json={"product_id": self.listing.product_id, "quantity": quantity, "viewer_id": viewer},
            headers={"X-Ingest-Key": self.key, "Idempotency-Key": idem},
        )
        assert r.status_code == 201, r.text
        order: dict[str, Any] = r.json()
        return order

    async def status(self, order_id: int) -> str:
        r = await self.env.client.get(
            f"{self.listing.orders_url}/{order_id}", headers={"X-Ingest-Key": self.key}
        )
        assert r.status_code == 200, r.text
        return str(r.json()["status"])

    async def ingest(self, events: list[dict[str, Any]]) -> tuple[int, Any]:
        r = await self.env.client.post(
            f"/api/v1/streams/{self.listing.stream_id}/events",
            json={"events": events},
            headers={"X-Ingest-Key": self.key},
        )
        return r.status_code, r.json()


def paid_event(order: dict[str, Any], **override: Any) -> dict[str, Any]:
    return {
        "type": "order_paid",
        "user_id": order["viewer_id"],
        "event_id": f"order:{order['id']}:paid",
        "product_id": order["product_id"],
        "quantity": order["quantity"],
        "amount": order["amount"],
        **override,
    }


async def _metrics(env: Env, listing: Listing, admin: dict[str, str]) -> dict[str, Any]:
    r = await env.client.get(f"/api/v1/streams/{listing.stream_id}/metrics", headers=admin)
    assert r.status_code == 200, r.text
    m: dict[str, Any] = r.json()
    return m


async def test_ingested_payment_marks_our_order_paid_once(env: Env) -> None:
    admin = bearer(await login(env.client, "admin"))
    listing = await seed_listing(env.maker, stock=10, price="59.90")
    r = await env.client.post(
        f"/api/v1/streams/{listing.stream_id}/ingest-keys", json={}, headers=admin
    )
    shop = Shop(env, listing, r.json()["key"])
    a = await shop.order("buyer-1", "a", 2)
    b = await shop.order("buyer-2", "b", 1)
    assert a["amount"] == "119.80"

    batch = [
        paid_event(a),
        # an order of another shop system: counted, no order of ours touched
        {"type": "order_paid", "user_id": "x", "event_id": "shop-77", "amount": "10.00"},
        # names an order id we do not have: an external payment too
        {"type": "order_paid", "user_id": "y", "event_id": "order:999999:paid", "amount": "5.00"},
        paid_event(a),  # repeated inside the batch
    ]
    code, body = await shop.ingest(batch)
    assert code == 202, body
    assert body == {"accepted": 3, "duplicates": 1}
    assert await shop.status(a["id"]) == "paid"
    assert await shop.status(b["id"]) == "created"
    m = await _metrics(env, listing, admin)
    assert (m["orders"], m["paid_orders"], m["units_sold"], m["gmv"]) == (2, 3, 4, "134.80")

    # the connector retries the batch: nothing counts twice, the order stays paid
    code, body = await shop.ingest(batch)
    assert code == 202 and body == {"accepted": 0, "duplicates": 4}
    # the watch-page pay step first, the connector's report after: one payment
    r = await env.client.post(
        f"{listing.orders_url}/{b['id']}/pay", headers={"X-Ingest-Key": shop.key}
    )
    assert r.status_code == 200 and r.json()["status"] == "paid"
    code, body = await shop.ingest([paid_event(b)])
    assert code == 202 and body == {"accepted": 0, "duplicates": 1}
    m = await _metrics(env, listing, admin)
    assert (m["paid_orders"], m["units_sold"], m["gmv"]) == (4, 5, "194.70")
    product = next(p for p in m["products"] if p["product_id"] == listing.product_id)
    assert product["units_sold"] == 3 and product["stock_left"] == 10 - 3

    async with env.maker() as session:
        logged = await log_totals(session, listing.stream_id)
        paid_ids = set(
            (
                await session.scalars(
                    select(StreamEvent.event_id).where(
                        StreamEvent.stream_id == listing.stream_id,
                        StreamEvent.type == "order_paid",
                    )
                )
            ).all()
        )
    assert logged.totals["paid_orders"] == 4 and logged.totals["gmv"] == 19470
    # the unknown order id is kept apart from the ids of our own orders' payments
    assert paid_ids == {
        f"order:{a['id']}:paid",
        f"order:{b['id']}:paid",
        "shop-77",
        "external:order:999999:paid",
    }


async def test_ingested_payment_that_contradicts_the_order_is_refused(env: Env) -> None:
    admin = bearer(await login(env.client, "admin"))
    listing = await seed_listing(env.maker, stock=10, price="59.90")
    r = await env.client.post(
        f"/api/v1/streams/{listing.stream_id}/ingest-keys", json={}, headers=admin
    )
    shop = Shop(env, listing, r.json()["key"])
    c = await shop.order("buyer-3", "c", 1)
    d = await shop.order("buyer-4", "d", 1)
    r = await env.client.post(
        f"{listing.orders_url}/{d['id']}/cancel", headers={"X-Ingest-Key": shop.key}
    )
    assert r.status_code == 200, r.text

    like = {"type": "like", "user_id": "u1", "event_id": "l1"}
    code, body = await shop.ingest(
        [
            like,
            paid_event(c, amount="1.00"),
            paid_event(c, user_id="someone-else"),
            paid_event(d),
        ]
    )
    assert code == 422, body
    assert [e["index"] for e in body["detail"]] == [1, 2, 3]
    assert "amount" in body["detail"][0]["reason"]
    assert "cancelled" in body["detail"][2]["reason"]
    assert await shop.status(c["id"]) == "created"
    m = await _metrics(env, listing, admin)
    assert (m["likes"], m["paid_orders"]) == (0, 0)  # nothing of the batch applied
