"""A draft stream is not public: its watch socket closes as a missing stream's does
(4403), so it does not confirm that the stream exists (issue #19)."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import httpx
import orjson
from fastapi import FastAPI
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.models import StreamStatus
from app.security import create_token
from tests.live.helpers import admin_headers, new_stream, set_status


async def _close(url: str) -> tuple[int | None, str | None]:
    async with connect(url) as ws:
        with contextlib.suppress(ConnectionClosed):
            await ws.recv()
        return ws.close_code, ws.close_reason


async def test_a_drafts_watch_socket_closes_like_a_missing_streams(
    served: tuple[FastAPI, str],
) -> None:
    app, addr = served
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        sid = await new_stream(client, await admin_headers(client))

    def watch(stream_id: int) -> str:
        token, _ = create_token(
            app.state.settings.secret_key,
            "v-draft",
            "viewer",
            timedelta(minutes=5),
            stream_id=stream_id,
        )
        return f"ws://{addr}/ws/streams/{stream_id}/watch?token={token}"

    missing = await _close(watch(sid + 100_000))
    assert missing[0] == 4403
    assert await _close(watch(sid)) == missing
    await set_status(app, sid, StreamStatus.scheduled)
    async with connect(watch(sid)) as ws:  # scheduled: public, the feed opens
        first = await ws.recv()
        assert orjson.loads(first)["type"] == "snapshot"
