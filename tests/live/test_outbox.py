"""Durable publish (issue 15, point 2): an event is written in the transaction of its
change (the live outbox) and relayed by every instance, so a process killed between the
commit and the publish loses no event for any console; repeats are recognised by id.

Real `controlroom serve` processes on PostgreSQL + Redis. The instance that dies is made
to die exactly there by the LCR_FAILPOINT=crash_after_commit:<type> failpoint
(app/realtime/outbox.py): it SIGKILLs itself after the commit, before any publish.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections import Counter

import asyncpg
import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from tests.conftest import REDIS_URL
from tests.live.procs import Console, admin_token, live_stream_via_api, post_cue, serve
from tests.live.test_processes import private_db  # noqa: F401 - fixture

pytestmark = pytest.mark.slow


async def _outbox_rows(db_url: str) -> int:
    conn = await asyncpg.connect(db_url.replace("+asyncpg", ""))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM live_outbox"))
    finally:
        await conn.close()


async def test_kill_9_between_commit_and_publish_loses_no_event(private_db: str) -> None:  # noqa: F811
    prefix = f"lcrtest:{uuid.uuid4().hex[:8]}:"
    env = {"DATABASE_URL": private_db, "REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix}
    doomed_env = {**env, "LCR_FAILPOINT": "crash_after_commit:cue"}
    async with httpx.AsyncClient(timeout=20) as client:
        with serve(env) as (b, _), serve(doomed_env) as (a, proc_a):
            token = await admin_token(client, b)
            sid = await live_stream_via_api(client, b, token)
            console = Console(sid, token)  # on the instance that survives
            await console.open(b)
            await _cues(client, b, token, sid, "first")
            await console.until(lambda c: c.texts() == ["first"])
            # instance A commits the cue and dies before publishing it
            with pytest.raises(httpx.TransportError):
                await post_cue(client, a, token, sid, "committed, then kill -9")
            assert proc_a.wait(timeout=10) == -signal.SIGKILL
            # the change is there, its event waits in the outbox
            conn = await asyncpg.connect(private_db.replace("+asyncpg", ""))
            try:
                texts = await conn.fetch("SELECT text FROM cues WHERE stream_id = $1", sid)
            finally:
                await conn.close()
            assert sorted(t["text"] for t in texts) == ["committed, then kill -9", "first"]
            # B's relay publishes it: the console hears of it, within seconds
            await console.until(lambda c: len(c.texts()) == 2, within=10)
            assert console.texts() == ["first", "committed, then kill -9"]
            await _cues(client, b, token, sid, "after")
            await console.until(lambda c: c.texts()[-1:] == ["after"])
            assert console.texts() == ["first", "committed, then kill -9", "after"]
            async with asyncio.timeout(10):
                while await _outbox_rows(private_db):  # noqa: ASYNC110 - published rows are deleted
                    await asyncio.sleep(0.2)
            await console.close()


async def _cues(client: httpx.AsyncClient, base: str, token: str, sid: int, *texts: str) -> None:
    for text in texts:
        r = await post_cue(client, base, token, sid, text)
        assert r.status_code == 201, r.text


async def test_a_relayed_repeat_reaches_no_console_twice(private_db: str) -> None:  # noqa: F811
    """kill -9 right after publishing leaves the rows behind (their deletion is batched):
    the next instance's relay publishes them again, and the publish script drops the
    repeats by id, so a console's raw feed has each id once."""
    prefix = f"lcrtest:{uuid.uuid4().hex[:8]}:"
    env = {"DATABASE_URL": private_db, "REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix}
    async with httpx.AsyncClient(timeout=20) as client:
        with serve(env) as (b, _):
            token = await admin_token(client, b)
            sid = await live_stream_via_api(client, b, token)
            async with connect(f"ws://{b}/ws/streams/{sid}?token={token}") as ws:
                with serve(env) as (a, proc_a):
                    r = await asyncio.gather(
                        *(post_cue(client, a, token, sid, f"c{i}") for i in range(20))
                    )
                    assert {x.status_code for x in r} == {201}
                    os.kill(proc_a.pid, signal.SIGKILL)
                left = await _outbox_rows(private_db)
                # the relay of B takes over what A left (after the grace period)
                async with asyncio.timeout(15):
                    while await _outbox_rows(private_db):  # noqa: ASYNC110 - polling
                        await asyncio.sleep(0.2)
                ids: Counter[int] = Counter()
                texts: list[str] = []
                try:
                    async with asyncio.timeout(1.5):
                        async for raw in ws:
                            msg = orjson.loads(raw)
                            if msg["type"] == "cue":
                                ids[msg["id"]] += 1
                                texts.append(msg["data"]["text"])
                except TimeoutError:
                    pass
    assert sorted(texts) == sorted(f"c{i}" for i in range(20))
    assert set(ids.values()) == {1}, ids
    print(f"rows left behind by the kill: {left}")
