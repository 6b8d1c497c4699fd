"""Orders through the API, on PostgreSQL + Redis and on the embedded path (SQLite)."""

from __future__ import annotations

import pytest

from app.models import ListingStatus
from tests.conftest import Staff
from tests.orders.conftest import Env
from tests.orders.helpers import seed_listing, sold_units, viewer_headers


async def test_order_is_created_with_amount_and_takes_stock(env: Env) -> None:
    listing = await seed_listing(env.maker, stock=5, price="59.90")
    r = await env.order(listing, "v1", "k-1", quantity=2)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "created"
    assert body["amount"] == "119.80" and body["unit_price"] == "59.90"
    assert body["viewer_id"] == "v1" and body["quantity"] == 2
    assert isinstance(body["id"], int)
    assert await sold_units(env.maker, listing) == 2


async def test_same_idempotency_key_returns_same_order_and_takes_nothing_twice(env: Env) -> None:
    listing = await seed_listing(env.maker, stock=5)
    first = await env.order(listing, "v1", "same-key")
    again = await env.order(listing, "v1", "same-key")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await sold_units(env.maker, listing) == 1
    other = await env.order(listing, "v1", "same-key", quantity=2)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"


async def test_sold_out_not_listed_and_limit_codes(env: Env) -> None:
    listing = await seed_listing(env.maker, stock=3)
    assert (await env.order(listing, "v1", "a", quantity=3)).status_code == 201
    r = await env.order(listing, "v2", "b")
    assert r.status_code == 409 and r.json()["code"] == "sold_out"

    pending = await seed_listing(env.maker, stock=3, status=ListingStatus.pending)
    r = await env.order(pending, "v1", "c")
    assert r.status_code == 409 and r.json()["code"] == "not_listed"
    r = await env.client.post(
        listing.orders_url,
        json={"product_id": 999999, "quantity": 1},
        headers=env.viewer(listing, "v1", "d"),
    )
    assert r.status_code == 409 and r.json()["code"] == "not_listed"

    big = await seed_listing(env.maker, stock=100)
    assert (await env.order(big, "v1", "e", quantity=8)).status_code == 201
    r = await env.order(big, "v1", "f", quantity=3)  # 8 + 3 > 10 per viewer (default)
    assert r.status_code == 409 and r.json()["code"] == "limit_exceeded"
    assert (await env.order(big, "v1", "g", quantity=2)).status_code == 201
    assert await sold_units(env.maker, big) == 10


async def test_auth_and_bad_input_are_refused(env: Env, request: pytest.FixtureRequest) -> None:
    listing = await seed_listing(env.maker, stock=3)
    url, body = listing.orders_url, {"product_id": listing.product_id, "quantity": 1}
    r = await env.client.post(url, json=body, headers={"Idempotency-Key": "x"})
    assert r.status_code == 401
    r = await env.client.post(
        url, json=body, headers={"Authorization": "Bearer junk", "Idempotency-Key": "x"}
    )
    assert r.status_code == 401
    other = viewer_headers(env.app, listing.stream_id + 1000, "v1", "x")
    r = await env.client.post(url, json=body, headers=other)
    assert r.status_code == 403 and r.json()["code"] == "wrong_stream"
    r = await env.client.post(url, json=body, headers=env.viewer(listing, "v1"))
    assert r.status_code == 422 and "Idempotency-Key" in str(r.json()["detail"])
    r = await env.client.post(
        url, json=body, headers={"X-Ingest-Key": "nope", "Idempotency-Key": "x"}
    )
    assert r.status_code == 401
    for bad in (
        {"product_id": listing.product_id, "quantity": 0},
        {"product_id": listing.product_id, "quantity": 100},
        {"product_id": listing.product_id, "quantity": 1.5},
        {"product_id": listing.product_id},
        {"product_id": listing.product_id, "quantity": 1, "price": "0.01"},
        {"product_id": "abc", "quantity": 1},
    ):
        r = await env.client.post(url, json=bad, headers=env.viewer(listing, "v1", "x"))
        assert r.status_code == 422, (bad, r.text)
    r = await env.client.post(
        url, json={**body, "viewer_id": "someone-else"}, headers=env.viewer(listing, "v1", "x")
    )
    assert r.status_code == 400 and r.json()["code"] == "viewer_id_not_allowed"
    assert await sold_units(env.maker, listing) == 0


async def test_pay_cancel_and_requests(env: Env) -> None:
    listing = await seed_listing(env.maker, stock=4)
    order = (await env.order(listing, "v1", "o1", quantity=2)).json()
    base = f"{listing.orders_url}/{order['id']}"
    # someone else's order is invisible
    r = await env.client.post(f"{base}/pay", headers=env.viewer(listing, "v2"))
    assert r.status_code == 404
    r = await env.client.post(f"{base}/pay", headers=env.viewer(listing, "v1"))
    assert r.status_code == 200 and r.json()["status"] == "paid" and r.json()["paid_at"]
    r = await env.client.post(f"{base}/pay", headers=env.viewer(listing, "v1"))
    assert r.status_code == 200 and r.json()["status"] == "paid"
    # a paid order: cancellation is a request, nothing is given back yet
    r = await env.client.post(
        f"{base}/cancel", json={"reason": "买错了"}, headers=env.viewer(listing, "v1")
    )
    assert r.status_code == 200 and r.json()["request"]["status"] == "pending"
    assert await sold_units(env.maker, listing) == 2
    # an unpaid order is cancelled at once and its stock goes back on sale
    other = (await env.order(listing, "v2", "o2", quantity=2)).json()
    r = await env.client.post(
        f"{listing.orders_url}/{other['id']}/cancel", headers=env.viewer(listing, "v2")
    )
    assert r.status_code == 200 and r.json()["order"]["status"] == "cancelled"
    assert r.json()["request"] is None
    assert await sold_units(env.maker, listing) == 2
    r = await env.client.post(
        f"{listing.orders_url}/{other['id']}/pay", headers=env.viewer(listing, "v2")
    )
    assert r.status_code == 409 and r.json()["code"] == "order_not_payable"
    assert (await env.order(listing, "v3", "o3", quantity=2)).status_code == 201
    assert (await env.order(listing, "v4", "o4")).json()["code"] == "sold_out"
    # address change: a request too
    addr = {"name": "张三", "phone": "13800000000", "line": "朝阳区 1 号"}
    r = await env.client.post(
        f"{base}/address", json={"address": addr}, headers=env.viewer(listing, "v1")
    )
    assert r.status_code == 202 and r.json()["kind"] == "address_change"
    r = await env.client.post(
        f"{base}/address", json={"address": {"name": ""}}, headers=env.viewer(listing, "v1")
    )
    assert r.status_code == 422


async def test_staff_handle_requests_and_read_orders(
    env: Env, request: pytest.FixtureRequest
) -> None:
    admin = await _admin_headers(env)
    staff = Staff(env.client, admin)
    listing = await seed_listing(env.maker, stock=4)
    svc = await staff.user("svc", "service")
    host = await staff.user("hosty", "host")
    outsider = await staff.user("outsider", "service")
    await staff.join(listing.stream_id, "svc", "service")
    await staff.join(listing.stream_id, "hosty", "host")

    order = (await env.order(listing, "v1", "o1", quantity=2)).json()
    base = f"{listing.orders_url}/{order['id']}"
    await env.client.post(f"{base}/pay", headers=env.viewer(listing, "v1"))
    await env.client.post(f"{base}/cancel", headers=env.viewer(listing, "v1"))
    addr = {"name": "李四", "phone": "13900000000", "line": "浦东 2 号"}
    await env.client.post(
        f"{base}/address", json={"address": addr}, headers=env.viewer(listing, "v1")
    )

    reqs_url = f"/api/v1/streams/{listing.stream_id}/order-requests"
    assert (await env.client.get(reqs_url, headers=host)).status_code == 403
    assert (await env.client.get(reqs_url, headers=outsider)).status_code == 403
    assert (await env.client.get(reqs_url, headers=env.viewer(listing, "v1"))).status_code == 401
    reqs = (await env.client.get(reqs_url, headers=svc)).json()
    assert [q["kind"] for q in reqs] == ["cancel", "address_change"]
    cancel_req, addr_req = reqs

    r = await env.client.post(f"{reqs_url}/{addr_req['id']}/approve", headers=svc)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = await env.client.post(f"{reqs_url}/{addr_req['id']}/reject", headers=svc)
    assert r.status_code == 409 and r.json()["code"] == "order_request_decided"
    r = await env.client.post(
        f"{reqs_url}/{cancel_req['id']}/approve", json={"note": "ok"}, headers=svc
    )
    assert r.status_code == 200
    assert await sold_units(env.maker, listing) == 0
    got = (await env.client.get(base, headers=env.viewer(listing, "v1"))).json()
    assert got["status"] == "refunded" and got["address"]["name"] == "李四"
    # the units are on sale again
    assert (await env.order(listing, "v2", "o2", quantity=4)).status_code == 201

    # reading orders: service and analyst yes, host and viewers no
    assert (await env.client.get(listing.orders_url, headers=svc)).status_code == 200
    assert len((await env.client.get(listing.orders_url, headers=admin)).json()) == 2
    assert (await env.client.get(listing.orders_url, headers=host)).status_code == 403
    r = await env.client.get(listing.orders_url, headers=env.viewer(listing, "v1"))
    assert r.status_code == 401
    # staff cannot place orders
    r = await env.client.post(
        listing.orders_url,
        json={"product_id": listing.product_id, "quantity": 1},
        headers={**svc, "Idempotency-Key": "staff"},
    )
    assert r.status_code == 403 and r.json()["code"] == "viewer_only"


async def _admin_headers(env: Env) -> dict[str, str]:
    from tests.conftest import bearer, login

    return bearer(await login(env.client, "admin"))
