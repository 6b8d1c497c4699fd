"""Slow and hostile consoles (issue 15, point 5) against a real uvicorn server.

* A console that stops reading is closed 4408 once one send has not gone out for
  SEND_TIMEOUT_SECONDS, even with far fewer undelivered events than the queue bound,
  and 1,000 healthy consoles meanwhile get every event in time.
* Opens that fail are limited per address; a check (token, snapshot) that takes too
  long is cut short with 4408.
"""

from __future__ import annotations

import asyncio
import socket
import time
import traceback
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.realtime import hub as hub_module
from app.realtime.guard import UpgradeGuard
from app.realtime.outbox import PendingEvent
from app.routers import live as live_router
from tests.live.helpers import live_of, live_stream, team_member

pytestmark = pytest.mark.slow

HEALTHY = 1000
STALLED = 50
CONSOLES = 40  # opening together (a reconnect storm)


@pytest.fixture
async def setup(served: tuple[FastAPI, str]) -> Any:
    app, addr = served
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        stream_id, _, admin = await live_stream(app, client)
        yield app, addr, client, stream_id, admin


async def _stalled_socket(addr: str, path: str) -> tuple[socket.socket, asyncio.StreamWriter]:
    """A client that completes the upgrade and then never reads (a tiny receive window,
    so the server's buffers fill after a few hundred KiB)."""
    host, port = addr.split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert b" 101 " in head
    return sock, writer


async def test_stalled_consoles_closed_4408_healthy_ones_keep_up(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, addr, client, stream_id, admin = setup
    monkeypatch.setattr(hub_module, "SEND_TIMEOUT_SECONDS", 1.0)
    # opening 1,000 consoles at once on the test machine is slow (issue 15, point 3):
    # not what this test is about
    monkeypatch.setattr(live_router, "HANDSHAKE_TIMEOUT_SECONDS", 300.0)
    live = live_of(app)
    hub = live.hub
    assert hub is not None
    ctl = await team_member(client, admin, stream_id, "stall_ctl", "controller")
    host = await team_member(client, admin, stream_id, "stall_host", "host")
    latencies: list[float] = []
    got: list[int] = []
    opened = asyncio.Event()

    closes: list[Any] = []

    async def read(i: int, ws: Any) -> None:
        try:
            async for raw in ws:  # from the start: a console that does not read is stalled
                msg = orjson.loads(raw)
                if msg["type"] == "cue":
                    latencies.append(time.time() - msg["data"]["sent"])
                    got[i] += 1
                    if got[i] == 40:
                        return
        finally:
            if got[i] != 40:
                closes.append((ws.close_code, ws.close_reason))

    url = f"ws://{addr}/ws/streams/{stream_id}?token={host}"
    healthy: list[Any] = []
    readers = []
    for i in range(0, HEALTHY, 100):  # open in waves (the test machine is small)
        wave = await asyncio.gather(
            *(connect(url, open_timeout=60, max_size=None) for _ in range(min(100, HEALTHY - i)))
        )
        for ws in wave:
            got.append(0)
            readers.append(asyncio.create_task(read(len(healthy), ws)))
            healthy.append(ws)
    opened.set()

    def open_healthy() -> int:
        ch = hub._channels.get(stream_id)
        return sum(c.audience == "host" for c in ch.connections) if ch else 0

    async with asyncio.timeout(60):
        while open_healthy() < HEALTHY:
            assert not closes, closes[:5]
            await asyncio.sleep(0.05)
    print(f"{HEALTHY} consoles open")
    # then the stalled ones (uvicorn's own keepalive would close them after ~40 s)
    stalled = [
        await _stalled_socket(addr, f"/ws/streams/{stream_id}?token={ctl}") for _ in range(STALLED)
    ]
    async with asyncio.timeout(30):
        while hub.connection_count(stream_id) < HEALTHY + STALLED:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    stalled_conns = [c for c in hub._channels[stream_id].connections if c.audience != "host"]
    assert len(stalled_conns) == STALLED
    blob = "x" * 64_000
    # 60 big events for the controllers only (~3.8 MB each: fills any socket buffer,
    # far below MAX_PENDING_EVENTS), 40 small ones for everybody, interleaved
    for n in range(60):
        await live.publish_event(
            PendingEvent(stream_id, "alert", {"blob": blob}, frozenset({"controller"}))
        )
        if n % 3 == 0 and n // 3 < 40:
            await live.publish_event(PendingEvent(stream_id, "cue", {"sent": time.time()}))
        await asyncio.sleep(0.02)
    for _ in range(20, 40):
        await live.publish_event(PendingEvent(stream_id, "cue", {"sent": time.time()}))
        await asyncio.sleep(0.02)
    async with asyncio.timeout(60):
        await asyncio.gather(*readers)
    # every stalled console was closed 4408, every healthy one got every event
    async with asyncio.timeout(15):
        while hub.connection_count(stream_id) > HEALTHY:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert {c.close_with[0] if c.close_with else None for c in stalled_conns} == {4408}
    assert got == [40] * len(healthy)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)]
    print(f"healthy consoles' delivery p99: {p99 * 1000:.0f} ms over {len(latencies)}")
    assert p99 < 2.0
    for ws in healthy:
        await ws.close()
    for sock, writer in stalled:
        writer.close()
        sock.close()


async def test_failed_opens_are_limited_per_address(setup: Any) -> None:
    app, addr, _, stream_id, _ = setup
    base = f"ws://{addr}/ws/streams/{stream_id}"
    codes = []
    for _ in range(40):
        try:
            async with connect(f"{base}?token=garbage") as ws:
                with pytest.raises(ConnectionClosed) as info:
                    await asyncio.wait_for(ws.recv(), 5)
                codes.append(info.value.rcvd.code if info.value.rcvd else None)
        except InvalidStatus as exc:
            codes.append(exc.response.status_code)
    # the first ones are checked and refused (4401), then the address is refused at the
    # upgrade, without any work (HTTP 403)
    assert codes[:30] == [4401] * 30 and codes[30:] == [403] * 10
    guard: UpgradeGuard = _guard(app)
    assert guard.refused >= 10 and not guard.pending


async def test_a_slow_handshake_is_cut_short(setup: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, addr, client, stream_id, admin = setup
    host = await team_member(client, admin, stream_id, "slow_host", "host")
    url = f"ws://{addr}/ws/streams/{stream_id}?token={host}"
    monkeypatch.setattr(live_router, "HANDSHAKE_TIMEOUT_SECONDS", 0.0)
    closed: Any = None
    try:
        async with connect(url) as ws:
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            closed = info.value.rcvd.code if info.value.rcvd else None
    except InvalidStatus as exc:  # cut short before the upgrade was even accepted
        closed = exc.response.status_code
    assert closed in (4408, 403)
    hub = live_of(app).hub
    assert hub is not None and hub.connection_count(stream_id) == 0
    assert not _guard(app).pending
    monkeypatch.setattr(live_router, "HANDSHAKE_TIMEOUT_SECONDS", 10.0)
    async with connect(url) as ws:  # with time enough, the same console opens
        assert orjson.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "snapshot"


def test_guard_caps_unauthenticated_sockets_per_address() -> None:
    guard = UpgradeGuard(max_pending=3, max_failures=2, window=60)
    assert all(guard.admit("1.2.3.4", False) for _ in range(3))
    assert not guard.admit("1.2.3.4", False)  # three are still being checked
    assert guard.admit("1.2.3.4", True)  # a signed token is not held to the cap
    assert guard.admit("5.6.7.8", False)  # another address is not affected
    guard.done("1.2.3.4", True)  # the signed one and one other passed their check
    guard.done("1.2.3.4", True)
    assert guard.admit("1.2.3.4", False)
    guard.done("1.2.3.4", False)
    guard.done("1.2.3.4", False)
    assert not guard.admit("1.2.3.4", True)  # two failures: refused for the window
    assert guard.pending == {"1.2.3.4": 1, "5.6.7.8": 1}


def _guard(app: FastAPI) -> UpgradeGuard:
    """The LiveSockets middleware's guard, found in the built middleware stack."""
    layer: Any = app.middleware_stack
    while layer is not None:
        if isinstance(layer, live_router.LiveSockets):
            return layer.guard
        layer = getattr(layer, "app", None)
    raise AssertionError("LiveSockets not in the middleware stack")


async def test_consoles_opening_together_share_one_snapshot(setup: Any) -> None:
    """A reconnect storm: the consoles that open while a snapshot of the same stream,
    audience and position is being built wait for it instead of building their own, a
    console opening just after gets it too, and none of them opens a database session
    of its own (one shared check of the token's user and role, one shared build)."""
    from app.realtime import snapshot as snapshot_module

    app, addr, client, stream_id, admin = setup
    host = await team_member(client, admin, stream_id, "storm_host", "host")
    hub = live_of(app).hub
    assert hub is not None
    release = asyncio.Event()
    calls = 0

    async def _probe(ctx: Any) -> int:
        nonlocal calls
        calls += 1
        await release.wait()  # the build is slow: everybody else arrives meanwhile
        return calls

    workers = live_of(app).workers
    parts = workers.snapshot_parts
    workers.snapshot_parts = (*parts, snapshot_module.part("storm_probe", _probe, {"host"}))

    engine = app.state.sessionmaker.kw["bind"]
    checkouts: list[str] = []

    def _count(*_args: Any) -> None:
        # Only the consoles' own checkouts: the app's background workers (outbox
        # relay, projection, tickers, revocation check) may use the pool meanwhile.
        stack = "".join(traceback.format_stack())
        if "app/routers/live.py" in stack:
            checkouts.append(stack)

    try:
        # Adding the member published an event that the relay may not have numbered
        # yet: wait until the stream's position holds still, so every console below
        # asks for the snapshot at the same position (a CI run built two otherwise).
        live = live_of(app)
        position = await live.position(stream_id)
        async with asyncio.timeout(20):
            while True:
                await asyncio.sleep(0.3)
                now = await live.position(stream_id)
                if now == position:
                    break
                position = now
        url = f"ws://{addr}/ws/streams/{stream_id}?token={host}"
        event.listen(engine.sync_engine.pool, "checkout", _count)
        try:
            sockets = await asyncio.gather(*(connect(url) for _ in range(CONSOLES)))
            async with asyncio.timeout(20):
                while hub.connection_count(stream_id) < CONSOLES:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            builds_before = hub.snapshot_builds
            release.set()
            snaps = [orjson.loads(await asyncio.wait_for(ws.recv(), 20)) for ws in sockets]
            # a console opening right after gets the same snapshot (same position)
            async with connect(url) as soon:
                again = orjson.loads(await asyncio.wait_for(soon.recv(), 20))
        finally:
            event.remove(engine.sync_engine.pool, "checkout", _count)
        assert calls == 1 and hub.snapshot_builds == builds_before + 1
        assert {(s["type"], s["storm_probe"], s["seq"]) for s in [*snaps, again]} == {
            ("snapshot", 1, snaps[0]["seq"])
        }
        # CONSOLES + 1 consoles, two database sessions: the role check and the build
        assert len(checkouts) <= 2, f"{len(checkouts)} checkouts by {CONSOLES + 1} consoles"
        # and the stream's position was read once per round trip, not once per console
        reads = hub._channels[stream_id].positions.reads
        assert reads <= CONSOLES // 4, f"{reads} position reads for {CONSOLES + 1} consoles"
        # once the position moves, a console opening gets a snapshot of its own
        await live.publish_event(PendingEvent(stream_id, "cue", {"n": 1}))
        async with connect(url) as late:
            while (msg := orjson.loads(await asyncio.wait_for(late.recv(), 20)))["type"] != (
                "snapshot"
            ):
                pass
            assert msg["storm_probe"] == 2 and msg["seq"] > snaps[0]["seq"]
        for ws in sockets:
            await ws.close()
    finally:
        workers.snapshot_parts = parts
