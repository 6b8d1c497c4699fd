"""Positions that survive restarts (issue 15, point 1): every snapshot and event carries
`epoch` with `seq`; a console that comes back with a position of another epoch gets a
fresh snapshot (`resumed: false`) and then every event published afterwards.

Real `controlroom serve` processes: an embedded one restarted on the same data, and one
on PostgreSQL + Redis whose Redis is flushed under it.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from tests.conftest import REDIS_URL
from tests.live.procs import Console, admin_token, live_stream_via_api, post_cue, serve
from tests.live.test_processes import private_db  # noqa: F401 - fixture

pytestmark = pytest.mark.slow


async def _cues(client: httpx.AsyncClient, base: str, token: str, sid: int, *texts: str) -> None:
    for text in texts:
        r = await post_cue(client, base, token, sid, text)
        assert r.status_code == 201, r.text


async def test_embedded_restart_new_epoch_and_no_event_dropped(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "data")}
    async with httpx.AsyncClient(timeout=20) as client:
        with serve(env) as (base, _):
            token = await admin_token(client, base)
            sid = await live_stream_via_api(client, base, token)
            console = Console(sid, token)
            first = await console.open(base)
            assert isinstance(first["epoch"], str) and first["epoch"]
            await _cues(client, base, token, sid, *(f"before {i}" for i in range(5)))
            await console.until(lambda c: len(c.texts()) == 5)
            assert all(e["epoch"] == first["epoch"] for e in console.events)
            old_position = console.position
            assert old_position is not None and console.seq is not None and console.seq >= 5
            await console.close()
        # the same data, a new process: the in-memory counter starts again at 1
        with serve(env) as (base, _):
            token = await admin_token(client, base)
            snap = await console.open(base)
            assert snap["resumed"] is False
            assert snap["epoch"] != first["epoch"] and snap["seq"] == 0
            assert console.position == f"{snap['epoch']}:0"
            await _cues(client, base, token, sid, *(f"after {i}" for i in range(3)))
            await console.until(lambda c: len(c.texts()) == 8)
            assert console.texts()[5:] == ["after 0", "after 1", "after 2"]
            assert [e["seq"] for e in console.events[-3:]] == [1, 2, 3]
            # the old position again (e.g. a second tab that slept through it)
            stale = Console(sid, token)
            stale.epoch, stale.seq = old_position.rsplit(":", 1)[0], 10
            snap = await stale.open(base)
            assert snap["resumed"] is False and snap["seq"] == 3
            await _cues(client, base, token, sid, "later")
            await stale.until(lambda c: c.texts() == ["later"])
            await stale.close()
            # a resume within the epoch still replays what was missed
            at = console.position
            await console.close()
            await _cues(client, base, token, sid, "missed")
            snap = await console.open(base)
            assert snap["resumed"] is True and console.position == at
            await console.until(lambda c: c.texts()[-1:] == ["missed"])
            # a bare seq (a console from before epochs) is answered with a fresh snapshot
            bare = Console(sid, token)
            snap = await bare.open(base, since="1")
            assert snap["resumed"] is False and snap["seq"] == 5
            await bare.close()
            await console.close()


async def test_redis_flush_new_epoch_live_and_reconnecting_consoles(private_db: str) -> None:  # noqa: F811
    prefix = f"lcrtest:{uuid.uuid4().hex[:8]}:"
    env = {"DATABASE_URL": private_db, "REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix}
    redis = aioredis.from_url(REDIS_URL)
    try:
        async with httpx.AsyncClient(timeout=20) as client:
            with serve(env) as (base, _):
                token = await admin_token(client, base)
                sid = await live_stream_via_api(client, base, token)
                staying = Console(sid, token)
                leaving = Console(sid, token)
                first = await staying.open(base)
                await leaving.open(base)
                await _cues(client, base, token, sid, *(f"before {i}" for i in range(4)))
                for c in (staying, leaving):
                    await c.until(lambda c: len(c.texts()) == 4)
                await leaving.close()
                # Redis loses everything (FLUSHDB of this test's keys: the shared Redis
                # holds other runs' keys too, so only this prefix is dropped)
                keys = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
                assert keys
                await redis.delete(*keys)
                await _cues(client, base, token, sid, *(f"after {i}" for i in range(3)))
                # the console that stayed connected takes the new epoch's events
                await staying.until(lambda c: len(c.texts()) == 7)
                assert staying.texts()[4:] == ["after 0", "after 1", "after 2"]
                assert staying.epoch != first["epoch"]
                assert [e["seq"] for e in staying.events[-3:]] == [1, 2, 3]
                # the one that was away comes back with its old position (seq 4+)
                snap = await leaving.open(base)
                assert snap["resumed"] is False and snap["epoch"] == staying.epoch
                await _cues(client, base, token, sid, "next")
                for c in (staying, leaving):
                    await c.until(lambda c: c.texts()[-1:] == ["next"])
                assert leaving.events[-1]["seq"] == 4
                await staying.close()
                await leaving.close()
    finally:
        await redis.aclose()
