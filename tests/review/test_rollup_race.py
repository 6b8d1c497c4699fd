"""Concurrent ingest batches of one stream: the presence replay stays exact."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from fastapi import FastAPI

from app.models import Stream
from app.models.rollups import StreamPresence
from app.services.eventlog import write_events
from app.services.review_raw import raw_headline
from app.services.review_report import headline
from tests.review.helpers import T0, ended_stream
from tests.review.scenario import ev


async def test_concurrent_batches_keep_presence_exact(committed_app: FastAPI) -> None:
    maker = committed_app.state.sessionmaker
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

    await asyncio.gather(*(batch(i) for i in range(12)))
    async with maker() as s:
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
