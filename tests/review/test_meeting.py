"""Review meeting, carry-over of open actions, manual highlights, metric dictionary."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from app.services.metric_dictionary import METRIC_KEYS, markdown_rows
from tests.conftest import Staff

ROOT = Path(__file__).resolve().parents[2]


async def _stream(client: httpx.AsyncClient, headers: dict[str, str], title: str) -> int:
    r = await client.post("/api/v1/streams", json={"title": title}, headers=headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def test_dictionary_lists_every_figure_and_matches_the_document(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    assert (await client.get("/api/v1/metrics/dictionary")).status_code == 401
    host = await staff.user("dict_host", "host")
    r = await client.get("/api/v1/metrics/dictionary", headers=host)
    assert r.status_code == 200
    entries = {e["key"]: e for e in r.json()}
    for key in (
        "viewers",
        "peak_online",
        "avg_watch_seconds",
        "comments",
        "likes",
        "shares",
        "follows",
        "gmv",
        "refunds",
        "net_gmv",
        "orders",
        "paid_orders",
        "units_sold",
        "paying_customers",
        "aov",
        "gpm",
        "funnel",
        "interaction_rate",
        "follower_conversion_rate",
        "refund_rate",
        "entries",
        "avg_online",
    ):
        assert key in entries, key
    assert "before refunds" in entries["gmv"]["formula"].replace("NOT deducted", "before refunds")
    assert entries["gpm"]["formula"].startswith("gmv ÷ viewers × 1000")
    assert entries["aov"]["formula"].startswith("gmv ÷ paying_customers")
    doc = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", doc, flags=re.M))
    assert documented >= METRIC_KEYS
    # The document's table says exactly what the endpoint says, formula for formula.
    lines = doc.splitlines()
    for row in markdown_rows():
        assert row in lines, row


async def test_findings_and_actions_with_roles(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("mt_ctl", "controller")
    analyst = await staff.user("mt_an", "analyst")
    host = await staff.user("mt_host", "host")
    svc = await staff.user("mt_svc", "service")
    outsider = await staff.user("mt_out", "analyst")
    sid = await _stream(client, ctl, "Spring launch")
    await staff.join(sid, "mt_an", "analyst")
    await staff.join(sid, "mt_host", "host")
    await staff.join(sid, "mt_svc", "service")
    base = f"/api/v1/streams/{sid}/review"

    r = await client.post(
        f"{base}/findings",
        json={"kind": "problem", "text": "Payment step lost buyers", "diagnosis_code": "x"},
        headers=analyst,
    )
    assert r.status_code == 201, r.text
    finding = r.json()
    # host reads, cannot write; service neither; an outsider cannot see the stream at all
    assert (
        await client.post(f"{base}/findings", json={"kind": "idea", "text": "t"}, headers=host)
    ).status_code == 403
    assert (await client.get(f"{base}/findings", headers=host)).json()[0]["id"] == finding["id"]
    assert (await client.get(f"{base}/findings", headers=svc)).status_code == 403
    assert (await client.get(f"{base}/findings", headers=outsider)).status_code == 403
    bad = await client.post(f"{base}/findings", json={"kind": "meh", "text": "t"}, headers=ctl)
    assert bad.status_code == 422

    due = (date.today() - timedelta(days=1)).isoformat()
    r = await client.post(
        f"{base}/actions",
        json={
            "title": "Test the payment page",
            "owner_id": staff.ids["mt_an"],
            "due_date": due,
            "finding_id": finding["id"],
        },
        headers=ctl,
    )
    assert r.status_code == 201, r.text
    action = r.json()
    assert action["status"] == "open" and action["overdue"] is True
    assert action["owner_id"] == staff.ids["mt_an"] and action["due_date"] == due

    r = await client.post(
        f"{base}/actions", json={"title": "x", "owner_id": staff.ids["mt_out"]}, headers=ctl
    )
    assert r.status_code == 422 and r.json()["code"] == "owner_not_on_team"
    r = await client.post(f"{base}/actions", json={"title": "x", "finding_id": 999999}, headers=ctl)
    assert r.status_code == 422 and r.json()["code"] == "unknown_finding"

    url = f"{base}/actions/{action['id']}"
    r = await client.patch(url, json={"status": "in_progress"}, headers=analyst)
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    r = await client.patch(url, json={"status": "done"}, headers=analyst)
    assert r.json()["status"] == "done" and r.json()["done_at"] and not r.json()["overdue"]
    assert (await client.patch(url, json={"status": "open"}, headers=host)).status_code == 403
    assert (await client.patch(url, json={}, headers=analyst)).status_code == 422
    assert (await client.patch(url, json={"status": "closed"}, headers=analyst)).status_code == 422
    r = await client.patch(f"{base}/actions/999999", json={"status": "done"}, headers=analyst)
    assert r.status_code == 404
    listed = (await client.get(f"{base}/actions", headers=host)).json()
    assert [a["status"] for a in listed] == ["done"]


async def test_open_actions_are_shown_again_when_the_next_stream_is_planned(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    ctl = await staff.user("co_ctl", "controller")
    other = await staff.user("co_other", "controller")
    first = await _stream(client, ctl, "First")
    unrelated = await _stream(client, other, "Other team")
    titles: dict[str, int] = {}
    for sid, title, status in (
        (first, "open one", "open"),
        (first, "doing", "in_progress"),
        (first, "finished", "done"),
        (unrelated, "not ours", "open"),
    ):
        headers = ctl if sid == first else other
        r = await client.post(
            f"/api/v1/streams/{sid}/review/actions",
            json={"title": title, "status": status, "due_date": "2030-01-0" + str(len(titles) + 1)},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        titles[title] = r.json()["id"]
    nxt = await _stream(client, ctl, "Next")
    r = await client.get(f"/api/v1/streams/{nxt}/review/carry-over", headers=ctl)
    assert r.status_code == 200, r.text
    got: list[dict[str, Any]] = r.json()["actions"]
    assert [(a["title"], a["status"], a["stream_title"]) for a in got] == [
        ("open one", "open", "First"),
        ("doing", "in_progress", "First"),
    ]
    # A stream planned by a team member (not the creator) sees them too.
    await staff.user("co_an", "analyst")
    await staff.join(first, "co_an", "analyst")
    r = await client.get(f"/api/v1/streams/{first}/review/carry-over", headers=ctl)
    assert r.json()["actions"] == []  # nothing earlier than the first stream
    assert (
        await client.get(f"/api/v1/streams/{nxt}/review/carry-over", headers=other)
    ).status_code == 403


async def test_manual_highlights(client: httpx.AsyncClient, staff: Staff) -> None:
    ctl = await staff.user("hl_ctl", "controller")
    svc = await staff.user("hl_svc", "service")
    sid = await _stream(client, ctl, "Clips")
    await staff.join(sid, "hl_svc", "service")
    url = f"/api/v1/streams/{sid}/highlights"
    r = await client.post(
        url,
        json={"at": "2026-11-20T12:03:30Z", "note": "funny moment", "duration_seconds": 45},
        headers=ctl,
    )
    assert r.status_code == 201, r.text
    mark = r.json()
    assert mark["kind"] == "manual" and mark["note"] == "funny moment"
    assert mark["duration_seconds"] == 45 and mark["at"].startswith("2026-11-20T12:03:30")
    naive = await client.post(url, json={"at": "2026-11-20T12:03:30"}, headers=ctl)
    assert naive.status_code == 422
    assert (
        await client.post(url, json={"at": "2026-11-20T12:03:30Z"}, headers=svc)
    ).status_code == 403
    listed = (await client.get(url, headers=ctl)).json()
    assert [m["id"] for m in listed if m["kind"] == "manual"] == [mark["id"]]
    assert (await client.delete(f"{url}/{mark['id']}", headers=ctl)).status_code == 204
    assert (await client.delete(f"{url}/{mark['id']}", headers=ctl)).status_code == 404
