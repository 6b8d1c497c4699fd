"""Point 1 (streams, lifecycle), 2 (targets) and 9 (team, rehearsal)."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.conftest import Staff
from tests.planning.helpers import START, stream


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_create_with_goals_and_targets_then_update(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    body = {
        "title": "618 美妆专场",
        "scheduled_start": START,
        "planned_minutes": 120,
        "platform": "douyin",
        "theme": "夏日防晒",
        "goal_type": "launch",
        "target_audience": "25-35 岁女性",
        "target_gmv": "500000.00",
        "target_viewers": 20000,
        "target_conversion_rate": "0.035",
        "target_new_followers": 1500,
        "rehearsal_at": "2031-04-30T10:00:00+08:00",
    }
    r = await client.post("/api/v1/streams", json=body, headers=ctl)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["status"] == "draft" and out["goal_type"] == "launch"
    assert out["target_gmv"] == "500000.00" and out["platform"] == "douyin"
    assert _at(out["rehearsal_at"]) == _at("2031-04-30T02:00:00+00:00")
    sid = out["id"]
    r = await client.patch(
        f"/api/v1/streams/{sid}",
        json={"theme": "清凉一夏", "target_gmv": "600000", "rehearsal_at": None},
        headers=ctl,
    )
    assert r.status_code == 200, r.text
    got = (await client.get(f"/api/v1/streams/{sid}", headers=ctl)).json()
    assert got["theme"] == "清凉一夏" and got["target_gmv"] == "600000.00"
    assert got["rehearsal_at"] is None and got["target_viewers"] == 20000
    listed = (await client.get("/api/v1/streams?status=draft", headers=ctl)).json()
    assert [s["id"] for s in listed] == [sid]


async def test_bad_stream_input_is_422_and_changes_nothing(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    for bad in (
        {"title": ""},
        {"title": "x", "goal_type": "world_peace"},
        {"title": "x", "target_gmv": 12.5},
        {"title": "x", "target_conversion_rate": "1.5"},
        {"title": "x", "scheduled_start": "2031-05-01T12:00:00"},
        {"title": "x", "unknown_field": 1},
    ):
        r = await client.post("/api/v1/streams", json=bad, headers=ctl)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["detail"], r.text
    assert (await client.get("/api/v1/streams", headers=ctl)).json() == []
    sid = await stream(client, ctl, theme="原主题")
    r = await client.patch(
        f"/api/v1/streams/{sid}", json={"theme": "新", "target_viewers": -1}, headers=ctl
    )
    assert r.status_code == 422
    r = await client.patch(f"/api/v1/streams/{sid}", json={"title": None}, headers=ctl)
    assert r.status_code == 422 and r.json()["code"] == "title_required"
    assert (await client.get(f"/api/v1/streams/{sid}", headers=ctl)).json()["theme"] == "原主题"


async def test_only_team_controllers_and_admin_may_change_a_stream(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    other = await staff.user("other", "controller")
    host = await staff.user("host", "host")
    analyst = await staff.user("ana", "analyst")
    assert (
        await client.post("/api/v1/streams", json={"title": "x"}, headers=host)
    ).status_code == 403
    sid = await stream(client, ctl)
    await staff.join(sid, "host", "host")
    await staff.join(sid, "ana", "analyst")
    for headers in (host, analyst, other):
        r = await client.patch(f"/api/v1/streams/{sid}", json={"theme": "x"}, headers=headers)
        assert r.status_code == 403, r.text
        r = await client.post(f"/api/v1/streams/{sid}/unschedule", headers=headers)
        assert r.status_code == 403
    # the host reads the plan of their stream
    assert (await client.get(f"/api/v1/streams/{sid}", headers=host)).status_code == 200
    r = await client.patch(f"/api/v1/streams/{sid}", json={"theme": "admin"}, headers=staff.admin)
    assert r.status_code == 200 and r.json()["theme"] == "admin"


async def test_lifecycle_allows_only_its_transitions(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("ctl", "controller")
    r = await client.post("/api/v1/streams", json={"title": "无时间"}, headers=ctl)
    sid = r.json()["id"]
    # no start time yet
    r = await client.post(f"/api/v1/streams/{sid}/schedule", headers=ctl)
    assert r.status_code == 409 and r.json()["code"] == "no_start_time"
    for path in ("end", "archive", "unschedule", "go-live"):
        r = await client.post(f"/api/v1/streams/{sid}/{path}", headers=ctl)
        assert r.status_code == 409, path
        assert r.json()["code"] == "invalid_transition" and r.json()["status"] == "draft"
    r = await client.post(
        f"/api/v1/streams/{sid}/schedule", json={"scheduled_start": START}, headers=ctl
    )
    assert r.status_code == 200 and r.json()["status"] == "scheduled"
    assert _at(r.json()["scheduled_start"]) == _at(START)
    r = await client.post(f"/api/v1/streams/{sid}/schedule", headers=ctl)
    assert r.status_code == 409 and r.json()["allowed"] == ["draft", "live"]
    assert (await client.post(f"/api/v1/streams/{sid}/unschedule", headers=ctl)).json()[
        "status"
    ] == "draft"
    r = await client.post(
        f"/api/v1/streams/{sid}/schedule", json={"scheduled_start": "tomorrow"}, headers=ctl
    )
    assert r.status_code == 422
    got = (await client.get(f"/api/v1/streams/{sid}", headers=ctl)).json()
    assert got["status"] == "draft"


async def test_team_assignment_and_rehearsal(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("ctl", "controller")
    await staff.user("host", "host")
    sid = await stream(client, ctl)
    outsider = await staff.user("ctl_out", "controller")
    r = await client.put(
        f"/api/v1/streams/{sid}/team/{staff.ids['host']}", json={"role": "host"}, headers=outsider
    )
    assert r.status_code == 403  # an admin or the stream's own controllers assign the team
    r = await client.put(
        f"/api/v1/streams/{sid}/team/{staff.ids['host']}", json={"role": "host"}, headers=ctl
    )
    assert r.status_code == 200 and r.json()["role"] == "host"
    r = await client.put(
        f"/api/v1/streams/{sid}/team/{staff.ids['host']}",
        json={"role": "star"},
        headers=staff.admin,
    )
    assert r.status_code == 422
    await staff.join(sid, "host", "host")
    team = (await client.get(f"/api/v1/streams/{sid}/team", headers=ctl)).json()
    assert {(m["username"], m["role"]) for m in team} == {("ctl", "controller"), ("host", "host")}
    r = await client.patch(
        f"/api/v1/streams/{sid}", json={"rehearsal_at": "2031-04-30T20:00:00+08:00"}, headers=ctl
    )
    assert r.status_code == 200 and _at(r.json()["rehearsal_at"]) == _at("2031-04-30T12:00Z")
    r = await client.patch(
        f"/api/v1/streams/{sid}", json={"rehearsal_at": "not a date"}, headers=ctl
    )
    assert r.status_code == 422
