"""Opening and closing streams' channels in the hub, against the real Redis.

A console leaving the last socket of a stream stops that stream's ticker. Cancelling a
tick half-way through a Redis pipeline once left redis-py's connection pool waiting
forever; the hub then held one lock for every stream while awaiting that ticker, so a
console opening *any* stream hung without its snapshot (seen in the browser tests as
a watch page stuck on "— 人在看"). These tests pin the two properties that prevent it.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

import pytest
from fastapi import FastAPI
from starlette.websockets import WebSocket

from app.realtime.hub import Connection, Hub
from app.realtime.state import Live
from app.realtime.ticker import Ticker


class SlowTicker(Ticker):
    """A ticker whose every tick is one real Redis round trip lasting `seconds`."""

    seconds = 0.3

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.started = 0
        self.finished = 0
        self.tick_began = asyncio.Event()

    async def tick(self) -> bool:
        self.started += 1
        self.tick_began.set()
        redis = self.hub.live.redis
        assert redis is not None
        # BLPOP on an empty key: the server answers after `seconds`, like a slow command.
        await redis.blpop([f"lcrtest:empty:{uuid.uuid4().hex}"], timeout=self.seconds)
        self.finished += 1
        return False


def _hub(app: FastAPI, seconds: float) -> tuple[Hub, dict[int, SlowTicker]]:
    live: Live = app.state.live
    made: dict[int, SlowTicker] = {}

    def factory(hub: Hub, stream_id: int) -> SlowTicker:
        ticker = SlowTicker(hub, stream_id, app.state.sessionmaker, 4.0)
        ticker.seconds = seconds
        made[stream_id] = ticker
        return ticker

    return Hub(live, factory), made


def _conn(stream_id: int) -> Connection:
    # Never started: nothing is written to this socket in these tests.
    return Connection(cast(WebSocket, None), stream_id, "controller")


async def _open_mid_tick(
    hub: Hub, made: dict[int, SlowTicker], stream_id: int
) -> tuple[Connection, SlowTicker]:
    """Attach a console to the stream and return once its ticker is inside a tick."""
    conn = _conn(stream_id)
    await hub.attach(conn)
    ticker = made[stream_id]
    await asyncio.wait_for(ticker.tick_began.wait(), 5)
    return conn, ticker


@pytest.mark.slow
async def test_stopping_a_ticker_lets_its_tick_finish_instead_of_cancelling_it(
    app: FastAPI,
) -> None:
    hub, made = _hub(app, seconds=0.3)
    conn, ticker = await _open_mid_tick(hub, made, 901)
    task = ticker._task
    assert task is not None

    await hub.detach(conn)

    assert task.done() and not task.cancelled()
    assert ticker.finished == ticker.started >= 1  # the Redis call in flight completed
    # The pool is healthy afterwards: plain commands still go through at once.
    redis = app.state.live.redis
    assert await asyncio.wait_for(redis.ping(), 2)


@pytest.mark.slow
async def test_closing_one_stream_does_not_hold_up_consoles_of_another(app: FastAPI) -> None:
    hub, made = _hub(app, seconds=1.5)
    a, _ = await _open_mid_tick(hub, made, 911)

    # The last console of stream 911 leaves while its ticker is in a 1.5 s tick ...
    leaving = asyncio.create_task(hub.detach(a))
    await asyncio.sleep(0)
    # ... and a console opens stream 912 meanwhile: it must not wait for 911's ticker.
    b = _conn(912)
    await asyncio.wait_for(hub.attach(b), 5)
    assert not leaving.done()
    assert hub.connection_count(912) == 1 and hub.connection_count(911) == 0

    await asyncio.wait_for(leaving, 10)
    assert made[911].finished == made[911].started
    await hub.detach(b)
    assert hub.connection_count() == 0


@pytest.mark.slow
async def test_reopening_a_stream_while_its_old_ticker_stops_gets_a_fresh_channel(
    app: FastAPI,
) -> None:
    hub, made = _hub(app, seconds=1.0)
    first, old = await _open_mid_tick(hub, made, 921)
    leaving = asyncio.create_task(hub.detach(first))
    await asyncio.sleep(0)

    again = _conn(921)
    await asyncio.wait_for(hub.attach(again), 5)
    assert made[921] is not old  # a new ticker serves the reopened stream
    assert hub.connection_count(921) == 1
    await asyncio.wait_for(leaving, 10)
    # The broker still delivers the stream's events to the new channel.
    live: Live = app.state.live
    assert live.broker._handlers.get(live.events_channel(921))
    await hub.detach(again)
    assert not live.broker._handlers.get(live.events_channel(921))


async def test_cancelling_a_task_mid_pipeline_stops_it(app: FastAPI) -> None:
    """The Redis client must honour cancellation (redis-py 8.0–8.2 swallowed it inside
    pipelines: the cancelled task ran on forever, which is how a ticker once outlived
    its hub channel). Shutdown and the schedulers rely on it."""
    live: Live = app.state.live
    redis = live.redis
    assert redis is not None
    key = f"lcrtest:cancel:{uuid.uuid4().hex}"

    async def reader() -> None:
        while True:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.hgetall(key)
                pipe.scard(key + ":s")
                await pipe.execute()

    for i in range(40):
        task = asyncio.create_task(reader())
        await asyncio.sleep(0.0005 * (i % 10))  # land the cancel at different points
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done, f"round {i}: the cancelled task is still running"
        assert task.cancelled()
    assert await asyncio.wait_for(redis.ping(), 2)
