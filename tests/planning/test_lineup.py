"""Points 5 and 6: lineup with offers, reorder in one call, and the inventory check."""

from __future__ import annotations

import httpx

from tests.conftest import Staff
from tests.planning.helpers import add_to_lineup, product, stream


async def order(client: httpx.AsyncClient, sid: int, headers: dict[str, str]) -> list[int]:
    r = await client.get(f"/api/v1/streams/{sid}/lineup", headers=headers)
    assert r.status_code == 200
    assert [i["position"] for i in r.json()] == list(range(1, len(r.json()) + 1))
    return [i["product_id"] for i in r.json()]


async def test_lineup_with_offers_positions_and_reorder(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    host = await staff.user("host", "host")
    sid = await stream(client, ctl)
    await staff.join(sid, "host", "host")
    a, b, c = [await product(client, ctl, f"L{i}") for i in range(3)]
    r = await add_to_lineup(
        client,
        ctl,
        sid,
        a,
        allotted=50,
        gifts=["化妆棉"],
        bundles=[{"name": "口红+卸妆水", "product_ids": [a, b], "price": "149.00"}],
        coupon_discount="10",
        coupon_min_spend="99",
        full_reduction=[
            {"threshold": "199", "discount": "20"},
            {"threshold": "299", "discount": "40"},
        ],
        flash_sale_allotment=20,
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["position"] == 1 and out["live_price"] == "79.00" and out["status"] == "pending"
    assert (
        out["bundles"][0]["price"] == "149.00" and out["full_reduction"][1]["discount"] == "40.00"
    )
    assert out["sku"] == "L0" and out["warehouse_stock"] == 100 and out["sold_units"] == 0
    assert (await add_to_lineup(client, ctl, sid, b)).json()["position"] == 2
    assert (await add_to_lineup(client, ctl, sid, c, position=1)).json()["position"] == 1
    assert await order(client, sid, host) == [c, a, b]
    r = await client.put(
        f"/api/v1/streams/{sid}/lineup/order", json={"product_ids": [b, c, a]}, headers=ctl
    )
    assert r.status_code == 200 and [i["product_id"] for i in r.json()] == [b, c, a]
    r = await client.patch(
        f"/api/v1/streams/{sid}/lineup/{a}",
        json={"live_price": "69.90", "gifts": [], "flash_sale_allotment": 30},
        headers=ctl,
    )
    assert r.status_code == 200, r.text
    assert r.json()["live_price"] == "69.90" and r.json()["gifts"] == []
    assert r.json()["coupon_discount"] == "10.00"
    assert (
        await client.delete(f"/api/v1/streams/{sid}/lineup/{c}", headers=ctl)
    ).status_code == 204
    assert await order(client, sid, host) == [b, a]


async def test_lineup_writes_need_a_team_controller(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    other = await staff.user("other", "controller")
    host = await staff.user("host", "host")
    svc = await staff.user("svc", "service")
    sid = await stream(client, ctl)
    await staff.join(sid, "host", "host")
    await staff.join(sid, "svc", "service")
    pid = await product(client, ctl, "P")
    for headers in (host, svc, other):
        assert (await add_to_lineup(client, headers, sid, pid)).status_code == 403
    assert (await add_to_lineup(client, ctl, sid, pid)).status_code == 201
    for headers in (host, svc, other):
        r = await client.put(
            f"/api/v1/streams/{sid}/lineup/order", json={"product_ids": [pid]}, headers=headers
        )
        assert r.status_code == 403
        r = await client.patch(
            f"/api/v1/streams/{sid}/lineup/{pid}", json={"live_price": "1"}, headers=headers
        )
        assert r.status_code == 403
        assert (
            await client.delete(f"/api/v1/streams/{sid}/lineup/{pid}", headers=headers)
        ).status_code == 403
    assert (await client.get(f"/api/v1/streams/{sid}/lineup", headers=other)).status_code == 403
    assert (await client.get(f"/api/v1/streams/{sid}/inventory", headers=host)).status_code == 200
    assert (await client.get("/api/v1/inventory/shortfalls", headers=host)).status_code == 403
    got = (await client.get(f"/api/v1/streams/{sid}/lineup", headers=svc)).json()
    assert got[0]["live_price"] == "79.00"


async def test_bad_lineup_input_changes_nothing(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("ctl", "controller")
    sid = await stream(client, ctl)
    a, b = await product(client, ctl, "A"), await product(client, ctl, "B")
    assert (await add_to_lineup(client, ctl, sid, a, allotted=10)).status_code == 201
    r = await add_to_lineup(client, ctl, sid, a)
    assert r.status_code == 409 and r.json()["code"] == "already_in_lineup"
    r = await add_to_lineup(client, ctl, sid, 999999)
    assert r.status_code == 404 and r.json()["code"] == "product_not_found"
    for extra in (
        {"allotted": -1},
        {"live_price": 9.9},
        {"flash_sale_allotment": 11},
        {"full_reduction": [{"threshold": "100", "discount": "100"}]},
        {
            "full_reduction": [
                {"threshold": "300", "discount": "20"},
                {"threshold": "200", "discount": "10"},
            ]
        },
        {"coupon_discount": "50", "coupon_min_spend": "40"},
        {"bundles": [{"name": "x", "product_ids": [], "price": "1"}]},
        {"position": 0},
    ):
        body = {"product_id": b, "live_price": "79.00", "allotted_stock": extra.pop("allotted", 10)}
        body.update(extra)
        r = await client.post(f"/api/v1/streams/{sid}/lineup", json=body, headers=ctl)
        assert r.status_code == 422, (extra, r.text)
        assert r.json()["detail"]
    r = await add_to_lineup(
        client, ctl, sid, b, bundles=[{"name": "x", "product_ids": [424242], "price": "1"}]
    )
    assert r.status_code == 422 and r.json()["code"] == "product_not_found"
    for ids in ([a, a], [a, b], []):
        r = await client.put(
            f"/api/v1/streams/{sid}/lineup/order", json={"product_ids": ids}, headers=ctl
        )
        assert r.status_code == 422, ids
    r = await client.put(
        f"/api/v1/streams/{sid}/lineup/order", json={"product_ids": [a, b]}, headers=ctl
    )
    assert r.json()["unknown"] == [b]
    r = await client.patch(
        f"/api/v1/streams/{sid}/lineup/{a}", json={"flash_sale_allotment": 11}, headers=ctl
    )
    assert r.status_code == 422 and r.json()["code"] == "flash_allotment_too_large"
    r = await client.patch(
        f"/api/v1/streams/{sid}/lineup/{a}",
        json={"coupon_discount": "20", "coupon_min_spend": "100"},
        headers=ctl,
    )
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"/api/v1/streams/{sid}/lineup/{a}", json={"coupon_min_spend": "15"}, headers=ctl
    )
    assert r.status_code == 422 and r.json()["code"] == "bad_coupon"
    r = await client.patch(
        f"/api/v1/streams/{sid}/lineup/{b}", json={"live_price": "1"}, headers=ctl
    )
    assert r.status_code == 404 and r.json()["code"] == "not_in_lineup"
    items = (await client.get(f"/api/v1/streams/{sid}/lineup", headers=ctl)).json()
    assert [(i["product_id"], i["allotted_stock"], i["flash_sale_allotment"]) for i in items] == [
        (a, 10, 0)
    ]
    assert items[0]["coupon_min_spend"] == "100.00"


async def test_inventory_check_reports_allotted_vs_warehouse(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    sid = await stream(client, ctl)
    ok, short = (
        await product(client, ctl, "OK", stock=50),
        await product(client, ctl, "SH", stock=3),
    )
    await add_to_lineup(client, ctl, sid, ok, allotted=50)
    await add_to_lineup(client, ctl, sid, short, allotted=5)
    inv = (await client.get(f"/api/v1/streams/{sid}/inventory", headers=ctl)).json()
    assert inv["shortfalls"] == 1
    by_id = {i["product_id"]: i for i in inv["items"]}
    assert by_id[ok]["shortfall"] == 0 and by_id[short]["own_shortfall"] == 2
    report = (await client.get("/api/v1/inventory/shortfalls", headers=ctl)).json()
    mine = [
        (e["stream_id"], e["product_id"], e["shortfall"]) for e in report if e["stream_id"] == sid
    ]
    assert mine == [(sid, short, 2)]
    # restocking clears it
    await client.patch(f"/api/v1/products/{short}", json={"stock": 5}, headers=ctl)
    report = (await client.get("/api/v1/inventory/shortfalls", headers=ctl)).json()
    assert [e for e in report if e["stream_id"] == sid] == []
