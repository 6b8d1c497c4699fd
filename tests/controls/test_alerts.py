"""Alerts through the API and the engine: thresholds, stock alerts, once per episode."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Alert
from app.services.alerts import AlertEngine, Metrics, observe_live_metrics
from tests.controls.conftest import EventLog, Room


async def test_thresholds_default_set_validated_and_role_checked(
    client: httpx.AsyncClient, room: Room
) -> None:
    url = f"/api/v1/streams/{room.stream_id}/alert-thresholds"
    r = await client.get(url, headers=room.host)
    assert r.status_code == 200
    assert r.json()["is_default"] is True and r.json()["online_drop_pct"] == 30
    r = await client.put(
        url,
        json={"stock_low_units": 5, "stock_low_pct": 0, "online_drop_pct": 40},
        headers=room.ctl,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["is_default"] is False and body["stock_low_units"] == 5
    assert body["question_wait_seconds"] is None  # left out → follows the queue's SLA
    for bad in (
        {"online_drop_pct": 101},
        {"stock_low_units": -1},
        {"click_spike_factor": "a lot"},
        {"unknown": 1},
        {"click_window_seconds": 0},
    ):
        r = await client.put(url, json=bad, headers=room.ctl)
        assert r.status_code == 422, bad
    for headers in (room.host, room.svc, room.analyst):
        r = await client.put(url, json={"stock_low_units": 99}, headers=headers)
        assert r.status_code == 403
    assert (await client.get(url, headers=room.ctl)).json()["stock_low_units"] == 5


async def test_stock_changes_raise_low_and_sold_out_once_and_restock_resolves(
    client: httpx.AsyncClient, room: Room, events: EventLog
) -> None:
    base = f"/api/v1/streams/{room.stream_id}"
    p1 = room.product_ids[0]
    await client.put(
        f"{base}/alert-thresholds",
        json={"stock_low_units": 5, "stock_low_pct": 0},
        headers=room.ctl,
    )
    stock = f"{base}/lineup/{p1}/stock"
    # not listed yet: no stock alert for a product that is not on sale
    await client.post(stock, json={"allotted_stock": 3, "reason": "盘点"}, headers=room.ctl)
    assert (await client.get(f"{base}/alerts", headers=room.ctl)).json() == []
    await client.post(f"{base}/lineup/{p1}/list", headers=room.ctl)  # listed with 3 left
    await client.post(stock, json={"delta": -1, "reason": "破损"}, headers=room.ctl)
    await client.post(stock, json={"delta": -2, "reason": "破损"}, headers=room.ctl)
    await events.wait_for("alert", count=2)
    alerts = (await client.get(f"{base}/alerts?open=true", headers=room.host)).json()
    assert [(a["kind"], a["data"]["stock_left"]) for a in alerts] == [
        ("sold_out", 0),
        ("stock_low", 3),
    ]
    assert [m["data"]["kind"] for m in events.of("alert")] == ["stock_low", "sold_out"]
    assert [m["data"]["code"] for m in events.of("alert")] == ["alert.stock_low", "alert.sold_out"]
    # worded by code with the product's name, in the Accept-Language (zh-CN default)
    name = (await client.get(f"/api/v1/products/{p1}", headers=room.ctl)).json()["name"]
    assert alerts[0]["code"] == "alert.sold_out" and alerts[0]["params"]["product"] == name
    assert alerts[0]["message"] == f"已售罄：{name}，考虑下架或补货"
    en = (
        await client.get(f"{base}/alerts?open=true", headers={**room.host, "Accept-Language": "en"})
    ).json()
    assert en[0]["message"] == f"Sold out: {name} — delist it or add stock"
    assert events.of("alert")[0]["roles"] == ["admin", "controller", "host"]

    await client.post(stock, json={"delta": 100, "reason": "补货"}, headers=room.ctl)
    await events.wait_for("alert.resolved", count=2)
    assert (await client.get(f"{base}/alerts?open=true", headers=room.ctl)).json() == []
    # a new episode after the restock: raised again
    await client.post(stock, json={"allotted_stock": 4, "reason": "调拨"}, headers=room.ctl)
    await events.wait_for("alert", count=3)
    everything = (await client.get(f"{base}/alerts", headers=room.ctl)).json()
    assert [(a["kind"], a["resolved_at"] is None) for a in everything] == [
        ("stock_low", True),
        ("sold_out", False),
        ("stock_low", False),
    ]
    # delisting ends the episode; the host may acknowledge, the service agent may not
    r = await client.post(f"{base}/alerts/{everything[0]['id']}/ack", headers=room.svc)
    assert r.status_code == 403
    r = await client.post(f"{base}/alerts/{everything[0]['id']}/ack", headers=room.host)
    assert r.status_code == 200 and r.json()["acked_at"] is not None
    assert (await client.post(f"{base}/alerts/999999/ack", headers=room.host)).status_code == 404
    await client.post(f"{base}/lineup/{p1}/delist", headers=room.ctl)
    assert (await client.get(f"{base}/alerts?open=true", headers=room.ctl)).json() == []


async def test_two_engines_on_one_stream_raise_each_episode_once(
    app: FastAPI,
    room: Room,
    events: EventLog,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Two instances evaluating the same stream: the open-episode index dedups."""
    live = app.state.live
    one, two = AlertEngine(), AlertEngine()
    points = [
        Metrics(ts=0, online=200),
        Metrics(ts=10, online=200),
        Metrics(ts=20, online=90),
        Metrics(ts=25, online=80),
        Metrics(ts=100, online=80),  # peak left the window: episode over
        Metrics(ts=105, online=20),  # new episode
    ]
    for m in points:
        await one.observe(sessionmaker, live, room.stream_id, m)
        await two.observe(sessionmaker, live, room.stream_id, m)
    await events.wait_for("alert", count=2)
    await events.settle()
    assert [m["data"]["kind"] for m in events.of("alert")] == ["online_drop", "online_drop"]
    assert len(events.of("alert.resolved")) == 1
    async with sessionmaker() as s:
        rows = (await s.scalars(select(Alert).where(Alert.stream_id == room.stream_id))).all()
    assert len(rows) == 2 and rows[0].resolved_at is not None and rows[1].resolved_at is None
    assert rows[0].data == {"peak": 200, "online": 90, "drop_pct": 55.0}


async def test_live_metrics_sequence_raises_drop_and_click_spike(
    app: FastAPI,
    client: httpx.AsyncClient,
    room: Room,
    events: EventLog,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The ticker's path: contract `metrics` objects in, `alert` events out."""
    p1 = room.product_ids[0]
    await client.post(f"/api/v1/streams/{room.stream_id}/lineup/{p1}/explain", headers=room.ctl)
    engine = AlertEngine()

    def metrics(online: int, clicks: int) -> dict[str, object]:
        product = {"product_id": p1, "clicks": clicks, "stock_left": 100}
        return {"online": online, "products": [product]}

    sequence = [(0, 300, 0), (30, 300, 30), (60, 300, 60), (65, 290, 110), (70, 150, 115)]
    for ts, online, clicks in sequence:
        await observe_live_metrics(
            engine, sessionmaker, app.state.live, room.stream_id, metrics(online, clicks), ts
        )
    await events.wait_for("alert", count=2)
    kinds = [(m["data"]["kind"], m["data"]["key"]) for m in events.of("alert")]
    assert kinds == [("click_spike", f"click_spike:{p1}"), ("online_drop", "online_drop")]
    spike = events.of("alert")[0]["data"]["data"]
    assert spike == {
        "product_id": p1,
        "clicks": 55,
        "window_seconds": 10,
        "baseline_per_minute": 60.0,
    }


async def test_service_queue_feeds_negative_spike_and_question_wait(
    app: FastAPI,
    room: Room,
    events: EventLog,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from datetime import timedelta

    from app.db import utcnow
    from app.models import QueueItem
    from tests.queue.conftest import take_in

    engine = AlertEngine()
    live, sid = app.state.live, room.stream_id
    await observe_live_metrics(engine, sessionmaker, live, sid, {"online": 50}, 0)
    taken = await take_in(app, sid, [(f"v{i}", "太差了，退货") for i in range(12)])
    assert all(c.sentiment == "negative" for c in taken.comments)
    async with sessionmaker() as s:
        s.add(
            QueueItem(
                stream_id=sid,
                kind="question",
                topic="product",
                title="尺码怎么选",
                norm="尺码怎么选",
                first_at=utcnow() - timedelta(seconds=300),
            )
        )
        await s.commit()
    await observe_live_metrics(engine, sessionmaker, live, sid, {"online": 50}, 5)
    await events.wait_for("alert", count=2)
    kinds = sorted(m["data"]["kind"] for m in events.of("alert"))
    assert kinds == ["negative_spike", "question_wait"]
    waited = next(m for m in events.of("alert") if m["data"]["kind"] == "question_wait")
    assert waited["data"]["data"]["waiting_seconds"] >= 300


async def test_negative_spike_fires_from_the_incremental_counter_not_a_row_count(
    app: FastAPI,
    room: Room,
    events: EventLog,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Rows written behind intake's back are not counted (no COUNT per tick); what
    intake commits is, in Redis, where every instance's ticker reads it."""
    from app.models import Comment
    from tests.queue.conftest import take_in

    engine = AlertEngine()
    live, sid = app.state.live, room.stream_id
    await observe_live_metrics(engine, sessionmaker, live, sid, {"online": 50}, 0)
    async with sessionmaker() as s:
        s.add_all(
            Comment(
                stream_id=sid,
                viewer_id=f"raw{i}",
                text="太差了",
                source="ingest",
                kind="complaint",
                topic="none",
                sentiment="negative",
            )
            for i in range(30)
        )
        await s.commit()
    await observe_live_metrics(engine, sessionmaker, live, sid, {"online": 50}, 5)
    await events.settle()
    assert events.of("alert") == []

    for start in (0, 6):  # two batches: the counter adds up across them
        await take_in(app, sid, [(f"v{i}", "什么破快递 太差了") for i in range(start, start + 6)])
    assert await live.comment_counts.negative(sid) == 12
    assert int(await live.redis.get(f"{live.prefix}live:{{{sid}}}:negative_comments")) == 12
    await observe_live_metrics(engine, sessionmaker, live, sid, {"online": 50}, 10)
    await events.wait_for("alert")
    alert = events.of("alert")[0]["data"]
    assert alert["kind"] == "negative_spike"
    assert alert["data"] == {"count": 12, "window_seconds": 60}


async def test_the_live_ticker_raises_an_online_drop_from_ingested_events(
    app: FastAPI,
    client: httpx.AsyncClient,
    room: Room,
    events: EventLog,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """End to end: viewers join and leave through ingest; the ticker's evaluation alerts."""
    from app.realtime.ticker import Ticker
    from tests.live.helpers import ingest_key, send

    sid = room.stream_id
    key = await ingest_key(client, room.ctl, sid)
    joins = [{"type": "viewer_join", "user_id": f"v{i}"} for i in range(100)]
    assert (await send(client, sid, key, joins)).status_code == 202
    ticker = Ticker(app.state.live.hub, sid, sessionmaker, 4.0)
    await ticker.tick()
    leaves = [{"type": "viewer_leave", "user_id": f"v{i}"} for i in range(60)]
    assert (await send(client, sid, key, leaves)).status_code == 202
    ticker._alerts_at = 0.0  # the next tick evaluates at once instead of a second later
    await ticker.tick()
    await events.wait_for("alert")
    alert = events.of("alert")[0]["data"]
    assert alert["kind"] == "online_drop"
    assert alert["data"] == {"peak": 100, "online": 40, "drop_pct": 60.0}
    r = await client.get(f"/api/v1/streams/{sid}/alerts?open=true", headers=room.host)
    assert [a["kind"] for a in r.json()] == ["online_drop"]
