"""Point 12: readiness, go-live (forced and not), end, and the lifecycle around them."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from tests.conftest import TEST_PASSWORD, Staff, bearer, login
from tests.planning.helpers import add_to_lineup, planned_stream, product, stream


def codes(body: dict[str, Any], severity: str | None = None) -> set[str]:
    return {f["code"] for f in body["findings"] if severity in (None, f["severity"])}


async def readiness(client: httpx.AsyncClient, sid: int, headers: dict[str, str]) -> Any:
    r = await client.get(f"/api/v1/streams/{sid}/readiness", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_planned_stream_is_green_goes_live_and_ends(
    app: FastAPI, client: httpx.AsyncClient, staff: Staff
) -> None:
    plan = await planned_stream(client, staff)
    body = await readiness(client, plan.stream_id, plan.host)
    assert body == {"ready": True, "findings": []}
    received: list[dict[str, Any]] = []
    got = asyncio.Event()

    async def on_event(channel: str, message: bytes) -> None:
        received.append(orjson.loads(message))
        got.set()

    live = app.state.live
    channel = live.events_channel(plan.stream_id)
    await live.broker.subscribe(channel, on_event)
    try:
        r = await client.post(f"/api/v1/streams/{plan.stream_id}/go-live", headers=plan.host)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["status"] == "live" and out["started_at"] and out["forced"] is False
        await asyncio.wait_for(got.wait(), 5)
        assert received[0]["type"] == "stream.status"
        assert received[0]["data"]["status"] == "live"
        got.clear()
        r = await client.post(f"/api/v1/streams/{plan.stream_id}/end", headers=plan.ctl)
        assert r.status_code == 200 and r.json()["status"] == "ended" and r.json()["ended_at"]
        await asyncio.wait_for(got.wait(), 5)
        assert received[-1]["data"]["status"] == "ended"
    finally:
        await live.broker.unsubscribe(channel, on_event)
    # ended: no second start, the plan is frozen, then archived
    r = await client.post(f"/api/v1/streams/{plan.stream_id}/go-live", headers=plan.ctl)
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    r = await client.patch(
        f"/api/v1/streams/{plan.stream_id}", json={"theme": "x"}, headers=plan.ctl
    )
    assert r.status_code == 409 and r.json()["code"] == "stream_closed"
    r = await client.post(f"/api/v1/streams/{plan.stream_id}/archive", headers=plan.ctl)
    assert r.status_code == 200 and r.json()["status"] == "archived"
    r = await client.post(f"/api/v1/streams/{plan.stream_id}/end", headers=plan.ctl)
    assert r.status_code == 409


async def test_each_blocker_is_reported(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("ctl", "controller")
    sid = await stream(client, ctl)
    body = await readiness(client, sid, ctl)
    assert body["ready"] is False
    assert {"lineup_empty", "no_host", "checklist_incomplete"} <= codes(body, "block")
    assert {"no_contingency_plan", "script_missing", "no_warmup"} <= codes(body, "warn")
    # stock shortfall within the stream; a QC-failed product after it entered the lineup
    short = await product(client, ctl, "short", stock=5)
    assert (await add_to_lineup(client, ctl, sid, short, allotted=8)).status_code == 201
    later_bad = await product(client, ctl, "later-bad", stock=50)
    assert (await add_to_lineup(client, ctl, sid, later_bad, allotted=8)).status_code == 201
    r = await client.patch(
        f"/api/v1/products/{later_bad}", json={"qc_status": "failed"}, headers=ctl
    )
    assert r.status_code == 200
    r = await client.post(f"/api/v1/streams/{sid}/checklist", json={"kind": "camera"}, headers=ctl)
    item = r.json()["id"]
    body = await readiness(client, sid, ctl)
    by_code = {f["code"]: f for f in body["findings"]}
    assert by_code["stock_shortfall"]["shortfall"] == 3
    assert by_code["stock_shortfall"]["product_id"] == short
    assert by_code["product_ineligible"]["product_id"] == later_bad
    assert by_code["checklist_incomplete"]["items"][0]["id"] == item
    assert all(f["severity"] in ("block", "warn") and f["message"] for f in body["findings"])
    # blockers come first
    severities = [f["severity"] for f in body["findings"]]
    assert severities == sorted(severities)


async def test_shortfall_across_overlapping_streams(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    pid = await product(client, ctl, "shared", stock=10)
    a = await stream(client, ctl, scheduled_start="2031-05-01T12:00:00Z", planned_minutes=60)
    b = await stream(client, ctl, scheduled_start="2031-05-01T12:30:00Z", planned_minutes=60)
    c = await stream(client, ctl, scheduled_start="2031-05-01T13:15:00Z", planned_minutes=60)
    for sid in (a, b, c):
        assert (await add_to_lineup(client, ctl, sid, pid, allotted=6)).status_code == 201
    body = await readiness(client, a, ctl)
    overlap = [f for f in body["findings"] if f["code"] == "stock_shortfall_overlap"]
    assert len(overlap) == 1 and overlap[0]["severity"] == "block"
    assert overlap[0]["total_allotted"] == 12 and overlap[0]["shortfall"] == 2
    assert [o["stream_id"] for o in overlap[0]["overlapping"]] == [b]
    # c starts after a ends: no overlap between them; b overlaps both
    assert "stock_shortfall_overlap" in codes(await readiness(client, c, ctl))
    inv = (await client.get(f"/api/v1/streams/{b}/inventory", headers=ctl)).json()
    assert inv["shortfalls"] == 1 and inv["items"][0]["total_allotted"] == 18
    report = (await client.get("/api/v1/inventory/shortfalls", headers=ctl)).json()
    mine = {(e["stream_id"], e["product_id"]) for e in report if e["stream_id"] in (a, b, c)}
    assert mine == {(a, pid), (b, pid), (c, pid)}
    # moving c a day later clears c, and a is fine with only b
    r = await client.patch(
        f"/api/v1/streams/{c}", json={"scheduled_start": "2031-05-02T13:30:00Z"}, headers=ctl
    )
    assert r.status_code == 200
    assert "stock_shortfall_overlap" not in codes(await readiness(client, c, ctl))


async def test_script_gaps_and_overlaps_warn(client: httpx.AsyncClient, staff: Staff) -> None:
    plan = await planned_stream(client, staff)
    segs = (await client.get(f"/api/v1/streams/{plan.stream_id}/script", headers=plan.ctl)).json()
    first = segs["segments"][1]["id"]
    r = await client.patch(
        f"/api/v1/streams/{plan.stream_id}/script/segments/{first}",
        json={"duration_seconds": 1400},
        headers=plan.ctl,
    )
    assert r.status_code == 200
    body = await readiness(client, plan.stream_id, plan.ctl)
    assert body["ready"] is True
    assert codes(body) == {"script_gap"}
    gap = body["findings"][0]
    assert gap["seconds"] == 100 and gap["start_offset_seconds"] == 2000
    r = await client.patch(
        f"/api/v1/streams/{plan.stream_id}/script/segments/{first}",
        json={"duration_seconds": 1600},
        headers=plan.ctl,
    )
    body = await readiness(client, plan.stream_id, plan.ctl)
    assert codes(body) == {"script_overlap"}
    assert body["findings"][0]["seconds"] == 100
    # a script longer than planned
    r = await client.patch(
        f"/api/v1/streams/{plan.stream_id}", json={"planned_minutes": 50}, headers=plan.ctl
    )
    body = await readiness(client, plan.stream_id, plan.ctl)
    mismatch = [f for f in body["findings"] if f["code"] == "script_duration_mismatch"]
    assert mismatch[0]["difference_seconds"] == 600


async def test_go_live_refuses_when_not_ready_and_force_is_logged(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    plan = await planned_stream(client, staff)
    r = await client.delete(
        f"/api/v1/streams/{plan.stream_id}/team/{staff.ids['host_p']}", headers=staff.admin
    )
    assert r.status_code == 204
    await staff.user("svc", "service")
    await staff.join(plan.stream_id, "svc", "service")
    svc = bearer(await login(client, "svc", TEST_PASSWORD))
    r = await client.post(f"/api/v1/streams/{plan.stream_id}/go-live", headers=plan.ctl)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "not_ready" and r.json()["ready"] is False
    assert codes(r.json()) == {"no_host"}
    # a service agent may not start a stream at all, forced or not
    r = await client.post(
        f"/api/v1/streams/{plan.stream_id}/go-live", json={"force": True}, headers=svc
    )
    assert r.status_code == 403
    # a host may start a ready stream, but may not force one
    await staff.join(plan.stream_id, "host_p", "host")
    r = await client.patch(
        f"/api/v1/streams/{plan.stream_id}/lineup/{plan.product_ids[0]}",
        json={"allotted_stock": 1000},
        headers=plan.ctl,
    )
    assert r.status_code == 200
    r = await client.post(
        f"/api/v1/streams/{plan.stream_id}/go-live", json={"force": True}, headers=plan.host
    )
    assert r.status_code == 403 and r.json()["code"] == "force_forbidden"
    r = await client.post(
        f"/api/v1/streams/{plan.stream_id}/go-live", json={"force": "yes please"}, headers=plan.ctl
    )
    assert r.status_code == 422
    got = (await client.get(f"/api/v1/streams/{plan.stream_id}", headers=plan.ctl)).json()
    assert got["status"] == "scheduled" and got["started_at"] is None
    assert (
        await client.get(f"/api/v1/streams/{plan.stream_id}/go-live-overrides", headers=plan.ctl)
    ).json() == []
    r = await client.post(
        f"/api/v1/streams/{plan.stream_id}/go-live", json={"force": True}, headers=plan.ctl
    )
    assert r.status_code == 200 and r.json()["forced"] is True and r.json()["status"] == "live"
    logged = (
        await client.get(f"/api/v1/streams/{plan.stream_id}/go-live-overrides", headers=plan.ctl)
    ).json()
    assert len(logged) == 1 and logged[0]["user_id"] == staff.ids["ctl_p"]
    assert [f["code"] for f in logged[0]["findings"]] == ["stock_shortfall"]
    assert logged[0]["created_at"]
    # the host may not read the override log
    r = await client.get(f"/api/v1/streams/{plan.stream_id}/go-live-overrides", headers=plan.host)
    assert r.status_code == 403


async def test_concurrent_go_live_starts_once(committed_client: httpx.AsyncClient) -> None:
    tag = uuid.uuid4().hex[:6]
    admin = bearer(await login(committed_client, "admin"))
    staff = Staff(committed_client, admin)
    plan = await planned_stream(committed_client, staff, tag=tag)
    url = f"/api/v1/streams/{plan.stream_id}/go-live"
    results = await asyncio.gather(
        *(committed_client.post(url, headers=plan.ctl) for _ in range(6))
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409, 409, 409, 409, 409], [r.text for r in results]
    assert all(r.json()["code"] == "invalid_transition" for r in results if r.status_code == 409)


async def test_go_live_from_draft_schedules_in_the_same_step(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    plan = await planned_stream(client, staff, tag="d")
    sid = plan.stream_id
    r = await client.post(f"/api/v1/streams/{sid}/unschedule", headers=plan.ctl)
    assert r.status_code == 200 and r.json()["status"] == "draft"
    # without the flag: the dead end says what to do
    r = await client.post(f"/api/v1/streams/{sid}/go-live", json={}, headers=plan.ctl)
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    assert "schedule" in r.json()["detail"]
    # a host may start a scheduled stream but not schedule a draft
    r = await client.post(
        f"/api/v1/streams/{sid}/go-live", json={"schedule": True}, headers=plan.host
    )
    assert r.status_code == 403 and r.json()["code"] == "schedule_forbidden"
    r = await client.get(f"/api/v1/streams/{sid}", headers=plan.ctl)
    assert r.json()["status"] == "draft"
    r = await client.post(
        f"/api/v1/streams/{sid}/go-live", json={"schedule": True}, headers=plan.ctl
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "live" and r.json()["started_at"]


async def test_go_live_from_draft_not_ready_stays_draft(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl_nr", "controller")
    sid = await stream(client, ctl, scheduled_start=None)
    r = await client.post(f"/api/v1/streams/{sid}/go-live", json={"schedule": True}, headers=ctl)
    assert r.status_code == 409 and r.json()["code"] == "not_ready"
    r = await client.get(f"/api/v1/streams/{sid}", headers=ctl)
    assert r.json()["status"] == "draft" and r.json()["scheduled_start"] is None
    # forced: scheduled at now and live in one step
    r = await client.post(
        f"/api/v1/streams/{sid}/go-live", json={"schedule": True, "force": True}, headers=ctl
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "live" and out["forced"] is True and out["scheduled_start"]
