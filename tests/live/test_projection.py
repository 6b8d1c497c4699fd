"""The log's projection: rows logged but not yet folded (a crash between commit and
fold, a fold skipped while another held the cursor) are folded by the worker's sweep;
a kick folds at once; the cursor never passes a row twice."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from app.models import Comment, QueueItem, StreamEvent, StreamStatus, StreamViewer
from app.models.events import StreamProjection
from app.schemas.events import EventIn
from app.services.eventlog import write_events
from app.services.projection import BEHIND, fold
from app.services.uow import UnitOfWork
from tests.live.helpers import admin_headers, live_stream, new_stream, send, set_status


async def _stream(app: FastAPI) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        stream_id = await new_stream(client, await admin_headers(client), "投影")
    await set_status(app, stream_id, StreamStatus.live)
    return stream_id


async def _log_without_folding(app: FastAPI, stream_id: int, events: list[EventIn]) -> None:
    """What a request that died right after its commit leaves: logged, not folded."""
    async with app.state.sessionmaker() as s:
        assert await write_events(s, stream_id, events)
        await s.commit()


async def _folded(app: FastAPI, stream_id: int) -> tuple[int, int]:
    async with app.state.sessionmaker() as s:
        cursor = await s.scalar(
            select(StreamProjection.last_event_id).where(StreamProjection.stream_id == stream_id)
        )
        last = await s.scalar(
            select(func.max(StreamEvent.id)).where(StreamEvent.stream_id == stream_id)
        )
        return int(cursor or 0), int(last or 0)


async def _wait_folded(app: FastAPI, stream_id: int, within: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < within:
        cursor, last = await _folded(app, stream_id)
        if cursor == last:
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError(f"not folded within {within} s: {await _folded(app, stream_id)}")


async def test_the_sweep_folds_rows_a_request_left_behind(real_app: FastAPI) -> None:
    app = real_app
    stream_id = await _stream(app)
    cursor, _ = await _folded(app, stream_id)
    assert cursor == 0  # every stream has its cursor from birth
    await _log_without_folding(
        app,
        stream_id,
        [
            EventIn("viewer_join", "v1", "j1", source="search"),
            EventIn("comment", "v1", "c1", text="这个有S码吗"),
            EventIn("comment", "v2", "c2", text="有S码吗？"),
        ],
    )
    await _wait_folded(app, stream_id, within=10)  # the sweep runs every second
    async with app.state.sessionmaker() as s:
        viewer = await s.get(StreamViewer, (stream_id, "v1"))
        assert viewer is not None and viewer.joins == 1 and viewer.comments == 1
        assert viewer.source == "search"
        taken = await s.scalars(select(Comment.event_id).where(Comment.stream_id == stream_id))
        assert sorted(taken.all()) == ["ingest:c1", "ingest:c2"]
        items = (await s.scalars(select(QueueItem).where(QueueItem.stream_id == stream_id))).all()
        assert [i.asker_count for i in items] == [2]  # the two askers merged into one item


async def test_a_kick_folds_at_once_and_folding_again_changes_nothing(real_app: FastAPI) -> None:
    app = real_app
    stream_id = await _stream(app)
    worker = app.state.live.projection
    assert worker is not None
    worker.sweep_seconds = 3600  # no sweep from now on: only the kick can fold
    await asyncio.sleep(1.5)  # let the wait that began with the old period lapse
    await _log_without_folding(app, stream_id, [EventIn("like", f"v{i}") for i in range(30)])
    await asyncio.sleep(0.3)
    assert await _folded(app, stream_id) != (0, 0) and (await _folded(app, stream_id))[0] == 0
    assert stream_id in await worker._behind()  # what a sweep would pick up
    assert BEHIND._value.get() >= 30  # and what operators see on /metrics
    worker.kick(stream_id)
    await _wait_folded(app, stream_id, within=10)
    async with UnitOfWork.begin(app.state.sessionmaker, app.state.live) as uow:
        assert (
            await fold(uow.session, uow.live.comment_counts, stream_id, wait=True) == 0
        )  # nothing past the cursor
    async with app.state.sessionmaker() as s:
        likes = await s.scalar(
            select(func.sum(StreamViewer.likes)).where(StreamViewer.stream_id == stream_id)
        )
        assert likes == 30


async def test_sums_of_the_largest_amounts_fold_without_overflow(
    any_app: FastAPI, any_client: httpx.AsyncClient
) -> None:
    """One amount stays below 10^8, but a rollup sums many: 101 of them pass what a
    single amount's column holds (10^10). Were the sum to overflow, the fold would fail
    on those rows for ever (and the review with it); it must fold them."""
    stream_id, key, admin = await live_stream(any_app, any_client)
    events = [
        {
            "type": "order_paid",
            "user_id": "whale",
            "product_id": 7,
            "amount": "99999999.00",
            "event_id": f"p{i}",
        }
        for i in range(101)
    ]
    r = await send(any_client, stream_id, key, events)
    assert r.status_code == 202, r.text
    cursor, last = await _folded(any_app, stream_id)
    assert cursor == last > 0
    async with any_app.state.sessionmaker() as s:
        whale = await s.get(StreamViewer, (stream_id, "whale"))
        assert whale is not None and whale.paid_amount == Decimal("99999999.00") * 101
    r = await any_client.get(f"/api/v1/streams/{stream_id}/review", headers=admin)
    assert r.status_code == 200, r.text
