"""The queue's settings, global words and negative-comment counter on the embedded
deployment (SQLite + in-process), where the SQL and the counter differ."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from app.db import utcnow
from app.models import StreamStatus
from app.realtime.memory import MemoryCommentCounts
from app.services.alerts import AlertEngine, observe_live_metrics
from app.services.comments import IncomingComment
from tests.conftest import bearer, login
from tests.controls.conftest import _listen, make_stream, set_status
from tests.queue.conftest import take_in

pytestmark = pytest.mark.embedded


async def test_settings_global_words_and_negative_counts_work_embedded(
    embedded_app: FastAPI, embedded_client: httpx.AsyncClient
) -> None:
    app, client = embedded_app, embedded_client
    admin = bearer(await login(client, "admin"))
    sid = await make_stream(client, admin, "本地场")
    await set_status(app.state.sessionmaker, sid, StreamStatus.live)
    base = f"/api/v1/streams/{sid}"

    # the SLA moves the clock of a waiting item (executemany on SQLite)
    await take_in(
        app, sid, [IncomingComment("v1", "运费多少", ts=utcnow() - timedelta(seconds=60))]
    )
    (item,) = (await client.get(f"{base}/queue", headers=admin)).json()
    assert not item["overdue"]
    r = await client.put(f"{base}/queue-settings", json={"sla_seconds": 30}, headers=admin)
    assert r.status_code == 200, r.text
    (item,) = (await client.get(f"{base}/queue", headers=admin)).json()
    assert item["overdue"] and item["sla_seconds_left"] <= -30
    r = await client.put(f"{base}/queue-settings", json={"cue_threshold": 0}, headers=admin)
    assert r.status_code == 422

    # a global word blocks from the next comment
    r = await client.post("/api/v1/blocked-words", json={"words": ["山寨货"]}, headers=admin)
    assert r.status_code == 201, r.text
    taken = await take_in(app, sid, [("v2", "这是山 寨 货吧")])
    assert (taken.comments[0].blocked, taken.comments[0].block_reason) == (True, "blocked_word")

    # negative comments counted in process; the alert fires from that count
    live = app.state.live
    assert isinstance(live.comment_counts, MemoryCommentCounts)
    engine = AlertEngine()
    await observe_live_metrics(engine, app.state.sessionmaker, live, sid, {"online": 3}, 0)
    await take_in(app, sid, [(f"n{i}", "什么破快递 太差了") for i in range(10)])
    assert await live.comment_counts.negative(sid) == 10
    async with _listen(app, sid) as events:
        await observe_live_metrics(engine, app.state.sessionmaker, live, sid, {"online": 3}, 5)
        await events.wait_for("alert")
    kinds = {m["data"]["kind"] for m in events.of("alert")}
    assert "negative_spike" in kinds
