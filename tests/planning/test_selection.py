"""Point 4: weighted selection criteria, scores, ranking; ineligible products refused."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Staff
from tests.planning.helpers import add_to_lineup, product, stream


async def test_weighted_ranking_follows_configured_weights(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    host = await staff.user("host", "host")
    cat: dict[str, Any] = {"category": "sel-test"}  # rank only this test's products
    a = await product(client, ctl, "A", cost="50.00", qc_status="passed", **cat)
    b = await product(client, ctl, "B", qc_status="passed", **cat)
    bad = await product(client, ctl, "C", licensed=False, **cat)
    r = await client.put(
        f"/api/v1/products/{a}/scores",
        json={"scores": {"demand": 9, "margin": 2}, "note": "爆款潜力"},
        headers=ctl,
    )
    assert r.status_code == 200, r.text
    assert {s["criterion"] for s in r.json()} == {"demand", "margin"}
    await client.put(f"/api/v1/products/{b}/scores", json={"scores": {"margin": 9}}, headers=ctl)
    await client.put(f"/api/v1/products/{bad}/scores", json={"scores": {"demand": 10}}, headers=ctl)
    ranked = (await client.get("/api/v1/selection/ranking?category=sel-test", headers=host)).json()
    # equal weights (8 criteria, 1 each): A = 11/8, B = 9/8, C = 10/8
    assert [(r["sku"], r["score"]) for r in ranked] == [("A", "1.38"), ("C", "1.25"), ("B", "1.13")]
    assert ranked[0]["margin_rate"] == "0.4949" and "quality" in ranked[0]["missing"]
    assert ranked[1]["eligible"] is False and ranked[1]["ineligible_reason"] == "unlicensed"
    r = await client.put(
        "/api/v1/selection/weights", json={"weights": {"margin": "10", "demand": "0"}}, headers=ctl
    )
    assert r.status_code == 200 and r.json()["weights"]["margin"] == "10"
    ranked = (
        await client.get(
            "/api/v1/selection/ranking?eligible_only=true&category=sel-test", headers=ctl
        )
    ).json()
    assert [r["sku"] for r in ranked] == ["B", "A"] and [r["rank"] for r in ranked] == [1, 2]


async def test_only_planners_score_and_weigh(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("ctl", "controller")
    host = await staff.user("host", "host")
    pid = await product(client, ctl, "A")
    r = await client.put(
        f"/api/v1/products/{pid}/scores", json={"scores": {"demand": 5}}, headers=host
    )
    assert r.status_code == 403
    r = await client.put("/api/v1/selection/weights", json={"weights": {"demand": 5}}, headers=host)
    assert r.status_code == 403
    assert (await client.get(f"/api/v1/products/{pid}/scores", headers=host)).json() == []
    assert (await client.get("/api/v1/selection/weights", headers=host)).json()["weights"][
        "demand"
    ] == "1.00"


async def test_bad_scores_and_weights_change_nothing(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    pid = await product(client, ctl, "A")
    for bad in ({"demand": 11}, {"demand": -1}, {"hype": 5}, {"demand": "7.25"}, {}):
        r = await client.put(
            f"/api/v1/products/{pid}/scores",
            json={"scores": {**bad, "quality": 8}} if bad else {"scores": {}},
            headers=ctl,
        )
        assert r.status_code == 422, (bad, r.text)
    assert (await client.get(f"/api/v1/products/{pid}/scores", headers=ctl)).json() == []
    r = await client.put(
        "/api/v1/products/999999/scores", json={"scores": {"demand": 1}}, headers=ctl
    )
    assert r.status_code == 404
    zero = {
        c: 0
        for c in (
            "demand",
            "quality",
            "price_competitiveness",
            "brand",
            "host_fit",
            "margin",
            "visual_appeal",
            "supply_stability",
        )
    }
    r = await client.put("/api/v1/selection/weights", json={"weights": zero}, headers=ctl)
    assert r.status_code == 422 and r.json()["code"] == "all_weights_zero"
    r = await client.put(
        "/api/v1/selection/weights", json={"weights": {"demand": 500}}, headers=ctl
    )
    assert r.status_code == 422 and r.json()["code"] == "bad_weight"
    weights = (await client.get("/api/v1/selection/weights", headers=ctl)).json()["weights"]
    assert set(weights.values()) == {"1.00"}


async def test_qc_failed_or_unlicensed_products_cannot_enter_a_lineup(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    sid = await stream(client, ctl)
    failed = await product(client, ctl, "F", qc_status="failed")
    sanwu = await product(client, ctl, "S", licensed=False)
    r = await add_to_lineup(client, ctl, sid, failed)
    assert r.status_code == 409 and r.json()["code"] == "product_ineligible"
    assert r.json()["reason"] == "qc_failed"
    r = await add_to_lineup(client, ctl, sid, sanwu)
    assert r.status_code == 409 and r.json()["reason"] == "unlicensed"
    assert (await client.get(f"/api/v1/streams/{sid}/lineup", headers=ctl)).json() == []
