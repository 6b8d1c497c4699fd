"""Publish after commit: a request that queued an event (outbox or after-commit hook) and
then failed never reaches a connected console; the same request committed does."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import select, update
from websockets.asyncio.client import ClientConnection, connect

from app.deps import SessionDep
from app.errors import Conflict
from app.models import Stream
from app.realtime.outbox import PendingEvent, after_commit, queue_event
from tests.live.helpers import add_product, live_of, live_stream
from tests.orders.helpers import viewer_headers


def _install_probe(app: FastAPI) -> None:
    """An action shaped like every real one: it writes, queues a discrete event, adds an
    after-commit hook that publishes, and then (with `fail`) refuses with a 409."""
    router = APIRouter()

    @router.post("/test-probe/streams/{stream_id}/announce")
    async def announce(
        stream_id: int, fail: bool, request: Request, session: SessionDep
    ) -> dict[str, bool]:
        live = request.app.state.live
        await session.execute(
            update(Stream).where(Stream.id == stream_id).values(title=f"probe fail={fail}")
        )
        queue_event(session, stream_id, "cue", {"via": "outbox", "fail": fail})

        async def hook() -> None:
            await live.publish_event(PendingEvent(stream_id, "cue", {"via": "hook", "fail": fail}))

        after_commit(session, hook)
        if fail:
            raise Conflict("refused after queueing", code="probe_refused")
        return {"ok": True}

    app.include_router(router)


async def _until_marker(ws: ClientConnection, marker: str, within: float = 15) -> list[Any]:
    """Every discrete event up to and including the `cue` with {"marker": marker}."""
    seen: list[Any] = []
    async with asyncio.timeout(within):
        async for raw in ws:
            msg = orjson.loads(raw)
            if "seq" in msg and msg["type"] != "snapshot":
                seen.append(msg)
                if msg["type"] == "cue" and msg["data"].get("marker") == marker:
                    return seen
    raise AssertionError("socket closed before the marker")


async def test_rolled_back_request_never_announces_a_committed_one_does(
    served: tuple[FastAPI, str],
) -> None:
    app, addr = served
    _install_probe(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        stream_id, _, admin = await live_stream(app, client)
        token = admin["Authorization"].removeprefix("Bearer ")
        url = f"/test-probe/streams/{stream_id}/announce"
        async with connect(f"ws://{addr}/ws/streams/{stream_id}?token={token}") as ws:
            first = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
            assert first["type"] == "snapshot"

            r = await client.post(url, params={"fail": True}, headers=admin)
            assert r.status_code == 409 and r.json()["code"] == "probe_refused"
            async with app.state.sessionmaker() as s:
                title = await s.scalar(select(Stream.title).where(Stream.id == stream_id))
            assert title == "直播"  # the write was rolled back with it
            await live_of(app).publish_event(PendingEvent(stream_id, "cue", {"marker": "m1"}))
            seen = await _until_marker(ws, "m1")
            assert [m["data"] for m in seen] == [{"marker": "m1"}]

            r = await client.post(url, params={"fail": False}, headers=admin)
            assert r.status_code == 200, r.text
            await live_of(app).publish_event(PendingEvent(stream_id, "cue", {"marker": "m2"}))
            seen = await _until_marker(ws, "m2")
            assert [m["data"] for m in seen] == [
                {"via": "outbox", "fail": False},
                {"via": "hook", "fail": False},
                {"marker": "m2"},
            ]
            seqs = [m["seq"] for m in seen]
            assert seqs == sorted(seqs)


async def test_order_refused_after_its_events_were_queued_announces_nothing(
    served: tuple[FastAPI, str],
) -> None:
    """The real order path on either backend: the stock book takes the units, the
    order's `order_created` is recorded (its stock.changed and counting wait for the
    commit), then the database refuses (the mirror was above the truth) → 409, and no
    console hears of it."""
    app, addr = served
    book = live_of(app).stock
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        stream_id, _, admin = await live_stream(app, client)
        pid = await add_product(app, stream_id, f"PAC-{stream_id}", allotted=1)
        token = admin["Authorization"].removeprefix("Bearer ")
        orders_url = f"/api/v1/streams/{stream_id}/orders"
        body = {"product_id": pid, "quantity": 1}
        async with connect(f"ws://{addr}/ws/streams/{stream_id}?token={token}") as ws:
            first = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
            assert first["type"] == "snapshot"
            r = await client.post(
                orders_url, json=body, headers=viewer_headers(app, stream_id, "v1", "k1")
            )
            assert r.status_code == 201, r.text
            # the mirror now claims 3 units the database does not have
            left = await book.read_stock(stream_id, pid)
            assert left == 0
            await book.patch(stream_id, pid, stock=left + 3)
            r = await client.post(
                orders_url, json=body, headers=viewer_headers(app, stream_id, "v2", "k2")
            )
            assert r.status_code == 409 and r.json()["code"] == "sold_out", r.text
            await live_of(app).publish_event(PendingEvent(stream_id, "cue", {"marker": "end"}))
            seen = await _until_marker(ws, "end")
        stock_events = [m["data"] for m in seen if m["type"] == "stock.changed"]
        assert stock_events == [
            {"product_id": pid, "stock_left": 0, "allotted_stock": 1, "sold_units": 1}
        ]
        metrics = (await client.get(f"/api/v1/streams/{stream_id}/metrics", headers=admin)).json()
        assert metrics["orders"] == 1
