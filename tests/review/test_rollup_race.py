"""Concurrent ingest batches of one stream, each folded after its commit by whoever gets
the cursor (as ingest requests and the projection worker do): every row is folded once
and the presence replay stays exact."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.models import Stream, StreamViewer
from app.models.events import StreamProjection
from app.models.rollups import StreamPresence
from app.schemas.events import EventIn
from app.services.eventlog import write_events
from app.services.projection import catch_up, fold
from app.services.review_from_log import raw_headline
from app.services.review_report import headline
from app.services.uow import UnitOfWork
from tests.review.helpers import T0, ended_stream
from tests.review.scenario import ev


@pytest.fixture(params=["postgres", "sqlite"])
def app(request: pytest.FixtureRequest) -> FastAPI:
    name = "committed_app" if request.param == "postgres" else "embedded_app"
    application: FastAPI = request.getfixturevalue(name)
    return application


async def test_concurrent_batches_keep_presence_exact(app: FastAPI) -> None:
    maker = app.state.sessionmaker
    # Only this test's folders (PostgreSQL: row lock; SQLite: compare-and-set) fold here.
    assert app.state.live.projection is not None
    await app.state.live.projection.stop()
    async with maker() as s:
        sid = await ended_stream(s, f"race-{uuid.uuid4().hex[:6]}", T0, 30)
        await s.commit()

    async def batch(i: int) -> None:
        # each batch: 20 viewers join, 10 of them leave, plus a shared viewer joining
        events = [
            ev("viewer_join", f"b{i}-{j}", T0 + timedelta(seconds=i * 60 + j)) for j in range(20)
        ]
        events += [
            ev("viewer_leave", f"b{i}-{j}", T0 + timedelta(seconds=i * 60 + 30 + j))
            for j in range(10)
        ]
        events.append(ev("viewer_join", "shared", T0 + timedelta(seconds=i * 60 + 50)))
        async with maker() as s:
            await write_events(s, sid, events)
            await s.commit()
        n = 1
        while n > 0:  # fold in small steps, so folders really interleave
            async with UnitOfWork.begin(maker, app.state.live) as uow:
                n = await fold(uow.session, uow.live.comment_counts, sid, wait=i % 2 == 0, limit=7)
            folded.append(max(n, 0))

    folded: list[int] = []

    await asyncio.gather(*(batch(i) for i in range(12)))
    async with maker() as s:
        folded.append(
            await catch_up(s, app.state.live.comment_counts, sid)
        )  # what was left while others held the cursor
        await s.commit()
    assert sum(folded) == 12 * 31  # every log row folded exactly once
    async with maker() as s:
        cursor = await s.get(StreamProjection, sid)
        assert cursor is not None and cursor.last_event_id > 0
        st = await s.get(Stream, sid)
        assert st is not None
        pres = await s.get(StreamPresence, sid)
        assert pres is not None
        # 12 × 10 viewers stay, plus "shared" once: online is exact whatever the order
        assert pres.online == 12 * 10 + 1
        fast, _ = await headline(s, st)
        raw, _, _ = await raw_headline(s, st)
        # watch time and online do not depend on the order batches were applied in
        assert fast.total_watch_ms == raw.total_watch_ms
        assert fast.online_now == raw.online_now == 121
        assert fast.viewers == raw.viewers == 12 * 20 + 1
        assert fast.entries == raw.entries == 12 * 21
        # 11 batches leave 110 (+ shared) online, the last adds 20 before its leaves
        assert fast.peak_online == raw.peak_online == 131
        await s.delete(st)
        await s.commit()


async def test_a_fold_never_passes_a_row_that_commits_later(committed_app: FastAPI) -> None:
    """Writer A logs and has not committed; writer B logs after it; a fold runs. B must
    wait for A (the stream's log lock), else B's rows commit first with the higher ids,
    the fold moves the cursor past them, and A's rows, committed later with lower ids,
    would never be folded."""
    app = committed_app
    maker = app.state.sessionmaker
    assert app.state.live.projection is not None
    await app.state.live.projection.stop()
    async with maker() as s:
        sid = await ended_stream(s, f"order-{uuid.uuid4().hex[:6]}", T0, 30)
        await s.commit()

    def likes(who: str) -> list[EventIn]:
        return [EventIn("like", f"{who}{i}", ts=T0 + timedelta(seconds=i)) for i in range(5)]

    async def writer_b() -> None:
        async with maker() as b:
            await write_events(b, sid, likes("b"))
            await b.commit()

    async with maker() as a:
        await write_events(a, sid, likes("a"))
        b_task = asyncio.create_task(writer_b())
        await asyncio.sleep(0.5)  # B has either committed or is waiting for A
        async with UnitOfWork.begin(maker, app.state.live) as uow:
            await fold(uow.session, uow.live.comment_counts, sid, wait=True)
        await a.commit()
    await b_task
    async with maker() as s:
        await catch_up(s, app.state.live.comment_counts, sid)
        await s.commit()
    async with maker() as s:
        total = await s.scalar(
            select(func.sum(StreamViewer.likes)).where(StreamViewer.stream_id == sid)
        )
        assert total == 10
        st = await s.get(Stream, sid)
        await s.delete(st)
        await s.commit()
