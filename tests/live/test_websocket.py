"""The live websocket against a real uvicorn server, on both backends."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.realtime.outbox import PendingEvent
from app.realtime.protocol import PUBLIC_ROLES
from tests.conftest import TEST_PASSWORD
from tests.live.helpers import add_product, live_of, live_stream, send, team_member


async def _token(client: httpx.AsyncClient, admin: dict[str, str], name: str, role: str) -> str:
    r = await client.post(
        "/api/v1/users",
        json={"username": name, "password": TEST_PASSWORD, "role": role},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/auth/login", json={"username": name, "password": TEST_PASSWORD})
    return str(r.json()["access_token"])


async def _next(ws: ClientConnection, want: str | None = None) -> Any:
    """The next message (of type `want`, skipping others such as metrics)."""
    async with asyncio.timeout(10):
        while True:
            msg = orjson.loads(await ws.recv())
            if want is None or msg["type"] == want:
                return msg


async def _close_code(url: str) -> int | None:
    async with connect(url) as ws:
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 3)
    rcvd = info.value.rcvd
    return rcvd.code if rcvd else None


@pytest.fixture
async def setup(served: tuple[FastAPI, str]) -> Any:
    app, addr = served
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        stream_id, key, admin = await live_stream(app, client)
        yield app, addr, client, stream_id, key, admin


async def test_token_checks_close_4401_and_4403(setup: Any) -> None:
    _, addr, client, stream_id, _, admin = setup
    base = f"ws://{addr}/ws/streams/{stream_id}"
    assert await _close_code(base) == 4401
    assert await _close_code(base + "?token=garbage") == 4401
    outsider = await _token(client, admin, "ws_outsider", "controller")
    assert await _close_code(f"{base}?token={outsider}") == 4403
    assert await _close_code(f"ws://{addr}/ws/streams/999999?token={outsider}") == 4403
    # a viewer token does not open a staff console
    r = await client.post(f"/api/v1/streams/{stream_id}/viewers")
    assert await _close_code(f"{base}?token={r.json()['viewer_token']}") == 4401


async def test_snapshot_then_metrics_and_role_filtered_events(setup: Any) -> None:
    app, addr, client, stream_id, key, admin = setup
    pid = await add_product(app, stream_id, f"WS-{stream_id}", allotted=5)
    # This test counts every event; keep the ticker's alerts (e.g. stock low) out of it.
    r = await client.put(
        f"/api/v1/streams/{stream_id}/alert-thresholds", json={"enabled": False}, headers=admin
    )
    assert r.status_code == 200, r.text
    ctl = await team_member(client, admin, stream_id, "ws_ctl", "controller")
    host = await team_member(client, admin, stream_id, "ws_host", "host")
    live = live_of(app)
    async with (
        connect(f"ws://{addr}/ws/streams/{stream_id}?token={ctl}") as c_ws,
        connect(f"ws://{addr}/ws/streams/{stream_id}?token={host}") as h_ws,
    ):
        snap = await _next(c_ws)
        assert snap["type"] == "snapshot" and isinstance(snap["seq"], int)
        assert snap["stream"]["id"] == stream_id and snap["stream"]["live"] is True
        row = snap["lineup"][0]  # as GET /lineup answers it
        assert row["product_id"] == pid and row["allotted_stock"] - row["sold_units"] == 5
        assert snap["metrics"]["likes"] == 0 and snap["resumed"] is False
        assert (await _next(h_ws))["type"] == "snapshot"

        r = await send(
            client,
            stream_id,
            key,
            [
                {"type": "like", "user_id": "a"},
                # a connector's sale (order_id): an order that takes 2 units
                {
                    "type": "order_created",
                    "user_id": "a",
                    "product_id": pid,
                    "quantity": 2,
                    "order_id": "P-1",
                },
            ],
        )
        assert r.status_code == 202
        stock: Any = None
        m: Any = None
        async with asyncio.timeout(3):
            # the stock event goes out on commit, the metrics on the next tick
            while stock is None or m is None or m["metrics"]["likes"] != 1:
                msg = await _next(c_ws)
                if msg["type"] == "stock.changed":
                    stock = msg
                elif msg["type"] == "metrics":
                    m = msg
        assert m["metrics"]["orders"] == 1 and m["metrics"]["products"][0]["stock_left"] == 3
        assert stock["data"] == {
            "product_id": pid,
            "stock_left": 3,
            "allotted_stock": 5,
            "sold_units": 2,
        }

        await live.publish_event(PendingEvent(stream_id, "cue", {"text": "讲尺码"}))
        await live.publish_event(
            PendingEvent(stream_id, "alert", {"text": "后台"}, frozenset({"controller"}))
        )
        await live.publish_event(PendingEvent(stream_id, "product.listed", {"product_id": pid}))
        got = [await _next(c_ws, t) for t in ("cue", "alert", "product.listed")]
        seqs = [stock["seq"]] + [g["seq"] for g in got]
        assert seqs == list(range(seqs[0], seqs[0] + 4))  # gap-free, increasing
        # the host sees the cue and the listing, not the controller-only alert
        host_types: list[str] = []
        async with asyncio.timeout(3):
            while len(host_types) < 3:
                msg = orjson.loads(await h_ws.recv())
                if "seq" in msg and msg["type"] != "snapshot":
                    host_types.append(msg["type"])
        assert host_types == ["stock.changed", "cue", "product.listed"]

        await c_ws.send(orjson.dumps({"type": "ping"}).decode())
        assert (await _next(c_ws, "pong"))["type"] == "pong"


async def test_resume_replays_missed_events_after_the_snapshot(setup: Any) -> None:
    app, addr, client, stream_id, _, admin = setup
    ctl = await team_member(client, admin, stream_id, "ws_ctl2", "controller")
    live = live_of(app)
    await live.publish_event(PendingEvent(stream_id, "cue", {"n": 0}))
    url = f"ws://{addr}/ws/streams/{stream_id}?token={ctl}"
    async with connect(url) as ws:
        first = await _next(ws)
        seen, epoch = first["seq"], first["epoch"]
    await live.publish_event(PendingEvent(stream_id, "cue", {"n": 1}))
    await live.publish_event(PendingEvent(stream_id, "cue", {"n": 2}))
    async with connect(f"{url}&since={epoch}:{seen}") as ws:
        snap = await _next(ws)
        assert snap["resumed"] is True and snap["seq"] == seen + 2 and snap["epoch"] == epoch
        missed = [await _next(ws, "cue"), await _next(ws, "cue")]
        assert [(m["seq"], m["data"]["n"]) for m in missed] == [(seen + 1, 1), (seen + 2, 2)]
        await live.publish_event(PendingEvent(stream_id, "cue", {"n": 3}))
        assert (await _next(ws, "cue"))["seq"] == seen + 3
    # a since older than the bounded history: a fresh snapshot, not a resume
    live.bus.history_size = 2
    for n in range(4):
        await live.publish_event(PendingEvent(stream_id, "cue", {"n": 10 + n}))
    async with connect(f"{url}&since={epoch}:1") as ws:
        assert (await _next(ws))["resumed"] is False
    # another epoch (the counter restarted meanwhile), or no epoch at all: not a resume
    for since in (f"0{epoch[1:]}:{seen}", str(seen), "garbage", f"{epoch}:x"):
        async with connect(f"{url}&since={since}") as ws:
            assert (await _next(ws))["resumed"] is False


async def test_viewer_socket_sees_public_events_only(setup: Any) -> None:
    app, addr, client, stream_id, _, _ = setup
    live = live_of(app)
    r = await client.post(f"/api/v1/streams/{stream_id}/viewers")
    assert r.status_code == 201
    token = r.json()["viewer_token"]
    r2 = await client.post(f"/api/v1/streams/{stream_id}/viewers")
    other = await client.post(f"/api/v1/streams/{stream_id}/viewers")
    assert r2.json()["viewer_id"] != other.json()["viewer_id"]
    async with connect(f"ws://{addr}/ws/streams/{stream_id}/watch?token={token}") as ws:
        snap = await _next(ws)
        assert set(snap["metrics"]) == {"online", "viewers", "likes"}
        assert "lineup" not in snap
        await live.publish_event(PendingEvent(stream_id, "cue", {"text": "staff only"}))
        await live.publish_event(PendingEvent(stream_id, "product.listed", {}, PUBLIC_ROLES))
        msg = await _next(ws, None)
        while msg["type"] == "metrics":
            msg = await _next(ws, None)
        assert msg["type"] == "product.listed"
        hdr = {"Authorization": f"Bearer {token}"}
        r = await client.post(
            f"/api/v1/streams/{stream_id}/viewer-events",
            json={"type": "viewer_join", "source": "feed"},
            headers=hdr,
        )
        assert r.status_code == 202
        m = await _next(ws, "metrics")
        while m["metrics"]["online"] != 1:
            m = await _next(ws, "metrics")
        assert set(m["metrics"]) == {"online", "viewers", "likes"}


async def test_a_console_that_does_not_read_is_disconnected(setup: Any) -> None:
    app, addr, client, stream_id, _, admin = setup
    ctl = await team_member(client, admin, stream_id, "ws_slow", "controller")
    live = live_of(app)
    reader, writer = await asyncio.open_connection(*addr.split(":"))
    try:
        # a raw client that completes the handshake and then never reads
        writer.write(
            (
                f"GET /ws/streams/{stream_id}?token={ctl} HTTP/1.1\r\nHost: {addr}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
        hub = live.hub
        assert hub is not None
        async with asyncio.timeout(10):
            while hub.connection_count(stream_id) == 0:  # noqa: ASYNC110 - polling server state
                await asyncio.sleep(0.02)
        blob = "x" * 60_000
        for i in range(800):
            await live.publish_event(PendingEvent(stream_id, "cue", {"i": i, "blob": blob}))
            if hub.connection_count(stream_id) == 0:
                break
        async with asyncio.timeout(10):
            while hub.connection_count(stream_id) != 0:  # noqa: ASYNC110 - polling server state
                await asyncio.sleep(0.02)
    finally:
        writer.close()
