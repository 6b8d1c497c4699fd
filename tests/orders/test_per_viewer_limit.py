"""The per-viewer order limit is a lineup item's own field (planning sets it; null falls
back to ORDER_UNITS_PER_VIEWER), and orders honour it on both stock paths."""

from __future__ import annotations

import uuid

from app.models import StreamStatus
from tests.conftest import bearer, login
from tests.live.helpers import set_status
from tests.orders.conftest import Env
from tests.orders.helpers import Listing


async def test_lineup_item_limit_is_planned_shown_and_enforced(env: Env) -> None:
    env.app.state.settings.order_units_per_viewer = 5
    admin = bearer(await login(env.client, "admin"))
    r = await env.client.post("/api/v1/streams", json={"title": "限购场"}, headers=admin)
    sid = r.json()["id"]
    pids = []
    for n in range(2):
        r = await env.client.post(
            "/api/v1/products",
            json={
                "sku": f"LIM-{uuid.uuid4().hex[:8]}",
                "name": f"面膜{n}",
                "list_price": "99.00",
                "stock": 100,
            },
            headers=admin,
        )
        assert r.status_code == 201, r.text
        pids.append(r.json()["id"])
    lineup = f"/api/v1/streams/{sid}/lineup"
    r = await env.client.post(
        lineup,
        json={
            "product_id": pids[0],
            "live_price": "19.90",
            "allotted_stock": 50,
            "per_viewer_limit": 2,
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["per_viewer_limit"] == 2
    r = await env.client.post(
        lineup,
        json={"product_id": pids[1], "live_price": "19.90", "allotted_stock": 50},
        headers=admin,
    )
    assert r.status_code == 201 and r.json()["per_viewer_limit"] is None
    r = await env.client.post(
        lineup,
        json={
            "product_id": pids[1],
            "live_price": "1.00",
            "allotted_stock": 1,
            "per_viewer_limit": -1,
        },
        headers=admin,
    )
    assert r.status_code == 422
    listed = {i["product_id"]: i for i in (await env.client.get(lineup, headers=admin)).json()}
    assert listed[pids[0]]["per_viewer_limit"] == 2 and listed[pids[1]]["per_viewer_limit"] is None

    await set_status(env.app, sid, StreamStatus.live)
    for pid in pids:
        r = await env.client.post(f"{lineup}/{pid}/list", headers=admin)
        assert r.status_code == 200, r.text
    limited, default = Listing(sid, pids[0]), Listing(sid, pids[1])

    assert (await env.order(limited, "v1", "a1", quantity=2)).status_code == 201
    r = await env.order(limited, "v1", "a2", quantity=1)
    assert r.status_code == 409 and r.json()["code"] == "limit_exceeded", r.text
    assert r.json()["limit"] == 2
    assert (await env.order(limited, "v2", "a3", quantity=3)).json()["code"] == "limit_exceeded"
    # the item without its own limit uses the setting (5)
    assert (await env.order(default, "v1", "b1", quantity=5)).status_code == 201
    r = await env.order(default, "v1", "b2", quantity=1)
    assert r.json()["code"] == "limit_exceeded" and r.json()["limit"] == 5

    # raised during the stream: v1 may now buy 2 more; 0 lifts the limit
    r = await env.client.patch(f"{lineup}/{pids[0]}", json={"per_viewer_limit": 4}, headers=admin)
    assert r.status_code == 200 and r.json()["per_viewer_limit"] == 4, r.text
    assert (await env.order(limited, "v1", "a4", quantity=2)).status_code == 201
    assert (await env.order(limited, "v1", "a5", quantity=1)).json()["code"] == "limit_exceeded"
    r = await env.client.patch(f"{lineup}/{pids[0]}", json={"per_viewer_limit": 0}, headers=admin)
    assert r.status_code == 200, r.text
    assert (await env.order(limited, "v1", "a6", quantity=10)).status_code == 201
    # null goes back to the setting (5): v1 holds 14 already
    r = await env.client.patch(
        f"{lineup}/{pids[0]}", json={"per_viewer_limit": None}, headers=admin
    )
    assert r.status_code == 200 and r.json()["per_viewer_limit"] is None
    r = await env.order(limited, "v1", "a7", quantity=1)
    assert r.json()["code"] == "limit_exceeded" and r.json()["limit"] == 5
    assert (await env.order(limited, "v3", "a8", quantity=5)).status_code == 201
