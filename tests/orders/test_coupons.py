"""Coupons (满减): issue (roles, bad input), claim (limits, a race), spend on an order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Staff, bearer, login
from tests.orders.conftest import Env
from tests.orders.helpers import asgi_post, seed_listing, sold_units, viewer_headers


def _coupon(**over: Any) -> dict[str, Any]:
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body: dict[str, Any] = {
        "title": "满100减20",
        "amount": "20",
        "threshold": "100",
        "quantity": 3,
        "per_user_limit": 1,
        "valid_until": until,
    }
    return {**body, **over}


async def test_issue_claim_and_spend_a_coupon(env: Env) -> None:
    admin = bearer(await login(env.client, "admin"))
    listing = await seed_listing(env.maker, stock=10, price="59.90")
    base = f"/api/v1/streams/{listing.stream_id}"
    r = await env.client.post(f"{base}/coupons", json=_coupon(), headers=admin)
    assert r.status_code == 201, r.text
    coupon = r.json()
    assert coupon["amount"] == "20.00" and coupon["threshold"] == "100.00"
    claim_url = f"{base}/coupons/{coupon['id']}/claim"

    assert (await env.client.post(claim_url, headers=env.viewer(listing, "v1"))).status_code == 201
    r = await env.client.post(claim_url, headers=env.viewer(listing, "v1"))
    assert r.status_code == 409 and r.json()["code"] == "limit_exceeded"
    assert (await env.client.post(claim_url, headers=env.viewer(listing, "v2"))).status_code == 201
    assert (await env.client.post(claim_url, headers=env.viewer(listing, "v3"))).status_code == 201
    r = await env.client.post(claim_url, headers=env.viewer(listing, "v4"))
    assert r.status_code == 409 and r.json()["code"] == "coupon_exhausted"
    mine = await env.client.get(f"{base}/coupon-claims", headers=env.viewer(listing, "v1"))
    assert [c["coupon_id"] for c in mine.json()] == [coupon["id"]]

    # below the threshold: refused, and the stock taken for it is given back
    r = await env.order(listing, "v1", "small", quantity=1, coupon_id=coupon["id"])
    assert r.status_code == 409 and r.json()["code"] == "coupon_threshold_not_met"
    assert await sold_units(env.maker, listing) == 0
    # not claimed by this viewer
    r = await env.order(listing, "v4", "nope", quantity=2, coupon_id=coupon["id"])
    assert r.status_code == 409 and r.json()["code"] == "coupon_not_claimed"
    # 2 × 59.90 = 119.80 ≥ 100: 20 off
    r = await env.order(listing, "v1", "big", quantity=2, coupon_id=coupon["id"])
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == "99.80" and r.json()["discount"] == "20.00"
    # spent: a second order cannot use it again
    r = await env.order(listing, "v1", "again", quantity=2, coupon_id=coupon["id"])
    assert r.status_code == 409 and r.json()["code"] == "coupon_not_claimed"
    # cancelling the order gives the coupon back
    order_id = (await env.order(listing, "v1", "big", quantity=2, coupon_id=coupon["id"])).json()[
        "id"
    ]
    r = await env.client.post(
        f"{listing.orders_url}/{order_id}/cancel", headers=env.viewer(listing, "v1")
    )
    assert r.status_code == 200
    r = await env.order(listing, "v1", "third", quantity=2, coupon_id=coupon["id"])
    assert r.status_code == 201 and r.json()["discount"] == "20.00"
    assert await sold_units(env.maker, listing) == 2


async def test_coupon_roles_and_bad_input(env: Env) -> None:
    admin = bearer(await login(env.client, "admin"))
    staff = Staff(env.client, admin)
    listing = await seed_listing(env.maker, stock=10)
    ctl = await staff.user("ctl", "controller")
    analyst = await staff.user("ana", "analyst")
    await staff.join(listing.stream_id, "ctl", "controller")
    await staff.join(listing.stream_id, "ana", "analyst")
    url = f"/api/v1/streams/{listing.stream_id}/coupons"
    assert (await env.client.post(url, json=_coupon())).status_code == 401
    assert (await env.client.post(url, json=_coupon(), headers=analyst)).status_code == 403
    for bad in (
        {"amount": "0"},
        {"amount": 5.5},
        {"amount": "120"},  # not below the threshold
        {"quantity": 0},
        {"per_user_limit": 0},
        {"valid_until": "2026-01-01T00:00:00"},
        {"valid_from": datetime.now(UTC).isoformat(), "valid_until": "2020-01-01T00:00:00Z"},
        {"extra": True},
    ):
        r = await env.client.post(url, json=_coupon(**bad), headers=ctl)
        assert r.status_code == 422, (bad, r.text)
    r = await env.client.post(
        url, json=_coupon(valid_until="2020-01-01T00:00:00+00:00"), headers=ctl
    )
    assert r.status_code == 409 and r.json()["code"] == "coupon_expired"
    r = await env.client.post(url, json=_coupon(product_id=999999), headers=ctl)
    assert r.status_code == 404
    later = datetime.now(UTC) + timedelta(minutes=5)
    r = await env.client.post(
        url,
        json=_coupon(
            valid_from=later.isoformat(), valid_until=(later + timedelta(hours=1)).isoformat()
        ),
        headers=ctl,
    )
    assert r.status_code == 201
    r = await env.client.post(f"{url}/{r.json()['id']}/claim", headers=env.viewer(listing, "v1"))
    assert r.status_code == 409 and r.json()["code"] == "coupon_not_started"
    r = await env.client.post(f"{url}/999999/claim", headers=env.viewer(listing, "v1"))
    assert r.status_code == 404
    assert (await env.client.get(url, headers=analyst)).status_code == 200
    # staff cannot claim, viewers cannot issue
    assert (await env.client.post(f"{url}/1/claim", headers=ctl)).status_code == 403
    viewer = {"Authorization": env.viewer(listing, "v1")["Authorization"]}
    assert (await env.client.post(url, json=_coupon(), headers=viewer)).status_code == 401


@pytest.mark.slow
async def test_concurrent_claims_never_exceed_quantity_or_limit(committed_env: Env) -> None:
    env = committed_env
    admin = bearer(await login(env.client, "admin"))
    listing = await seed_listing(env.maker, stock=10)
    url = f"/api/v1/streams/{listing.stream_id}/coupons"
    r = await env.client.post(url, json=_coupon(quantity=40, per_user_limit=2), headers=admin)
    coupon_id = r.json()["id"]
    claim = f"{url}/{coupon_id}/claim"
    viewers = [f"v{i % 30}" for i in range(300)]
    answers = await asyncio.gather(
        *(
            asgi_post(env.app, claim, viewer_headers(env.app, listing.stream_id, v), {})
            for v in viewers
        )
    )
    ok = [a for a, v in zip(answers, viewers, strict=True) if a.status_code == 201]
    assert {a.status_code for a in answers} <= {201, 409}
    assert len(ok) == 40
    per_viewer: dict[str, int] = {}
    for a in ok:
        per_viewer[a.json()["viewer_id"]] = per_viewer.get(a.json()["viewer_id"], 0) + 1
    assert max(per_viewer.values()) <= 2
    listed = (await env.client.get(url, headers=admin)).json()
    assert next(c for c in listed if c["id"] == coupon_id)["claimed"] == 40
