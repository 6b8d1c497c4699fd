"""Point 2: a campaign GMV target split over streams; the parts must add up."""

from __future__ import annotations

import httpx

from tests.conftest import Staff
from tests.planning.helpers import stream


async def test_split_adds_up_and_sets_stream_targets(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    analyst = await staff.user("ana", "analyst")
    s1, s2, s3 = [await stream(client, ctl, title=f"第{i}场") for i in (1, 2, 3)]
    r = await client.post(
        "/api/v1/campaigns",
        json={
            "name": "双11 大促",
            "gmv_target": "1000000",
            "split": [
                {"stream_id": s1, "gmv_target": "600000"},
                {"stream_id": s2, "gmv_target": "400000.00"},
            ],
        },
        headers=ctl,
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json()["allocated"] == "1000000.00" and r.json()["unallocated"] == "0.00"
    got = (await client.get(f"/api/v1/streams/{s1}", headers=ctl)).json()
    assert got["target_gmv"] == "600000.00" and got["campaign_id"] == cid
    # the stream's own target now comes from the split
    r = await client.patch(f"/api/v1/streams/{s1}", json={"target_gmv": "1"}, headers=ctl)
    assert r.status_code == 409 and r.json()["code"] == "target_from_campaign"
    # re-split over three streams with a new target; s2 leaves
    r = await client.put(
        f"/api/v1/campaigns/{cid}/split",
        json={
            "gmv_target": "1200000",
            "parts": [
                {"stream_id": s1, "gmv_target": "500000"},
                {"stream_id": s3, "gmv_target": "700000"},
            ],
        },
        headers=ctl,
    )
    assert r.status_code == 200, r.text
    assert [p["stream_id"] for p in r.json()["parts"]] == [s1, s3]
    assert r.json()["gmv_target"] == "1200000.00"
    assert (await client.get(f"/api/v1/streams/{s2}", headers=ctl)).json()["campaign_id"] is None
    listed = (await client.get("/api/v1/campaigns", headers=analyst)).json()
    assert [c["id"] for c in listed] == [cid]


async def test_split_that_does_not_add_up_changes_nothing(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    s1, s2 = await stream(client, ctl), await stream(client, ctl)
    r = await client.post(
        "/api/v1/campaigns",
        json={
            "name": "x",
            "gmv_target": "100",
            "split": [{"stream_id": s1, "gmv_target": "60"}, {"stream_id": s2, "gmv_target": "30"}],
        },
        headers=ctl,
    )
    assert r.status_code == 422 and r.json()["code"] == "split_mismatch"
    assert r.json()["total"] == "90.00"
    r = await client.post(
        "/api/v1/campaigns", json={"name": "ok", "gmv_target": "100"}, headers=ctl
    )
    cid = r.json()["id"]
    for parts in (
        [{"stream_id": s1, "gmv_target": "50"}, {"stream_id": s1, "gmv_target": "50"}],
        [{"stream_id": s1, "gmv_target": "100.001"}],
        [{"stream_id": s1, "gmv_target": 100.0}],
    ):
        r = await client.put(f"/api/v1/campaigns/{cid}/split", json={"parts": parts}, headers=ctl)
        assert r.status_code == 422, r.text
    r = await client.put(
        f"/api/v1/campaigns/{cid}/split",
        json={"parts": [{"stream_id": 999999, "gmv_target": "100"}]},
        headers=ctl,
    )
    assert r.status_code == 404
    got = (await client.get(f"/api/v1/campaigns/{cid}", headers=ctl)).json()
    assert got["parts"] == [] and got["unallocated"] == "100.00"
    assert (await client.get(f"/api/v1/streams/{s1}", headers=ctl)).json()["target_gmv"] is None
    # a stream of another campaign
    await client.put(
        f"/api/v1/campaigns/{cid}/split",
        json={"parts": [{"stream_id": s1, "gmv_target": "100"}]},
        headers=ctl,
    )
    r = await client.post(
        "/api/v1/campaigns",
        json={"name": "y", "gmv_target": "5", "split": [{"stream_id": s1, "gmv_target": "5"}]},
        headers=ctl,
    )
    assert r.status_code == 409 and r.json()["code"] == "stream_in_other_campaign"


async def test_campaign_roles(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("ctl", "controller")
    other = await staff.user("other", "controller")
    host = await staff.user("host", "host")
    sid = await stream(client, ctl)
    r = await client.post("/api/v1/campaigns", json={"name": "x", "gmv_target": "1"}, headers=host)
    assert r.status_code == 403
    assert (await client.get("/api/v1/campaigns", headers=host)).status_code == 403
    r = await client.post("/api/v1/campaigns", json={"name": "x", "gmv_target": "1"}, headers=other)
    cid = r.json()["id"]
    # a controller not on the stream's team cannot put it in a split
    r = await client.put(
        f"/api/v1/campaigns/{cid}/split",
        json={"parts": [{"stream_id": sid, "gmv_target": "1"}]},
        headers=other,
    )
    assert r.status_code == 403
    assert (await client.get(f"/api/v1/streams/{sid}", headers=ctl)).json()["campaign_id"] is None


async def test_campaign_view_shows_actual_gmv_per_stream(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    """Target vs actual per stream: a live stream's paid GMV so far; a draft has none."""
    import asyncio

    ctl = await staff.user("ctl_act", "controller")
    s1, s2 = [await stream(client, ctl, title=f"实际{i}") for i in (1, 2)]
    r = await client.post(
        "/api/v1/campaigns",
        json={
            "name": "实际 vs 目标",
            "gmv_target": "1000",
            "split": [
                {"stream_id": s1, "gmv_target": "600"},
                {"stream_id": s2, "gmv_target": "400"},
            ],
        },
        headers=ctl,
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert [p["gmv_actual"] for p in r.json()["parts"]] == [None, None]
    r = await client.post(
        f"/api/v1/streams/{s1}/go-live", json={"schedule": True, "force": True}, headers=ctl
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/streams/{s1}/ingest-keys", headers=ctl)
    key = r.json()["key"]
    events = [
        {"type": "order_paid", "user_id": f"u{i}", "event_id": f"p{i}", "amount": amount}
        for i, amount in enumerate(["120.50", "79.50"])
    ]
    r = await client.post(
        f"/api/v1/streams/{s1}/events", json={"events": events}, headers={"X-Ingest-Key": key}
    )
    assert r.status_code == 202, r.text
    parts: list[dict[str, object]] = []
    for _ in range(100):  # the projection folds the log after the commit
        parts = (await client.get(f"/api/v1/campaigns/{cid}", headers=ctl)).json()["parts"]
        if parts[0]["gmv_actual"] == "200.00":
            break
        await asyncio.sleep(0.05)
    assert [(p["stream_id"], p["gmv_target"], p["gmv_actual"]) for p in parts] == [
        (s1, "600.00", "200.00"),
        (s2, "400.00", None),
    ]
