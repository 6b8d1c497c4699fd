"""After-sales moves the numbers (issue #13): a completed return and an approved refund
emit `order_refunded` (amount, units), put the units back on sale where the item's
return policy says so, and the review's refunds, refund rate and net GMV include them;
returns, complaints and survey results appear in the review beside the sales."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.models import LineupItem
from tests.conftest import bearer, login
from tests.orders.conftest import Env
from tests.orders.helpers import Listing, seed_listing, viewer_headers


async def _buy_and_pay(env: Env, listing: Listing, viewer: str, qty: int) -> dict[str, Any]:
    r = await env.order(listing, viewer, f"k-{viewer}", qty)
    assert r.status_code == 201, r.text
    headers = viewer_headers(env.app, listing.stream_id, viewer)
    r = await env.client.post(f"{listing.orders_url}/{r.json()['id']}/pay", headers=headers)
    assert r.status_code == 200, r.text
    order: dict[str, Any] = r.json()
    return order


async def _left(env: Env, listing: Listing) -> int:
    store = (await env.client.get(f"/api/v1/streams/{listing.stream_id}/storefront")).json()
    return int(
        next(p["stock_left"] for p in store["products"] if p["product_id"] == listing.product_id)
    )


async def test_returns_and_refunds_move_money_stock_and_the_review(env: Env) -> None:
    admin = bearer(await login(env.client, "admin"))
    kept = await seed_listing(env.maker, stock=10, price="50.00")  # restocks returns
    opened = await seed_listing(env.maker, stock=10, price="80.00", stream_id=kept.stream_id)
    async with env.maker() as s:  # opened cosmetics: a return is not put back on sale
        item = await s.scalar(
            select(LineupItem).where(
                LineupItem.stream_id == opened.stream_id,
                LineupItem.product_id == opened.product_id,
            )
        )
        assert item is not None
        item.restock_on_return = False
        await s.commit()
    base = f"/api/v1/streams/{kept.stream_id}"
    a = await _buy_and_pay(env, kept, "amy", 2)  # 100.00, will be returned
    b = await _buy_and_pay(env, opened, "bob", 1)  # 80.00, will be returned
    await _buy_and_pay(env, kept, "cat", 1)  # 50.00, kept
    assert (await _left(env, kept), await _left(env, opened)) == (7, 9)

    for order in (a, b):
        r = await env.client.post(
            f"{base}/orders/{order['id']}/returns",
            json={"kind": "return", "reason": "不合适"},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        for status in ("approved", "received", "completed"):
            r = await env.client.patch(
                f"{base}/returns/{rid}", json={"status": status}, headers=admin
            )
            assert r.status_code == 200, r.text
        # completing it again is refused; nothing is refunded twice
        r = await env.client.patch(
            f"{base}/returns/{rid}", json={"status": "completed"}, headers=admin
        )
        assert r.status_code == 409
    orders = {o["id"]: o for o in (await env.client.get(f"{base}/orders", headers=admin)).json()}
    assert orders[a["id"]]["status"] == "refunded" and orders[b["id"]]["status"] == "refunded"
    # the policy: the kept product's 2 units are on sale again, the opened one's are not
    assert (await _left(env, kept), await _left(env, opened)) == (9, 9)

    m = (await env.client.get(f"{base}/metrics", headers=admin)).json()
    assert (m["gmv"], m["refunds"], m["refunded_orders"]) == ("230.00", "180.00", 2)

    # a complaint and a survey answer, beside the sales in the review
    r = await env.client.post(
        f"{base}/complaints",
        json={"viewer_id": "bob", "category": "quality", "description": "瓶盖破损"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = await env.client.post(
        f"{base}/surveys",
        json={"title": "满意度", "questions": [{"text": "打几分", "kind": "score"}]},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    for viewer, score in (("amy", 4), ("cat", 5)):
        r = await env.client.post(
            f"{base}/surveys/{sid}/responses",
            json={"viewer_id": viewer, "answers": [score]},
            headers=admin,
        )
        assert r.status_code == 201, r.text

    r = await env.client.post(f"{base}/end", headers=admin)
    assert r.status_code == 200, r.text
    rep = (await env.client.get(f"{base}/review", headers=admin)).json()
    assert (rep["gmv"], rep["refunds"], rep["net_gmv"]) == ("230.00", "180.00", "50.00")
    assert rep["refund_rate"] == float(
        (Decimal("180") / Decimal("230")).quantize(Decimal("0.0001"))
    )
    after = rep["after_sales"]
    assert (after["returns"], after["returns_completed"], after["returned_units"]) == (2, 2, 3)
    assert after["returned_amount"] == "180.00"
    assert (after["complaints"], after["complaints_open"]) == (1, 1)
    assert after["surveys"] == [
        {"survey_id": sid, "title": "满意度", "responses": 2, "average_score": 4.5}
    ]


async def test_an_approved_refund_request_follows_the_return_policy(env: Env) -> None:
    admin = bearer(await login(env.client, "admin"))
    listing = await seed_listing(env.maker, stock=5, price="30.00")
    async with env.maker() as s:
        item = await s.scalar(
            select(LineupItem).where(
                LineupItem.stream_id == listing.stream_id,
                LineupItem.product_id == listing.product_id,
            )
        )
        assert item is not None
        item.restock_on_return = False
        await s.commit()
    order = await _buy_and_pay(env, listing, "dan", 2)
    headers = viewer_headers(env.app, listing.stream_id, "dan")
    r = await env.client.post(
        f"{listing.orders_url}/{order['id']}/cancel", json={"reason": "不要了"}, headers=headers
    )
    assert r.status_code == 200, r.text
    base = f"/api/v1/streams/{listing.stream_id}"
    reqs = (await env.client.get(f"{base}/order-requests", headers=admin)).json()
    (req,) = [x for x in reqs if x["order_id"] == order["id"]]
    r = await env.client.post(f"{base}/order-requests/{req['id']}/approve", json={}, headers=admin)
    assert r.status_code == 200, r.text
    m = (await env.client.get(f"{base}/metrics", headers=admin)).json()
    assert (m["refunds"], m["refunded_orders"]) == ("60.00", 1)
    assert await _left(env, listing) == 3  # not restocked: the policy says so
