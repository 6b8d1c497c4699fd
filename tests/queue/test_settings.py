"""Per-stream queue settings: the SLA and the host-cue threshold, and every place that
uses them (SLA clock, ranking, order requests, the question-wait alert, the auto cue)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.models import OrderRequest
from app.services.alerts import AlertEngine, observe_live_metrics
from app.services.comments import IncomingComment
from tests.controls.conftest import Crew, EventLog, Room, make_stream
from tests.orders.helpers import viewer_headers
from tests.queue.conftest import take_in


def url(room: Room) -> str:
    return f"/api/v1/streams/{room.stream_id}/queue-settings"


async def queue(client: httpx.AsyncClient, room: Room) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/streams/{room.stream_id}/queue", headers=room.svc)
    assert r.status_code == 200, r.text
    return list(r.json())


async def put(client: httpx.AsyncClient, room: Room, body: dict[str, Any]) -> httpx.Response:
    return await client.put(url(room), json=body, headers=room.ctl)


async def test_settings_default_read_set_validated_and_role_checked(
    client: httpx.AsyncClient, room: Room, crew: Crew, events: EventLog
) -> None:
    r = await client.get(url(room), headers=room.svc)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "stream_id": room.stream_id,
        "sla_seconds": 120,
        "cue_threshold": 10,
        "is_default": True,
        "updated_by": None,
        "updated_at": None,
    }
    r = await put(client, room, {"sla_seconds": 45})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["sla_seconds"], body["cue_threshold"], body["is_default"]) == (45, 10, False)
    assert body["updated_by"] == crew.ids["ctl"]
    r = await put(client, room, {"cue_threshold": 4})  # the other field stays
    assert (r.json()["sla_seconds"], r.json()["cue_threshold"]) == (45, 4)
    await events.wait_for("queue.settings", 2)
    last = events.of("queue.settings")[-1]
    assert last["data"]["cue_threshold"] == 4
    assert set(last["roles"]) == {"admin", "controller", "service"}

    for bad in (
        {},
        {"sla_seconds": 5},
        {"sla_seconds": 86_401},
        {"sla_seconds": "soon"},
        {"sla_seconds": 1.5},
        {"cue_threshold": 1},
        {"cue_threshold": -3},
        {"unknown": 1},
    ):
        r = await put(client, room, bad)
        assert r.status_code == 422, bad
        assert "detail" in r.json()
    r = await client.put(url(room), content=b"{not json", headers=room.ctl)
    assert r.status_code == 422 and "detail" in r.json()

    # agents read but do not set; host and analyst neither; admin may set
    assert (
        await client.put(url(room), json={"sla_seconds": 60}, headers=room.svc)
    ).status_code == 403
    for headers in (room.host, room.analyst):
        assert (await client.get(url(room), headers=headers)).status_code == 403
        r = await client.put(url(room), json={"sla_seconds": 60}, headers=headers)
        assert r.status_code == 403
    other_ctl = await crew.user("other_ctl", "controller")
    await make_stream(client, other_ctl, "别的场")
    assert (await client.get(url(room), headers=other_ctl)).status_code == 403
    r = await client.put(url(room), json={"sla_seconds": 60}, headers=other_ctl)
    assert r.status_code == 403
    r = await client.put(url(room), json={"sla_seconds": 90}, headers=crew.admin)
    assert r.status_code == 200 and r.json()["sla_seconds"] == 90
    assert (await client.get(url(room), headers=room.svc)).json()["cue_threshold"] == 4
    r = await client.get("/api/v1/streams/999999/queue-settings", headers=crew.admin)
    assert r.status_code == 404


async def test_sla_sets_the_clock_of_new_items_and_moves_waiting_ones(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    a_minute_ago = utcnow() - timedelta(seconds=60)
    await take_in(app, room.stream_id, [IncomingComment("v1", "运费多少", ts=a_minute_ago)])
    (old,) = await queue(client, room)
    assert not old["overdue"] and 40 < old["sla_seconds_left"] <= 60  # 120 s SLA

    assert (await put(client, room, {"sla_seconds": 30})).status_code == 200
    (moved,) = await queue(client, room)
    assert moved["overdue"] and -50 < moved["sla_seconds_left"] <= -30
    # overdue items jump up the ranking (scores are rounded to cents: compare with slack)
    assert moved["score"] - old["score"] >= 10 - 0.011
    assert moved["version"] == old["version"] + 1

    await take_in(app, room.stream_id, [("v2", "什么时候发货")])
    new = next(i for i in await queue(client, room) if i["id"] != old["id"])
    due = (_ts(new["sla_due_at"]) - _ts(new["first_at"])).total_seconds()
    assert due == 30 and not new["overdue"]

    # answered items keep their clock; a reopened one starts a fresh clock of the new SLA
    r = await client.post(
        f"/api/v1/streams/{room.stream_id}/queue/{old['id']}/answer",
        json={"text": "包邮"},
        headers=room.svc,
    )
    assert r.status_code == 200, r.text
    assert (await put(client, room, {"sla_seconds": 600})).status_code == 200
    r = await client.post(
        f"/api/v1/streams/{room.stream_id}/queue/{old['id']}/reopen", headers=room.svc
    )
    assert r.status_code == 200, r.text
    assert 580 < r.json()["sla_seconds_left"] <= 600


def _ts(raw: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(raw)


async def test_ranking_puts_an_item_overdue_by_the_stream_sla_first(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    """Under the default SLA the bigger item ranks first; once the stream's SLA makes
    the older small one overdue, it jumps ahead."""
    ninety_s_ago = utcnow() - timedelta(seconds=90)
    await take_in(app, room.stream_id, [IncomingComment("v1", "有运费险吗", ts=ninety_s_ago)])
    await take_in(app, room.stream_id, [(f"w{i}", "尺码怎么选") for i in range(3)])
    ranked = [i["title"] for i in await queue(client, room)]
    assert ranked == ["尺码怎么选", "有运费险吗"]
    assert (await put(client, room, {"sla_seconds": 60})).status_code == 200
    ranked = [(i["title"], i["overdue"]) for i in await queue(client, room)]
    assert ranked == [("有运费险吗", True), ("尺码怎么选", False)]


async def test_order_requests_are_overdue_by_the_stream_sla(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    sid, pid = room.stream_id, room.product_ids[0]
    assert (
        await client.post(f"/api/v1/streams/{sid}/lineup/{pid}/list", headers=room.ctl)
    ).status_code == 200
    orders = f"/api/v1/streams/{sid}/orders"
    r = await client.post(
        orders, json={"product_id": pid, "quantity": 1}, headers=viewer_headers(app, sid, "v1", "k")
    )
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    me = viewer_headers(app, sid, "v1")
    assert (await client.post(f"{orders}/{order_id}/pay", headers=me)).status_code == 200
    r = await client.post(f"{orders}/{order_id}/cancel", json={"reason": "不要了"}, headers=me)
    assert r.json()["request"]["status"] == "pending", r.text
    async with app.state.sessionmaker() as s:
        await s.execute(
            update(OrderRequest)
            .where(OrderRequest.stream_id == sid)
            .values(created_at=utcnow() - timedelta(seconds=60))
        )
        await s.commit()

    async def overdue() -> list[bool]:
        board = await client.get(f"/api/v1/streams/{sid}/queue/board", headers=room.svc)
        return [q["overdue"] for q in board.json()["order_requests"]]

    assert await overdue() == [False]
    assert (await put(client, room, {"sla_seconds": 30})).status_code == 200
    assert await overdue() == [True]


async def test_question_wait_alert_follows_the_stream_sla_unless_thresholds_set_one(
    app: FastAPI,
    client: httpx.AsyncClient,
    room: Room,
    events: EventLog,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    live, sid = app.state.live, room.stream_id
    engine = AlertEngine(thresholds_ttl=0)
    await take_in(
        app, sid, [IncomingComment("v1", "尺码怎么选", ts=utcnow() - timedelta(seconds=75))]
    )
    await observe_live_metrics(engine, sessionmaker, live, sid, {"online": 5}, 0)
    await events.settle()
    assert events.of("alert") == []  # 75 s < the default 120 s SLA

    assert (await put(client, room, {"sla_seconds": 60})).status_code == 200
    await observe_live_metrics(engine, sessionmaker, live, sid, {"online": 5}, 1)
    await events.wait_for("alert")
    alert = events.of("alert")[0]["data"]
    assert alert["kind"] == "question_wait"
    assert alert["data"]["limit_seconds"] == 60 and alert["data"]["waiting_seconds"] >= 75

    # an explicit alert threshold wins over the SLA: the condition stops
    r = await client.put(
        f"/api/v1/streams/{sid}/alert-thresholds",
        json={"question_wait_seconds": 600},
        headers=room.ctl,
    )
    assert r.status_code == 200 and r.json()["question_wait_seconds"] == 600
    await observe_live_metrics(engine, sessionmaker, live, sid, {"online": 5}, 2)
    await events.wait_for("alert.resolved")


async def test_the_host_is_cued_at_the_stream_threshold(
    app: FastAPI, client: httpx.AsyncClient, room: Room, events: EventLog
) -> None:
    await take_in(app, room.stream_id, [(f"v{i}", "尺码怎么选") for i in range(3)])
    await events.settle(0.1)
    assert events.of("cue") == []  # 3 < the default 10

    assert (await put(client, room, {"cue_threshold": 4})).status_code == 200
    await take_in(app, room.stream_id, [("v9", "尺码怎么选")])
    await events.wait_for("cue")
    assert events.of("cue")[0]["data"]["text"].startswith("4 位观众在问")
    assert events.of("cue")[0]["data"]["asker_count"] == 4
