"""Orders from a merchant backend (the stream's ingest key) and the live metrics that
orders, payments and cancellations move (orders, paid_orders, units_sold, gmv,
stock_left)."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer, login
from tests.orders.conftest import Env
from tests.orders.helpers import seed_listing


async def test_ingest_key_orders_and_live_metrics(env: Env) -> None:
    admin = bearer(await login(env.client, "admin"))
    listing = await seed_listing(env.maker, stock=10, price="59.90")
    base = f"/api/v1/streams/{listing.stream_id}"
    r = await env.client.post(f"{base}/ingest-keys", json={}, headers=admin)
    assert r.status_code == 201, r.text
    key = r.json()["key"]

    def shop(idem: str | None = None) -> dict[str, str]:
        return {"X-Ingest-Key": key, **({"Idempotency-Key": idem} if idem else {})}

    body = {"product_id": listing.product_id, "quantity": 2}
    r = await env.client.post(listing.orders_url, json=body, headers=shop("s1"))
    assert r.status_code == 422 and r.json()["code"] == "viewer_required"
    r = await env.client.post(
        listing.orders_url, json=body, headers={"X-Ingest-Key": "wrong", "Idempotency-Key": "x"}
    )
    assert r.status_code == 401
    r = await env.client.post(
        listing.orders_url, json={**body, "viewer_id": "buyer-1"}, headers=shop("s1")
    )
    assert r.status_code == 201, r.text
    paid = r.json()
    assert paid["viewer_id"] == "buyer-1" and paid["source"] == "ingest"
    r = await env.client.post(f"{listing.orders_url}/{paid['id']}/pay", headers=shop())
    assert r.status_code == 200 and r.json()["status"] == "paid"
    # the same viewer's token sees it; another stream's key does not
    r = await env.client.get(
        f"{listing.orders_url}/{paid['id']}", headers=env.viewer(listing, "buyer-1")
    )
    assert r.status_code == 200
    other = await seed_listing(env.maker, stock=1)
    r = await env.client.post(
        f"/api/v1/streams/{other.stream_id}/ingest-keys", json={}, headers=admin
    )
    r = await env.client.get(
        f"{listing.orders_url}/{paid['id']}", headers={"X-Ingest-Key": r.json()["key"]}
    )
    assert r.status_code == 401

    cancelled = (await env.order(listing, "v2", "c1", quantity=3)).json()
    r = await env.client.post(
        f"{listing.orders_url}/{cancelled['id']}/cancel", headers=env.viewer(listing, "v2")
    )
    assert r.json()["order"]["status"] == "cancelled"
    assert (await env.order(listing, "v3", "c2", quantity=1)).status_code == 201

    m = (await env.client.get(f"{base}/metrics", headers=admin)).json()
    metrics: dict[str, Any] = m.get("metrics", m)
    assert metrics["orders"] == 3
    assert metrics["paid_orders"] == 1 and metrics["units_sold"] == 2
    assert metrics["gmv"] == "119.80"
    product = next(p for p in metrics["products"] if p["product_id"] == listing.product_id)
    assert product["stock_left"] == 10 - 2 - 1  # the cancelled 3 are back on sale
