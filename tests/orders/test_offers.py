"""Offers honoured at checkout (issue #13), on PostgreSQL + Redis and on SQLite: 满减
tiers, the item's coupon, claimed coupons (chosen or best), bundles and gifts, each
written on the order (list price, live price, every discount, amount paid); races on
the last gift and the last bundle."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.models import LineupItem, Product
from tests.conftest import bearer, login
from tests.orders.conftest import Env
from tests.orders.helpers import Listing, asgi_post, seed_listing, viewer_headers


async def _set(env: Env, listing: Listing, **values: Any) -> None:
    async with env.maker() as s:
        item = await s.scalar(
            select(LineupItem).where(
                LineupItem.stream_id == listing.stream_id,
                LineupItem.product_id == listing.product_id,
            )
        )
        assert item is not None
        for k, v in values.items():
            setattr(item, k, v)
        await s.commit()


async def _item(env: Env, listing: Listing, product_id: int | None = None) -> LineupItem:
    async with env.maker() as s:
        item = await s.scalar(
            select(LineupItem).where(
                LineupItem.stream_id == listing.stream_id,
                LineupItem.product_id == (product_id or listing.product_id),
            )
        )
        assert item is not None
        return item


async def test_tiers_and_item_coupon_are_applied_and_recorded(env: Env) -> None:
    listing = await seed_listing(env.maker, stock=20, price="99.00")
    await _set(
        env,
        listing,
        full_reduction=[
            {"threshold": "199.00", "discount": "20.00"},
            {"threshold": "299.00", "discount": "50.00"},
        ],
        coupon_discount=Decimal("5.00"),
        coupon_min_spend=Decimal("150.00"),
    )
    # 1 × 99: no tier, below the item coupon's minimum
    r = await env.order(listing, "v1", "k1", 1)
    assert r.status_code == 201, r.text
    o = r.json()
    assert (o["amount"], o["discount"], o["discounts"]) == ("99.00", "0.00", [])
    assert (o["list_price"], o["live_price"]) == ("99.00", "99.00")
    # 2 × 99 = 198: just below 满199 — only the item coupon (198 ≥ 150)
    r = await env.order(listing, "v2", "k2", 2)
    o = r.json()
    assert [d["kind"] for d in o["discounts"]] == ["item_coupon"]
    assert o["amount"] == "193.00"
    # 3 × 99 = 297: 满199减20, then 277 ≥ 150: 商品券 −5 → 272
    r = await env.order(listing, "v3", "k3", 3)
    o = r.json()
    assert [(d["kind"], d["label"], d["amount"]) for d in o["discounts"]] == [
        ("full_reduction", "满199减20", "20.00"),
        ("item_coupon", "商品券 满150减5", "5.00"),
    ]
    assert (o["discount"], o["amount"]) == ("25.00", "272.00")
    # 4 × 99 = 396: the highest tier reached only (满299减50)
    r = await env.order(listing, "v4", "k4", 4)
    o = r.json()
    assert o["discounts"][0]["label"] == "满299减50" and o["amount"] == "341.00"
    # the same key again: the same order, priced once
    r = await env.order(listing, "v4", "k4", 4)
    assert r.status_code == 201 and r.json()["id"] == o["id"]
    assert r.headers.get("Idempotent-Replayed") == "true"
    # the order list shows the breakdown too
    admin = bearer(await login(env.client, "admin"))
    r = await env.client.get(f"/api/v1/streams/{listing.stream_id}/orders", headers=admin)
    assert {x["id"]: x["amount"] for x in r.json()}[o["id"]] == "341.00"


async def _coupon(
    env: Env, admin: dict[str, str], listing: Listing, amount: str, threshold: str, **kw: Any
) -> int:
    r = await env.client.post(
        f"/api/v1/streams/{listing.stream_id}/coupons",
        json={
            "title": kw.pop("title", ""),
            "amount": amount,
            "threshold": threshold,
            "quantity": kw.pop("quantity", 10),
            "per_user_limit": 1,
            "valid_until": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            **kw,
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def test_coupons_are_listed_claimed_and_the_best_or_chosen_one_applied(env: Env) -> None:
    admin = bearer(await login(env.client, "admin"))
    listing = await seed_listing(env.maker, stock=20, price="99.00")
    await _set(env, listing, full_reduction=[{"threshold": "199.00", "discount": "20.00"}])
    small = await _coupon(env, admin, listing, "10.00", "0.00", title="立减10")
    big = await _coupon(env, admin, listing, "30.00", "170.00")
    other = await _coupon(env, admin, listing, "50.00", "500.00")
    # the watch page lists what can be claimed (public storefront)
    store = (await env.client.get(f"/api/v1/streams/{listing.stream_id}/storefront")).json()
    assert [c["id"] for c in store["coupons"]] == [other, big, small]
    headers = viewer_headers(env.app, listing.stream_id, "buyer")
    for cid in (small, big, other):
        r = await env.client.post(
            f"/api/v1/streams/{listing.stream_id}/coupons/{cid}/claim", headers=headers
        )
        assert r.status_code == 201, r.text
    # 2 × 99 = 198 → tier? no (198 < 199); best coupon for 198: 满170减30 (50 needs 500)
    r = await env.order(listing, "buyer", "b1", 2, best_coupon=True)
    assert r.status_code == 201, r.text
    o = r.json()
    assert o["coupon_id"] == big
    assert [(d["kind"], d["amount"]) for d in o["discounts"]] == [("coupon", "30.00")]
    assert o["amount"] == "168.00"
    # 3 × 99 = 297 → 满199减20 → 277; the chosen coupon (立减10) stacks → 267
    r = await env.order(listing, "buyer", "b2", 3, coupon_id=small)
    o = r.json()
    assert [(d["label"], d["amount"]) for d in o["discounts"]] == [
        ("满199减20", "20.00"),
        ("立减10", "10.00"),
    ]
    assert o["amount"] == "267.00"
    # both claims used: best_coupon finds none valid (the 500 one), the order is full price
    r = await env.order(listing, "buyer", "b3", 1, best_coupon=True)
    o = r.json()
    assert (o["coupon_id"], o["amount"]) == (None, "99.00")
    # a chosen coupon whose threshold the order misses: 409, nothing taken
    r = await env.order(listing, "buyer", "b4", 1, coupon_id=other)
    assert r.status_code == 409 and r.json()["code"] == "coupon_threshold_not_met"
    # cancelling gives the coupon back: best_coupon finds it again
    orders = (
        await env.client.get(f"/api/v1/streams/{listing.stream_id}/orders", headers=admin)
    ).json()
    first = next(x for x in orders if x["coupon_id"] == big)
    r = await env.client.post(f"{listing.orders_url}/{first['id']}/cancel", headers=headers)
    assert r.status_code == 200, r.text
    r = await env.order(listing, "buyer", "b5", 2, best_coupon=True)
    assert r.json()["coupon_id"] == big


async def _second_product(env: Env, listing: Listing, stock: int, price: str = "30.00") -> int:
    async with env.maker() as s:
        p = Product(
            sku=f"SKU-{uuid.uuid4().hex[:10]}", name="杯刷", list_price=Decimal("39.00"), stock=100
        )
        s.add(p)
        await s.flush()
        s.add(
            LineupItem(
                stream_id=listing.stream_id,
                product_id=p.id,
                position=2,
                live_price=Decimal(price),
                allotted_stock=stock,
                sold_units=0,
                status="listed",
            )
        )
        await s.commit()
        return p.id


async def test_a_bundle_is_one_line_that_takes_each_products_stock(env: Env) -> None:
    listing = await seed_listing(env.maker, stock=10, price="59.90")
    brush = await _second_product(env, listing, stock=3)
    await _set(env, listing, bundles=[{"name": "杯+刷", "product_ids": [brush], "price": "79.00"}])
    store = (await env.client.get(f"/api/v1/streams/{listing.stream_id}/storefront")).json()
    (card,) = [p for p in store["products"] if p["product_id"] == listing.product_id]
    assert card["bundles"] == [
        {
            "name": "杯+刷",
            "price": "79.00",
            "product_ids": [listing.product_id, brush],
            "available": 3,
        }
    ]
    r = await env.order(listing, "v1", "b1", 2, bundle="杯+刷")
    assert r.status_code == 201, r.text
    o = r.json()
    assert (o["bundle"], o["quantity"], o["unit_price"], o["amount"]) == (
        "杯+刷",
        2,
        "79.00",
        "158.00",
    )
    assert o["components"] == sorted(
        [{"product_id": listing.product_id, "units": 2}, {"product_id": brush, "units": 2}],
        key=lambda c: c["product_id"],
    )
    assert (o["list_price"], o["live_price"]) == ("138.00", "89.90")  # 99+39, 59.90+30
    assert (await _item(env, listing)).sold_units == 2
    assert (await _item(env, listing, brush)).sold_units == 2
    # one brush left: a bundle of 2 is refused whole, nothing taken
    r = await env.order(listing, "v2", "b2", 2, bundle="杯+刷")
    assert r.status_code == 409 and r.json()["code"] == "sold_out", r.text
    assert (await _item(env, listing)).sold_units == 2
    r = await env.order(listing, "v2", "b3", 1, bundle="no such")
    assert r.status_code == 409 and r.json()["code"] == "bundle_not_found"
    # cancelling gives each product's units back
    headers = viewer_headers(env.app, listing.stream_id, "v1")
    r = await env.client.post(f"{listing.orders_url}/{o['id']}/cancel", headers=headers)
    assert r.status_code == 200, r.text
    assert (await _item(env, listing)).sold_units == 0
    assert (await _item(env, listing, brush)).sold_units == 0
    # the plain product still sells through the ordinary path afterwards
    r = await env.order(listing, "v3", "p1", 1)
    assert r.status_code == 201 and r.json()["bundle"] is None


async def test_the_last_bundle_goes_to_exactly_one_buyer(committed_env: Env) -> None:
    env = committed_env
    listing = await seed_listing(env.maker, stock=50, price="59.90")
    brush = await _second_product(env, listing, stock=1)
    await _set(env, listing, bundles=[{"name": "套装", "product_ids": [brush], "price": "79.00"}])

    async def attempt(i: int) -> int:
        headers = viewer_headers(env.app, listing.stream_id, f"racer-{i}", f"race-{i}")
        body = {"product_id": listing.product_id, "quantity": 1, "bundle": "套装"}
        return (await asgi_post(env.app, listing.orders_url, headers, body)).status_code

    codes = Counter(await asyncio.gather(*(attempt(i) for i in range(40))))
    assert codes == {201: 1, 409: 39}
    assert (await _item(env, listing)).sold_units == 1
    assert (await _item(env, listing, brush)).sold_units == 1


async def test_gifts_go_with_orders_while_gift_stock_lasts(env: Env) -> None:
    listing = await seed_listing(env.maker, stock=20)
    await _set(env, listing, gifts=["杯套"], gift_stock=3)
    store = (await env.client.get(f"/api/v1/streams/{listing.stream_id}/storefront")).json()
    (card,) = store["products"]
    assert (card["gifts"], card["gift_left"]) == (["杯套"], 3)
    r = await env.order(listing, "v1", "g1", 2)
    assert (r.json()["gift"], r.json()["gift_units"]) == ("杯套", 2)
    r = await env.order(listing, "v2", "g2", 2)  # only 1 set left: no gift
    assert (r.json()["gift"], r.json()["gift_units"]) == (None, 0)
    r = await env.order(listing, "v3", "g3", 1)
    assert r.json()["gift"] == "杯套"
    assert (await _item(env, listing)).gifts_given == 3
    # a cancelled order gives its gift sets back
    first = r.json()
    headers = viewer_headers(env.app, listing.stream_id, "v3")
    r = await env.client.post(f"{listing.orders_url}/{first['id']}/cancel", headers=headers)
    assert r.status_code == 200
    assert (await _item(env, listing)).gifts_given == 2
    # no gift stock counted: every order gets it
    await _set(env, listing, gift_stock=None)
    r = await env.order(listing, "v4", "g4", 5)
    assert (r.json()["gift"], r.json()["gift_units"]) == ("杯套", 0)


async def test_the_last_gift_goes_to_exactly_one_order(committed_env: Env) -> None:
    env = committed_env
    listing = await seed_listing(env.maker, stock=100)
    await _set(env, listing, gifts=["限量杯套"], gift_stock=1)

    async def attempt(i: int) -> dict[str, Any]:
        headers = viewer_headers(env.app, listing.stream_id, f"racer-{i}", f"gift-{i}")
        body = {"product_id": listing.product_id, "quantity": 1}
        r = await asgi_post(env.app, listing.orders_url, headers, body)
        assert r.status_code == 201, r.text
        got: dict[str, Any] = r.json()
        return got

    orders = await asyncio.gather(*(attempt(i) for i in range(40)))
    assert Counter(o["gift"] for o in orders) == {"限量杯套": 1, None: 39}
    assert (await _item(env, listing)).gifts_given == 1


async def test_reference_price_is_shown_only_with_its_basis(env: Env) -> None:
    listing = await seed_listing(env.maker, stock=5, price="59.90")
    store = (await env.client.get(f"/api/v1/streams/{listing.stream_id}/storefront")).json()
    (card,) = store["products"]
    # the product was created just now: its list price is its only recorded price
    ref = card["reference_price"]
    assert ref is not None and (ref["price"], ref["label"], ref["days"]) == ("99.00", "日常价", 7)
    # a lower price during the week before the stream makes the 日常价 that lower one
    async with env.maker() as s:
        product = await s.get(Product, listing.product_id)
        assert product is not None
        product.list_price = Decimal("89.00")
        await s.commit()
    store = (await env.client.get(f"/api/v1/streams/{listing.stream_id}/storefront")).json()
    assert store["products"][0]["reference_price"]["price"] == "89.00"
