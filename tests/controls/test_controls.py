"""List, delist, explain, stock, cues, incidents: behaviour, events, roles, bad input."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import LineupItem, StreamStatus
from tests.conftest import bearer, login
from tests.controls.conftest import (
    Crew,
    EventLog,
    Room,
    add_lineup,
    make_stream,
    set_sold,
    set_status,
)


def base(room: Room) -> str:
    return f"/api/v1/streams/{room.stream_id}"


async def lineup(maker: async_sessionmaker[AsyncSession], stream_id: int) -> dict[int, LineupItem]:
    async with maker() as s:
        rows = await s.scalars(select(LineupItem).where(LineupItem.stream_id == stream_id))
        return {r.product_id: r for r in rows}


async def test_list_explain_delist_are_logged_and_pushed(
    client: httpx.AsyncClient, room: Room, events: EventLog
) -> None:
    p1, p2, _ = room.product_ids
    r = await client.post(f"{base(room)}/lineup/{p1}/list", headers=room.ctl)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "listed" and r.json()["stock_left"] == 100
    assert r.json()["live_price"] == "59.90"
    r = await client.post(f"{base(room)}/lineup/{p1}/explain", headers=room.ctl)
    assert r.status_code == 200 and r.json()["explaining"] is True
    r = await client.post(f"{base(room)}/lineup/{p1}/delist", headers=room.ctl)
    assert r.status_code == 200
    assert r.json()["status"] == "delisted" and r.json()["explaining"] is False

    await events.wait_for("product.explaining", count=2)
    assert events.types() == [
        "product.listed",
        "product.explaining",
        "product.delisted",
        "product.explaining",
    ]
    seqs = [m["seq"] for m in events.messages]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    # the watch page hears of products too, so nothing internal is in these events
    listed = events.of("product.listed")[0]
    assert listed["roles"] == ["admin", "analyst", "controller", "host", "service", "viewer"]
    assert listed["data"] == {
        "product_id": p1,
        "status": "listed",
        "explaining": False,
        "stock_left": 100,
    }
    assert events.of("product.explaining")[1]["data"] == {
        "product_id": None,
        "previous_product_id": p1,
    }

    log = (await client.get(f"{base(room)}/actions", headers=room.analyst)).json()
    assert [a["action"] for a in log] == ["delist", "explain", "list"]
    assert all(a["actor"] == "ctl" and a["product_id"] == p1 for a in log)
    assert log[0]["detail"] == {"previous": "listed", "stopped_explaining": True}
    # listing twice is a no-op: no new event, no new log entry
    await client.post(f"{base(room)}/lineup/{p2}/list", headers=room.ctl)
    await client.post(f"{base(room)}/lineup/{p2}/list", headers=room.ctl)
    await events.settle()
    assert len(events.of("product.listed")) == 2
    page = (await client.get(f"{base(room)}/actions?limit=2", headers=room.ctl)).json()
    assert [a["action"] for a in page] == ["list", "delist"]
    older = await client.get(f"{base(room)}/actions?before_id={page[-1]['id']}", headers=room.ctl)
    assert [a["action"] for a in older.json()] == ["explain", "list"]


async def test_only_one_product_is_explained_at_a_time(
    client: httpx.AsyncClient,
    room: Room,
    events: EventLog,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    p1, p2, p3 = room.product_ids
    await client.post(f"{base(room)}/lineup/{p1}/explain", headers=room.ctl)
    r = await client.post(f"{base(room)}/lineup/{p2}/explain", headers=room.ctl)
    assert r.status_code == 200 and r.json()["explaining"] is True
    items = await lineup(sessionmaker, room.stream_id)
    assert [pid for pid, it in items.items() if it.explaining] == [p2]
    await events.wait_for("product.explaining", count=2)
    assert events.of("product.explaining")[1]["data"]["previous_product_id"] == p1
    # a delisted product cannot be pinned; a product outside the lineup is 404
    await client.post(f"{base(room)}/lineup/{p3}/delist", headers=room.ctl)
    r = await client.post(f"{base(room)}/lineup/{p3}/explain", headers=room.ctl)
    assert r.status_code == 409 and r.json()["code"] == "delisted"
    r = await client.post(f"{base(room)}/lineup/999999/explain", headers=room.ctl)
    assert r.status_code == 404 and r.json()["code"] == "not_in_lineup"
    items = await lineup(sessionmaker, room.stream_id)
    assert [pid for pid, it in items.items() if it.explaining] == [p2]


async def test_controls_need_a_scheduled_or_live_stream(
    client: httpx.AsyncClient, room: Room, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    p1 = room.product_ids[0]
    await set_status(sessionmaker, room.stream_id, StreamStatus.scheduled)
    r = await client.post(f"{base(room)}/lineup/{p1}/list", headers=room.ctl)
    assert r.status_code == 200  # 预上架 before going live
    for status in (StreamStatus.draft, StreamStatus.ended):
        await set_status(sessionmaker, room.stream_id, status)
        for action in ("delist", "explain"):
            r = await client.post(f"{base(room)}/lineup/{p1}/{action}", headers=room.ctl)
            assert r.status_code == 409 and r.json()["code"] == "stream_not_active", r.text
        r = await client.post(f"{base(room)}/cues", json={"text": "hi"}, headers=room.ctl)
        assert r.status_code == 409
    items = await lineup(sessionmaker, room.stream_id)
    assert items[p1].status == "listed" and not items[p1].explaining
    # an incident may still be logged after the end, not on an archived stream
    r = await client.post(
        f"{base(room)}/incidents", json={"type": "other", "note": "复盘补记"}, headers=room.ctl
    )
    assert r.status_code == 201
    await set_status(sessionmaker, room.stream_id, StreamStatus.archived)
    r = await client.post(
        f"{base(room)}/incidents", json={"type": "other", "note": "x"}, headers=room.ctl
    )
    assert r.status_code == 409 and r.json()["code"] == "stream_closed"


async def test_roles_service_host_analyst_and_other_team_cannot_list(
    client: httpx.AsyncClient,
    room: Room,
    crew: Crew,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    p1 = room.product_ids[0]
    other_ctl = await crew.user("ctl_other", "controller")
    await make_stream(client, other_ctl, "别的场")
    for headers in (room.svc, room.host, room.analyst):
        for action in ("list", "delist", "explain"):
            r = await client.post(f"{base(room)}/lineup/{p1}/{action}", headers=headers)
            assert r.status_code == 403 and r.json()["code"] == "role_forbidden"
        r = await client.post(
            f"{base(room)}/lineup/{p1}/stock", json={"delta": 5, "reason": "x"}, headers=headers
        )
        assert r.status_code == 403
    r = await client.post(f"{base(room)}/lineup/{p1}/list", headers=other_ctl)
    assert r.status_code == 403 and r.json()["code"] == "not_on_team"
    r = await client.post(f"{base(room)}/cues", json={"text": "x"}, headers=other_ctl)
    assert r.status_code == 403
    assert (await client.get(f"{base(room)}/actions", headers=other_ctl)).status_code == 403
    assert (await client.post(f"{base(room)}/lineup/{p1}/list")).status_code == 401
    items = await lineup(sessionmaker, room.stream_id)
    assert items[p1].status == "pending" and items[p1].allotted_stock == 100
    assert (await client.get(f"{base(room)}/actions", headers=room.ctl)).json() == []
    # an admin may act on any stream
    r = await client.post(f"{base(room)}/lineup/{p1}/list", headers=crew.admin)
    assert r.status_code == 200
    assert (
        await client.post("/api/v1/streams/999999/lineup/1/list", headers=crew.admin)
    ).status_code == 404


async def test_adjust_stock_with_reason_and_never_below_sold(
    client: httpx.AsyncClient,
    room: Room,
    events: EventLog,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    p1 = room.product_ids[0]
    url = f"{base(room)}/lineup/{p1}/stock"
    r = await client.post(url, json={"delta": 50, "reason": "补货"}, headers=room.ctl)
    assert r.status_code == 200 and r.json()["allotted_stock"] == 150
    await set_sold(sessionmaker, room.stream_id, p1, 40)
    r = await client.post(url, json={"allotted_stock": 45, "reason": "仓库少了"}, headers=room.ctl)
    assert r.status_code == 200
    assert r.json()["allotted_stock"] == 45 and r.json()["stock_left"] == 5
    r = await client.post(url, json={"delta": -6, "reason": "x"}, headers=room.ctl)
    assert r.status_code == 409 and r.json()["code"] == "below_sold"
    assert r.json()["sold_units"] == 40
    r = await client.post(url, json={"allotted_stock": 39, "reason": "x"}, headers=room.ctl)
    assert r.status_code == 409
    r = await client.post(url, json={"allotted_stock": 40, "reason": "卖完为止"}, headers=room.ctl)
    assert r.status_code == 200 and r.json()["stock_left"] == 0

    for bad in (
        {"reason": "neither"},
        {"delta": 1, "allotted_stock": 5, "reason": "both"},
        {"delta": 0, "reason": "zero"},
        {"allotted_stock": -1, "reason": "negative"},
        {"delta": 5},
        {"delta": 5, "reason": ""},
        {"delta": "lots", "reason": "x"},
        {"delta": 5, "reason": "x", "extra": 1},
    ):
        r = await client.post(url, json=bad, headers=room.ctl)
        assert r.status_code == 422, (bad, r.text)
    r = await client.post(
        f"{base(room)}/lineup/999999/stock", json={"delta": 5, "reason": "x"}, headers=room.ctl
    )
    assert r.status_code == 404
    assert (await lineup(sessionmaker, room.stream_id))[p1].allotted_stock == 40

    await events.wait_for("stock.changed", count=3)
    changes = [m["data"] for m in events.of("stock.changed")]
    assert [(c["before"], c["allotted_stock"], c["reason"]) for c in changes] == [
        (100, 150, "补货"),
        (150, 45, "仓库少了"),
        (45, 40, "卖完为止"),
    ]
    log = (await client.get(f"{base(room)}/actions", headers=room.ctl)).json()
    stock_log = [a["detail"] for a in log if a["action"] == "stock"]
    assert stock_log[0] == {"before": 45, "after": 40, "reason": "卖完为止"}
    assert len(stock_log) == 3


async def test_cues_are_sent_listed_and_acknowledged_by_the_host(
    client: httpx.AsyncClient, room: Room, events: EventLog
) -> None:
    p1 = room.product_ids[0]
    r = await client.post(
        f"{base(room)}/cues",
        json={"text": "讲一下尺码", "priority": "urgent", "product_id": p1},
        headers=room.ctl,
    )
    assert r.status_code == 201, r.text
    cue = r.json()
    assert cue["priority"] == "urgent" and cue["acked_at"] is None
    r = await client.post(f"{base(room)}/cues", json={"text": "很多人问发货时间"}, headers=room.svc)
    assert r.status_code == 201 and r.json()["priority"] == "normal"
    second = r.json()
    await events.wait_for("cue", count=2)
    assert events.of("cue")[0]["data"]["text"] == "讲一下尺码"

    open_cues = (await client.get(f"{base(room)}/cues", headers=room.host)).json()
    assert [c["id"] for c in open_cues] == [second["id"], cue["id"]]
    r = await client.post(f"{base(room)}/cues/{cue['id']}/ack", headers=room.host)
    assert r.status_code == 200 and r.json()["acked_at"] is not None
    first_ack = r.json()["acked_at"]
    r = await client.post(f"{base(room)}/cues/{cue['id']}/ack", headers=room.host)
    assert r.json()["acked_at"] == first_ack
    await events.wait_for("cue.acked")
    open_cues = (await client.get(f"{base(room)}/cues", headers=room.host)).json()
    assert [c["id"] for c in open_cues] == [second["id"]]
    everything = (await client.get(f"{base(room)}/cues?open=false", headers=room.host)).json()
    assert len(everything) == 2

    # the host and the analyst do not send cues; the service agent does not ack them
    for headers in (room.host, room.analyst):
        r = await client.post(f"{base(room)}/cues", json={"text": "x"}, headers=headers)
        assert r.status_code == 403
    r = await client.post(f"{base(room)}/cues/{second['id']}/ack", headers=room.svc)
    assert r.status_code == 403
    for bad in (
        {"text": ""},
        {"text": "x", "priority": "critical"},
        {"text": "x" * 501},
        {"priority": "high"},
    ):
        r = await client.post(f"{base(room)}/cues", json=bad, headers=room.ctl)
        assert r.status_code == 422, bad
    r = await client.post(
        f"{base(room)}/cues", json={"text": "x", "product_id": 999999}, headers=room.ctl
    )
    assert r.status_code == 404 and r.json()["code"] == "not_in_lineup"
    r = await client.post(f"{base(room)}/cues/999999/ack", headers=room.host)
    assert r.status_code == 404
    assert len((await client.get(f"{base(room)}/cues?open=false", headers=room.ctl)).json()) == 2


async def test_incidents_are_logged_and_resolved_with_who_and_when(
    client: httpx.AsyncClient, room: Room, events: EventLog, crew: Crew
) -> None:
    r = await client.post(
        f"{base(room)}/incidents",
        json={"type": "technical", "note": "推流卡顿"},
        headers=room.ctl,
    )
    assert r.status_code == 201, r.text
    incident = r.json()
    assert incident["resolved"] is False and incident["created_by"] == crew.ids["ctl"]
    r = await client.post(
        f"{base(room)}/incidents",
        json={"type": "host", "note": "口误：价格说错"},
        headers=room.host,
    )
    assert r.status_code == 201
    r = await client.post(
        f"{base(room)}/incidents/{incident['id']}/resolve",
        json={"resolution": "切换备用网络"},
        headers=room.host,
    )
    assert r.status_code == 200
    done = r.json()
    assert done["resolved"] and done["resolved_by"] == crew.ids["host"]
    assert done["resolved_at"] >= done["created_at"] and done["resolution"] == "切换备用网络"
    r = await client.post(
        f"{base(room)}/incidents/{incident['id']}/resolve", json={}, headers=room.ctl
    )
    assert r.status_code == 409 and r.json()["code"] == "already_resolved"
    await events.wait_for("incident.resolved")
    assert events.types().count("incident.opened") == 2

    everything = (await client.get(f"{base(room)}/incidents", headers=room.analyst)).json()
    assert [i["type"] for i in everything] == ["host", "technical"]
    still_open = (await client.get(f"{base(room)}/incidents?open=true", headers=room.svc)).json()
    assert [i["type"] for i in still_open] == ["host"]

    for bad in ({"type": "weather", "note": "x"}, {"type": "other"}, {"type": "other", "note": ""}):
        r = await client.post(f"{base(room)}/incidents", json=bad, headers=room.ctl)
        assert r.status_code == 422, bad
    for headers in (room.svc, room.analyst):
        r = await client.post(
            f"{base(room)}/incidents", json={"type": "other", "note": "x"}, headers=headers
        )
        assert r.status_code == 403
    assert (
        await client.post(f"{base(room)}/incidents/999999/resolve", json={}, headers=room.ctl)
    ).status_code == 404
    assert len((await client.get(f"{base(room)}/incidents", headers=room.ctl)).json()) == 2


async def test_concurrent_explains_leave_exactly_one_product_explained(
    committed_app: FastAPI, committed_client: httpx.AsyncClient
) -> None:
    """Ten controllers' clicks race on separate connections: one card stays pinned."""
    admin = bearer(await login(committed_client, "admin"))
    sid = await make_stream(committed_client, admin, f"race-{uuid.uuid4().hex[:6]}")
    maker = committed_app.state.sessionmaker
    pids = await add_lineup(maker, sid, n=10)
    await set_status(maker, sid, StreamStatus.live)
    for _ in range(3):
        results = await asyncio.gather(
            *(
                committed_client.post(f"/api/v1/streams/{sid}/lineup/{pid}/explain", headers=admin)
                for pid in pids
            )
        )
        assert all(r.status_code == 200 for r in results), [r.text for r in results]
        items = await lineup(maker, sid)
        assert sum(it.explaining for it in items.values()) == 1


async def test_orders_follow_listing_and_stock_changes(
    app: FastAPI, client: httpx.AsyncClient, room: Room
) -> None:
    """The order path's Redis copy of the stock moves with the controller's actions."""
    from tests.orders.helpers import viewer_headers

    p1 = room.product_ids[0]
    url = f"{base(room)}/orders"

    async def order(viewer: str) -> httpx.Response:
        headers = viewer_headers(app, room.stream_id, viewer, uuid.uuid4().hex)
        return await client.post(url, json={"product_id": p1, "quantity": 1}, headers=headers)

    r = await order("v0")
    assert r.status_code == 409 and r.json()["code"] == "not_listed"
    await client.post(f"{base(room)}/lineup/{p1}/list", headers=room.ctl)
    await client.post(
        f"{base(room)}/lineup/{p1}/stock",
        json={"allotted_stock": 1, "reason": "x"},
        headers=room.ctl,
    )
    assert (await order("v1")).status_code == 201
    r = await order("v2")
    assert r.status_code == 409 and r.json()["code"] == "sold_out"
    r = await client.post(
        f"{base(room)}/lineup/{p1}/stock", json={"delta": -1, "reason": "x"}, headers=room.ctl
    )
    assert r.status_code == 409 and r.json()["code"] == "below_sold"
    await client.post(
        f"{base(room)}/lineup/{p1}/stock", json={"delta": 1, "reason": "补货"}, headers=room.ctl
    )
    assert (await order("v2")).status_code == 201
    await client.post(
        f"{base(room)}/lineup/{p1}/stock", json={"delta": 5, "reason": "补货"}, headers=room.ctl
    )
    await client.post(f"{base(room)}/lineup/{p1}/delist", headers=room.ctl)
    r = await order("v3")
    assert r.status_code == 409 and r.json()["code"] == "not_listed"
    await client.post(f"{base(room)}/lineup/{p1}/list", headers=room.ctl)
    assert (await order("v3")).status_code == 201


async def test_a_reconnecting_console_gets_controls_state_in_its_snapshot(
    app: FastAPI,
    client: httpx.AsyncClient,
    room: Room,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from app.models import Stream
    from app.realtime.snapshot import SnapshotContext, build_snapshot

    p1 = room.product_ids[0]
    await client.post(f"{base(room)}/cues", json={"text": "讲尺码"}, headers=room.ctl)
    await client.post(
        f"{base(room)}/incidents", json={"type": "technical", "note": "卡顿"}, headers=room.ctl
    )
    await client.post(f"{base(room)}/lineup/{p1}/list", headers=room.ctl)
    await client.post(
        f"{base(room)}/lineup/{p1}/stock",
        json={"allotted_stock": 3, "reason": "x"},
        headers=room.ctl,
    )
    body = {"prize": "杯子", "winners_count": 1, "condition": "follow", "duration_seconds": 60}
    await client.post(f"{base(room)}/lotteries", json=body, headers=room.ctl)

    async def snapshot(audience: str) -> dict[str, Any]:
        async with sessionmaker() as s:
            stream = await s.get(Stream, room.stream_id)
            assert stream is not None
            ctx = SnapshotContext(session=s, live=app.state.live, stream=stream, audience=audience)
            return await build_snapshot(ctx, 1)

    host = await snapshot("host")
    assert [c["text"] for c in host["cues"]] == ["讲尺码"]
    assert [i["note"] for i in host["incidents"]] == ["卡顿"]
    assert [a["kind"] for a in host["alerts"]] == ["stock_low"]
    assert host["segment"] == {  # as GET /segments/current answers it
        "current": None,
        "next": None,
        "previous": None,
        "started_at": None,
        "elapsed_seconds": None,
        "remaining_seconds": None,
        "total_segments": 0,
    }
    viewer = await snapshot("viewer")
    assert "cues" not in viewer and "alerts" not in viewer and "incidents" not in viewer
    lotteries = viewer["lotteries"]
    assert [x["prize"] for x in lotteries] == ["杯子"]
    assert lotteries[0]["seed"] is None
