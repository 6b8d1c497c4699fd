"""Every planning endpoint is documented, and planning works in the embedded mode too."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import TEST_PASSWORD, bearer, login

PLANNING_TAGS = {
    "streams",
    "catalog",
    "selection",
    "campaigns",
    "lineup",
    "script",
    "checklist",
    "contingency",
    "warm-up",
}


async def test_every_planning_endpoint_has_a_summary(app: FastAPI) -> None:
    schema = app.openapi()
    seen = 0
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            if not set(op.get("tags", ())) & PLANNING_TAGS:
                continue
            seen += 1
            assert op.get("summary"), f"{method.upper()} {path} has no summary"
    assert seen >= 50
    paths = schema["paths"]
    for path, method in (
        ("/api/v1/streams", "post"),
        ("/api/v1/products", "post"),
        ("/api/v1/streams/{stream_id}/lineup", "post"),
        ("/api/v1/streams/{stream_id}/readiness", "get"),
        ("/api/v1/streams/{stream_id}/go-live", "post"),
        ("/api/v1/streams/{stream_id}/end", "post"),
    ):
        assert method in paths[path], path
    assert "text/csv" in paths["/api/v1/products/import"]["post"]["requestBody"]["content"]


@pytest.mark.embedded
async def test_plan_and_go_live_on_sqlite(embedded_client: httpx.AsyncClient) -> None:
    client = embedded_client
    admin = bearer(await login(client, "admin", TEST_PASSWORD))
    r = await client.post(
        "/api/v1/users",
        json={"username": "host1", "password": TEST_PASSWORD, "role": "host"},
        headers=admin,
    )
    host_id = r.json()["id"]
    r = await client.post(
        "/api/v1/streams",
        json={"title": "嵌入式", "scheduled_start": "2031-01-01T12:00:00Z", "planned_minutes": 10},
        headers=admin,
    )
    sid = r.json()["id"]
    await client.put(f"/api/v1/streams/{sid}/team/{host_id}", json={"role": "host"}, headers=admin)
    r = await client.post(
        "/api/v1/products",
        json={"sku": "E1", "name": "嵌入式商品", "list_price": "9.90", "stock": 5},
        headers=admin,
    )
    pid = r.json()["id"]
    r = await client.post(
        f"/api/v1/streams/{sid}/lineup",
        json={"product_id": pid, "live_price": "8.80", "allotted_stock": 6},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/streams/{sid}/lineup",
        json={"product_id": pid, "live_price": "8.80", "allotted_stock": 6},
        headers=admin,
    )
    assert r.status_code == 409 and r.json()["code"] == "already_in_lineup"
    await client.put(
        f"/api/v1/streams/{sid}/script",
        json={"segments": [{"kind": "opening", "title": "开场", "duration_seconds": 600}]},
        headers=admin,
    )
    items = (await client.post(f"/api/v1/streams/{sid}/checklist/defaults", headers=admin)).json()
    for item in items:
        await client.patch(
            f"/api/v1/streams/{sid}/checklist/{item['id']}", json={"status": "ok"}, headers=admin
        )
    await client.post(f"/api/v1/streams/{sid}/schedule", headers=admin)
    r = await client.post(f"/api/v1/streams/{sid}/go-live", headers=admin)
    assert r.status_code == 409
    assert {f["code"] for f in r.json()["findings"] if f["severity"] == "block"} == {
        "stock_shortfall"
    }
    await client.patch(
        f"/api/v1/streams/{sid}/lineup/{pid}", json={"allotted_stock": 5}, headers=admin
    )
    r = await client.post(f"/api/v1/streams/{sid}/go-live", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "live"
    assert (await client.post(f"/api/v1/streams/{sid}/end", headers=admin)).status_code == 200
