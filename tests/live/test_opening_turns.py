"""Console opens take turns (app/realtime/opening.py, issue 15 point 3).

A real uvicorn server in this event loop with the protocols `controlroom serve` uses, and
a small ASGI app that holds every console between its accept and its first message until
the test lets it go: what the turns promise is then visible without timing anything.
"""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.realtime import opening
from tests.live.helpers import live_stream, serving


class Consoles:
    """An ASGI app: `/ws` opens a console (accept, wait for `release`, send its snapshot),
    `/silent` accepts and never sends, `/refuse` refuses; any HTTP request answers at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.opening = 0  # reached the app, first message not sent yet
        self.most = 0
        self.reached = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        assert (await receive())["type"] == "websocket.connect"
        self.reached += 1
        if scope["path"] == "/refuse":
            await send({"type": "websocket.close", "code": 1008})
            return
        self.opening += 1
        self.most = max(self.most, self.opening)
        await send({"type": "websocket.accept"})
        if scope["path"] == "/ws":
            await self.release.wait()
            self.opening -= 1
            await send({"type": "websocket.send", "text": "snapshot"})
            opening.opened(scope)  # as app/routers/live.py does once a console is open
        while (await receive())["type"] != "websocket.disconnect":
            pass


@pytest.fixture
def turns(monkeypatch: pytest.MonkeyPatch) -> Iterator[opening.Turns]:
    t = opening.Turns(3)
    monkeypatch.setattr(opening, "_turns", t)
    monkeypatch.setattr(opening, "CALM_SECONDS", 0.1)
    yield t
    t.collections.calm()  # a failed test must not leave the collector held


async def until(check: Any, within: float = 5.0) -> None:
    """Poll `check` (the server's state has no event to wait on) for up to `within` s."""
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def open_console(port: int, path: str = "/ws") -> Any:
    ws = await connect(f"ws://127.0.0.1:{port}{path}", compression=None, open_timeout=10)
    return ws


async def test_consoles_open_in_turns_and_plain_requests_pass_them(turns: opening.Turns) -> None:
    app = Consoles()
    async with serving(app) as port:
        opens = [asyncio.create_task(open_console(port)) for _ in range(10)]
        # three consoles are opening; seven wait with their sockets unread
        await until(lambda: app.opening == 3 and len(turns.waiting) == 7)
        # a plain request is answered while they wait: it never queues behind opens
        async with httpx.AsyncClient() as http:
            r = await http.get(f"http://127.0.0.1:{port}/anything")
        assert r.status_code == 200
        assert len(turns.waiting) == 7 and app.reached == 3
        app.release.set()
        consoles = await asyncio.wait_for(asyncio.gather(*opens), 10)
        assert [await asyncio.wait_for(ws.recv(), 5) for ws in consoles] == ["snapshot"] * 10
        assert app.most == 3  # never more than the limit between accept and first message
        await until(lambda: turns.running == 0 and not turns.waiting)
        for ws in consoles:
            await ws.close()


async def test_a_console_that_leaves_while_waiting_frees_its_place(
    turns: opening.Turns,
) -> None:
    turns.limit = 1
    app = Consoles()
    async with serving(app) as port:
        first = asyncio.create_task(open_console(port))
        await until(lambda: app.opening == 1)
        # a client sends its upgrade, waits in the queue, then hangs up
        raw = socket.create_connection(("127.0.0.1", port))
        raw.sendall(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await until(lambda: len(turns.waiting) == 1)
        raw.close()
        third = asyncio.create_task(open_console(port))
        await until(lambda: len(turns.waiting) == 2)
        app.release.set()
        a, c = await asyncio.wait_for(asyncio.gather(first, third), 10)
        assert await a.recv() == "snapshot" and await c.recv() == "snapshot"
        assert app.reached == 2  # the one that left never reached the app
        await until(lambda: turns.running == 0 and not turns.waiting)
        await a.close()
        await c.close()


async def test_refused_and_silent_consoles_do_not_keep_a_turn(
    turns: opening.Turns, monkeypatch: pytest.MonkeyPatch
) -> None:
    turns.limit = 1
    monkeypatch.setattr(opening, "TURN_SECONDS", 0.3)
    app = Consoles()
    app.release.set()
    async with serving(app) as port:
        for _ in range(3):  # refused before the accept: the refusal ends the turn
            with pytest.raises(Exception, match="403"):
                await open_console(port, "/refuse")
        # accepted, never says it is open: its turn ends after TURN_SECONDS
        silent = await open_console(port, "/silent")
        assert turns.running == 1
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        console = await open_console(port)
        assert await console.recv() == "snapshot"
        assert loop.time() - t0 >= 0.2  # it waited for the silent one's turn to run out
        await until(lambda: turns.running == 0)
        await silent.close()
        await console.close()


async def test_full_collections_wait_for_the_storm_to_end(turns: opening.Turns) -> None:
    before = gc.get_threshold()
    turns.limit = 1
    app = Consoles()
    async with serving(app) as port:
        opens = [asyncio.create_task(open_console(port)) for _ in range(4)]
        await until(lambda: len(turns.waiting) == 3)
        # a storm: the young generations are still collected, the full collection is held
        assert gc.get_threshold()[:2] == before[:2]
        assert gc.get_threshold()[2] > 1_000_000
        app.release.set()
        consoles = await asyncio.wait_for(asyncio.gather(*opens), 10)
        await until(lambda: turns.running == 0 and not turns.waiting)
        # held until nothing opened for CALM_SECONDS, then CPython's own rule again
        await until(lambda: gc.get_threshold() == before, within=2)
        for ws in consoles:
            await ws.close()


async def test_a_storm_that_never_calms_holds_collections_only_so_long(
    turns: opening.Turns, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = gc.get_threshold()
    monkeypatch.setattr(opening, "MAX_HOLD_SECONDS", 0.2)
    turns.limit = 1
    app = Consoles()
    async with serving(app) as port:
        opens = [asyncio.create_task(open_console(port))]
        await until(lambda: app.opening == 1)
        opens.append(asyncio.create_task(open_console(port)))
        await until(lambda: len(turns.waiting) == 1)
        assert gc.get_threshold()[2] > 1_000_000
        await asyncio.sleep(0.3)
        opens.append(asyncio.create_task(open_console(port)))
        await until(lambda: len(turns.waiting) == 2)
        assert gc.get_threshold() == before  # past MAX_HOLD_SECONDS: released
        opens.append(asyncio.create_task(open_console(port)))
        await until(lambda: len(turns.waiting) == 3)
        assert gc.get_threshold() == before  # and not held again until the storm ends
        app.release.set()
        consoles = await asyncio.wait_for(asyncio.gather(*opens), 10)
        await until(lambda: turns.running == 0 and not turns.waiting)
        await asyncio.sleep(0.2)
        assert not turns.storm
        for ws in consoles:
            await ws.close()


async def test_the_real_consoles_end_their_turn_once_open_or_refused(
    served: tuple[FastAPI, str], turns: opening.Turns, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our console sockets say when they are open (app/routers/live.py): the turn ends
    with the snapshot, long before TURN_SECONDS, and nothing of it stays on the socket."""
    monkeypatch.setattr(opening, "TURN_SECONDS", 60.0)
    app, addr = served
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        stream_id, _key, admin = await live_stream(app, client)
        token = admin["Authorization"].split()[1]
        consoles = []
        for _ in range(5):  # more than the limit (3), one after another
            ws = await connect(f"ws://{addr}/ws/streams/{stream_id}?token={token}")
            snapshot = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
            assert snapshot["type"] == "snapshot"
            consoles.append(ws)
        # refused (no token): its turn ends too
        refused = await connect(f"ws://{addr}/ws/streams/{stream_id}")
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(refused.recv(), 10)
        await until(lambda: turns.running == 0 and not turns.holders, within=5)
        sockets = [o for o in gc.get_objects() if type(o) is opening.PacedWebSocketProtocol]
        assert sockets and not any(opening.TURN_KEY in s.scope for s in sockets)
        for ws in consoles:
            await ws.close()
