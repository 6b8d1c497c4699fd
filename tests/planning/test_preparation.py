"""Points 8, 10 and 11: contingency plans, warm-up with reservations, technical checklist."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.conftest import Staff
from tests.planning.helpers import stream

WARMUP = {"channel": "short_video", "title": "预告短视频", "publish_at": "2031-04-30T12:00:00Z"}


async def test_contingency_plans(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("ctl", "controller")
    host = await staff.user("host", "host")
    await staff.user("stranger", "service")
    sid = await stream(client, ctl)
    await staff.join(sid, "host", "host")
    base = f"/api/v1/streams/{sid}/contingency-plans"
    plan = {
        "scenario": "negative_comments",
        "title": "负面评论风暴",
        "steps": ["场控屏蔽关键词", "主播正面回应", "客服私信安抚"],
        "owner_id": staff.ids["ctl"],
    }
    r = await client.post(base, json=plan, headers=ctl)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert (await client.post(base, json=plan, headers=host)).status_code == 403
    assert (
        await client.patch(f"{base}/{pid}", json={"title": "x"}, headers=host)
    ).status_code == 403
    for bad in (
        {**plan, "scenario": "alien_invasion"},
        {**plan, "steps": []},
        {**plan, "owner_id": staff.ids["stranger"]},
        {**plan, "owner_id": 999999},
    ):
        assert (await client.post(base, json=bad, headers=ctl)).status_code == 422, bad
    r = await client.patch(
        f"{base}/{pid}", json={"owner_id": staff.ids["host"], "steps": ["切换话题"]}, headers=ctl
    )
    assert r.status_code == 200 and r.json()["owner_id"] == staff.ids["host"]
    assert (
        await client.patch(f"{base}/{pid}", json={"steps": None}, headers=ctl)
    ).status_code == 422
    plans = (await client.get(base, headers=host)).json()
    assert [(p["scenario"], p["steps"]) for p in plans] == [("negative_comments", ["切换话题"])]
    assert (await client.delete(f"{base}/{pid}", headers=ctl)).status_code == 204
    assert (await client.get(base, headers=host)).json() == []


async def test_warmups_reservations_and_reminders(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("ctl", "controller")
    svc = await staff.user("svc", "service")
    host = await staff.user("host", "host")
    sid = await stream(client, ctl)
    await staff.join(sid, "svc", "service")
    await staff.join(sid, "host", "host")
    base = f"/api/v1/streams/{sid}"
    r = await client.post(
        f"{base}/warmups",
        json={**WARMUP, "link": "https://v.douyin.com/abc", "exclusive_offer": "预约抽免单"},
        headers=ctl,
    )
    assert r.status_code == 201, r.text
    wid = r.json()["id"]
    await client.post(
        f"{base}/warmups",
        json={**WARMUP, "channel": "wechat", "publish_at": "2031-04-29T12:00:00Z"},
        headers=ctl,
    )
    listed = (await client.get(f"{base}/warmups", headers=host)).json()
    assert [w["channel"] for w in listed] == ["wechat", "short_video"]
    r = await client.patch(f"{base}/warmups/{wid}", json={"published": True}, headers=ctl)
    assert r.status_code == 200 and r.json()["published"] is True
    # reservations from the service desk; the same viewer twice is one reservation
    r = await client.post(
        f"{base}/reservations",
        json={
            "viewer_ref": "dy_1001",
            "name": "小王",
            "contact": "138****0000",
            "channel": "wechat",
        },
        headers=svc,
    )
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    r = await client.post(f"{base}/reservations", json={"viewer_ref": "dy_1001"}, headers=svc)
    assert r.status_code == 200 and r.json()["id"] == first
    r = await client.post(f"{base}/reservations", json={"viewer_ref": "dy_1002"}, headers=ctl)
    second = r.json()["id"]
    summary = (await client.get(f"{base}/reservations", headers=svc)).json()
    assert summary["total"] == 2 and summary["by_channel"] == {"wechat": 1, "unknown": 1}
    reminders = (await client.get(f"{base}/reservations/reminders", headers=svc)).json()
    assert [r["id"] for r in reminders] == [first, second]
    r = await client.post(
        f"{base}/reservations/reminders/sent", json={"reservation_ids": [first]}, headers=svc
    )
    assert r.json() == {"marked": 1}
    reminders = (await client.get(f"{base}/reservations/reminders", headers=svc)).json()
    assert [r["id"] for r in reminders] == [second]


async def test_warmup_roles_and_bad_input(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("ctl", "controller")
    svc = await staff.user("svc", "service")
    host = await staff.user("host", "host")
    sid = await stream(client, ctl)
    await staff.join(sid, "svc", "service")
    await staff.join(sid, "host", "host")
    base = f"/api/v1/streams/{sid}"
    assert (await client.post(f"{base}/warmups", json=WARMUP, headers=svc)).status_code == 403
    r = await client.post(f"{base}/reservations", json={"viewer_ref": "x"}, headers=host)
    assert r.status_code == 403
    assert (await client.get(f"{base}/reservations/reminders", headers=host)).status_code == 403
    for bad in (
        {**WARMUP, "channel": "carrier_pigeon"},
        {**WARMUP, "publish_at": "2031-04-30 12:00"},
        {**WARMUP, "link": "javascript:alert(1)"},
        {**WARMUP, "title": ""},
    ):
        assert (await client.post(f"{base}/warmups", json=bad, headers=ctl)).status_code == 422
    assert (
        await client.post(f"{base}/reservations", json={"viewer_ref": ""}, headers=svc)
    ).status_code == 422
    r = await client.post(f"{base}/reservations", json={"viewer_ref": "v1"}, headers=svc)
    rid = r.json()["id"]
    r = await client.post(
        f"{base}/reservations/reminders/sent", json={"reservation_ids": [rid, 999999]}, headers=svc
    )
    assert r.status_code == 422 and r.json()["reservation_ids"] == [999999]
    assert len((await client.get(f"{base}/reservations/reminders", headers=svc)).json()) == 1
    assert (await client.get(f"{base}/warmups", headers=ctl)).json() == []


async def test_checklist_records_who_checked_and_when(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    host = await staff.user("host", "host")
    svc = await staff.user("svc", "service")
    sid = await stream(client, ctl)
    await staff.join(sid, "host", "host")
    await staff.join(sid, "svc", "service")
    base = f"/api/v1/streams/{sid}/checklist"
    r = await client.post(f"{base}/defaults", headers=ctl)
    assert r.status_code == 200 and len(r.json()) == 7
    assert len((await client.post(f"{base}/defaults", headers=ctl)).json()) == 7
    r = await client.post(f"{base}", json={"kind": "custom", "label": "补光灯电池"}, headers=ctl)
    assert r.status_code == 201
    custom = r.json()["id"]
    got = (await client.get(base, headers=host)).json()
    assert got["complete"] is False and {i["status"] for i in got["items"]} == {"pending"}
    mic = next(i["id"] for i in got["items"] if i["kind"] == "microphone")
    r = await client.patch(f"{base}/{mic}", json={"status": "ok", "note": "音量正常"}, headers=host)
    assert r.status_code == 200
    assert r.json()["checked_by"] == staff.ids["host"]
    assert datetime.fromisoformat(r.json()["checked_at"]).tzinfo is not None
    r = await client.patch(f"{base}/{mic}", json={"status": "pending"}, headers=ctl)
    assert r.json()["checked_by"] is None and r.json()["checked_at"] is None
    # the service agent may not tick items, nor may a bad status
    assert (
        await client.patch(f"{base}/{mic}", json={"status": "ok"}, headers=svc)
    ).status_code == 403
    assert (await client.post(base, json={"kind": "camera"}, headers=host)).status_code == 403
    assert (
        await client.patch(f"{base}/{mic}", json={"status": "great"}, headers=ctl)
    ).status_code == 422
    assert (await client.post(base, json={"kind": "drone"}, headers=ctl)).status_code == 422
    assert (
        await client.patch(f"{base}/999999", json={"status": "ok"}, headers=ctl)
    ).status_code == 404
    got = (await client.get(base, headers=ctl)).json()
    assert {i["status"] for i in got["items"]} == {"pending"}
    for item in got["items"]:
        await client.patch(f"{base}/{item['id']}", json={"status": "ok"}, headers=ctl)
    assert (await client.get(base, headers=ctl)).json()["complete"] is True
    assert (await client.delete(f"{base}/{custom}", headers=ctl)).status_code == 204
