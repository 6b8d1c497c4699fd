"""Builders for planning tests: products, streams and a fully planned stream."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import Staff

START = "2031-05-01T12:00:00+00:00"


async def product(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    sku: str,
    stock: int = 100,
    **extra: Any,
) -> int:
    body = {"sku": sku, "name": f"商品 {sku}", "list_price": "99.00", "stock": stock, **extra}
    r = await client.post("/api/v1/products", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def stream(client: httpx.AsyncClient, headers: dict[str, str], **extra: Any) -> int:
    body = {"title": "测试直播", "scheduled_start": START, "planned_minutes": 60, **extra}
    r = await client.post("/api/v1/streams", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def add_to_lineup(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    stream_id: int,
    product_id: int,
    allotted: int = 10,
    **extra: Any,
) -> httpx.Response:
    body = {"product_id": product_id, "live_price": "79.00", "allotted_stock": allotted, **extra}
    return await client.post(f"/api/v1/streams/{stream_id}/lineup", json=body, headers=headers)


@dataclass
class Planned:
    stream_id: int
    ctl: dict[str, str]
    host: dict[str, str]
    product_ids: list[int] = field(default_factory=list)


async def planned_stream(
    client: httpx.AsyncClient, staff: Staff, tag: str = "p", **stream_fields: Any
) -> Planned:
    """A scheduled stream whose readiness is green, with no warnings."""
    ctl = await staff.user(f"ctl_{tag}", "controller")
    host = await staff.user(f"host_{tag}", "host")
    sid = await stream(client, ctl, **stream_fields)
    await staff.join(sid, f"host_{tag}", "host")
    p1 = await product(client, ctl, f"{tag}-1", qc_status="passed")
    p2 = await product(client, ctl, f"{tag}-2", qc_status="passed")
    for pid in (p1, p2):
        r = await add_to_lineup(client, ctl, sid, pid)
        assert r.status_code == 201, r.text
    segments = [
        {"kind": "opening", "title": "开场", "duration_seconds": 600},
        {"kind": "product", "title": "讲解 1", "duration_seconds": 1500, "product_id": p1},
        {"kind": "product", "title": "讲解 2", "duration_seconds": 1200, "product_id": p2},
        {"kind": "closing", "title": "收尾", "duration_seconds": 300},
    ]
    r = await client.put(f"/api/v1/streams/{sid}/script", json={"segments": segments}, headers=ctl)
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/streams/{sid}/checklist/defaults", headers=ctl)
    assert r.status_code == 200, r.text
    for item in r.json():
        r2 = await client.patch(
            f"/api/v1/streams/{sid}/checklist/{item['id']}", json={"status": "ok"}, headers=ctl
        )
        assert r2.status_code == 200, r2.text
    r = await client.post(
        f"/api/v1/streams/{sid}/contingency-plans",
        json={"scenario": "technical_failure", "title": "断流", "steps": ["切备用网络"]},
        headers=ctl,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/streams/{sid}/warmups",
        json={"channel": "wechat", "title": "预告", "publish_at": "2031-04-30T12:00:00+00:00"},
        headers=ctl,
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/streams/{sid}/schedule", headers=ctl)
    assert r.status_code == 200, r.text
    return Planned(sid, ctl, host, [p1, p2])
