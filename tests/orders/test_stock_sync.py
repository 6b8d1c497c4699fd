"""The Redis copy of the stock follows the controller's list / delist / stock adjustment,
and a failure after stock was taken gives it back."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.conftest import bearer, login
from tests.orders.helpers import redis_book, seed_listing, sold_units, viewer_headers


async def test_mirror_follows_listing_and_stock_adjustments(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = bearer(await login(client, "admin"))
    maker = app.state.sessionmaker
    listing = await seed_listing(maker, stock=2)
    rs = redis_book(app)
    assert rs is not None

    async def order(viewer: str, key: str, qty: int = 1) -> httpx.Response:
        return await client.post(
            listing.orders_url,
            json={"product_id": listing.product_id, "quantity": qty},
            headers=viewer_headers(app, listing.stream_id, viewer, key),
        )

    r = await order("v1", "a", 2)
    assert r.status_code == 201
    mirror = await rs.read(listing.stream_id, listing.product_id)
    assert mirror["stock"] == "0" and mirror["allotted"] == "2" and mirror["listed"] == "1"
    r = await order("v2", "b")
    assert r.json()["code"] == "sold_out"

    base = f"/api/v1/streams/{listing.stream_id}/lineup/{listing.product_id}"
    r = await client.post(f"{base}/stock", json={"delta": 3, "reason": "补货"}, headers=admin)
    assert r.status_code == 200, r.text
    mirror = await rs.read(listing.stream_id, listing.product_id)
    assert mirror["stock"] == "3" and mirror["allotted"] == "5"
    assert (await order("v2", "c")).status_code == 201
    r = await client.post(
        f"{base}/stock", json={"allotted_stock": 3, "reason": "退仓"}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert (await rs.read(listing.stream_id, listing.product_id))["stock"] == "0"
    assert (await order("v3", "d")).json()["code"] == "sold_out"

    r = await client.post(f"{base}/delist", headers=admin)
    assert r.status_code == 200, r.text
    assert (await rs.read(listing.stream_id, listing.product_id))["listed"] == "0"
    assert (await order("v3", "e")).json()["code"] == "not_listed"
    r = await client.post(f"{base}/list", headers=admin)
    assert (await rs.read(listing.stream_id, listing.product_id))["listed"] == "1"
    assert await sold_units(maker, listing) == 3


async def test_failure_after_taking_stock_gives_it_back(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A coupon that turns out not to apply fails the order after Redis took the units:
    the rollback returns them (stock, per-viewer count, idempotency key)."""
    maker = app.state.sessionmaker
    listing = await seed_listing(maker, stock=1)
    rs = redis_book(app)
    assert rs is not None
    headers = viewer_headers(app, listing.stream_id, "v1", "k")
    body = {"product_id": listing.product_id, "quantity": 1, "coupon_id": 999999}
    r = await client.post(listing.orders_url, json=body, headers=headers)
    assert r.status_code == 409 and r.json()["code"] == "coupon_invalid"
    assert (await rs.read(listing.stream_id, listing.product_id))["stock"] == "1"
    assert await rs.idem_entry(listing.stream_id, "k") is None
    # the same key, now without the coupon, gets the unit
    r = await client.post(listing.orders_url, json={**body, "coupon_id": None}, headers=headers)
    assert r.status_code == 201, r.text
    assert (await rs.read(listing.stream_id, listing.product_id))["stock"] == "0"
    assert await sold_units(maker, listing) == 1
