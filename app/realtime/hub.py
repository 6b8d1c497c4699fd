"""The connection hub: fans discrete events and metrics out to this instance's sockets.

* One broker subscription per stream per process (however many consoles watch it).
* Every broadcast is serialized once: the hub builds one prepared ASGI message and
  hands the same object to every connection; nothing is encoded per connection.
* Each connection has a bounded queue and at most one writer task. Pushing never
  awaits, so a slow console can never stall the others: an idle, writable socket gets
  the message at once; otherwise it is queued for the connection's writer. Metrics are
  latest-wins (a console that is behind skips stale ones); a console that falls
  `MAX_PENDING_EVENTS` discrete events behind is disconnected with close code 4408 and
  a reason.
* Events arrive from the broker in `seq` order (the Redis publish script numbers and
  publishes atomically). If a hole shows up anyway (e.g. a message lost while the
  subscription was being set up) the hub fills it from the stream's history.
* Positions are (epoch, seq) (protocol.py). An event of a later epoch than the one a
  channel or connection is at is its new base (the seq counter restarted: Redis lost
  it); an event of an earlier epoch is a late straggler and is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from starlette.websockets import WebSocket

from app.realtime.protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_SLOW,
    MAX_PENDING_EVENTS,
    PONG,
    WireMessage,
    prepare,
    visible_to,
)

if TYPE_CHECKING:
    from app.realtime.state import LiveServices
    from app.realtime.ticker import Ticker

log = structlog.get_logger(__name__)


class Connection:
    """One websocket: a bounded event queue, a latest-wins metrics slot, one writer.

    Most broadcasts find the connection idle and its socket writable; the message is
    then written at once, in the broadcasting task (uvicorn's `send` only suspends when
    the transport's buffer is full), so an idle console costs no task and a broadcast
    no task switch per connection. Otherwise the message is queued and a writer task,
    started on demand, drains the queue and exits.
    """

    __slots__ = (
        "audience",
        "close_with",
        "epoch",
        "events",
        "last_seq",
        "max_pending",
        "metrics",
        "started",
        "stream_id",
        "writer",
        "ws",
    )

    def __init__(
        self,
        ws: WebSocket,
        stream_id: int,
        audience: str,
        max_pending: int = MAX_PENDING_EVENTS,
    ) -> None:
        self.ws = ws
        self.stream_id = stream_id
        self.audience = audience
        self.max_pending = max_pending
        self.events: deque[tuple[str, int, WireMessage]] = deque()
        self.metrics: WireMessage | None = None
        self.epoch = ""
        self.last_seq = 0
        self.close_with: tuple[int, str] | None = None
        self.writer: asyncio.Task[None] | None = None
        # Until the snapshot is out, everything is queued (it must go first).
        self.started = False

    def start(self) -> None:
        self.started = True
        if self.events or self.metrics is not None or self.close_with is not None:
            self._ensure_writer()

    @property
    def idle(self) -> bool:
        return self.started and self.writer is None and not self.events and self.metrics is None

    def _stale(self, epoch: str, seq: int) -> bool:
        """Already delivered (or of an epoch older than the console's)."""
        if not seq:
            return False
        return epoch < self.epoch or (epoch == self.epoch and seq <= self.last_seq)

    def _advance(self, epoch: str, seq: int) -> bool:
        """Take (epoch, seq) as delivered; False if it was already."""
        if self._stale(epoch, seq):
            return False
        if seq:
            self.epoch, self.last_seq = epoch, seq
        return True

    def push_event(self, epoch: str, seq: int, message: WireMessage) -> None:
        if self.close_with is not None or self._stale(epoch, seq):
            return
        if self.idle:
            self._advance(epoch, seq)
            self._send_now(message)
            return
        if len(self.events) >= self.max_pending:
            self.events.clear()
            self.metrics = None
            self.shutdown(CLOSE_SLOW, "slow consumer: too many undelivered events")
            return
        self.events.append((epoch, seq, message))
        self._ensure_writer()

    def push_metrics(self, message: WireMessage) -> None:
        if self.close_with is not None:
            return
        if self.idle:
            self._send_now(message)
        else:
            self.metrics = message  # latest wins: an unsent older snapshot is dropped
            self._ensure_writer()

    def push_control(self, message: WireMessage) -> None:
        self.push_event("", 0, message)

    def shutdown(self, code: int, reason: str) -> None:
        if self.close_with is None:
            self.close_with = (code, reason)
            self._ensure_writer()

    def _send_now(self, message: WireMessage) -> None:
        coro = self.ws.send(message)
        try:
            waiting = coro.send(None)
        except StopIteration:
            return  # written without suspending: the common case
        except Exception:
            coro.close()
            self.close_with = (CLOSE_GOING_AWAY, "send failed")
            return
        # The socket is not writable right now: a task finishes this send, then drains.
        self.writer = asyncio.get_running_loop().create_task(self._finish(coro, waiting))

    async def _finish(self, coro: Coroutine[Any, Any, None], waiting: Any) -> None:
        try:
            while True:
                # Drive the suspended send the way a Task would.
                if waiting is None:
                    await asyncio.sleep(0)
                else:
                    # The send already yielded this future to us (marked as awaited);
                    # awaiting it again raises "await wasn't used with future" once it
                    # is pending, so wait on it through a done-callback instead.
                    await asyncio.wait({waiting})
                try:
                    waiting = coro.send(None)
                except StopIteration:
                    break
        except BaseException:
            coro.close()
            self.writer = None
            raise
        await self._drain()

    def _ensure_writer(self) -> None:
        if self.writer is None and self.started:
            self.writer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        ws = self.ws
        try:
            while True:
                if self.close_with is not None:
                    code, reason = self.close_with
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(5):
                            await ws.close(code, reason)
                    return
                if self.events:
                    epoch, seq, message = self.events.popleft()
                    if self._advance(epoch, seq):
                        await ws.send(message)
                elif self.metrics is not None:
                    message, self.metrics = self.metrics, None
                    await ws.send(message)
                else:
                    return
        except Exception:
            self.close_with = (CLOSE_GOING_AWAY, "send failed")
        finally:
            self.writer = None

    async def run(self) -> None:
        """Read from the client (answering pings) until it goes away."""
        try:
            while True:
                msg = await self.ws.receive()
                if msg["type"] == "websocket.disconnect":
                    return
                text = msg.get("text")
                if text and '"ping"' in text:
                    self.push_control(PONG)
                if self.close_with is not None and self.writer is None:
                    return
        finally:
            if self.writer is not None:
                self.writer.cancel()


class StreamChannel:
    """This process's sockets for one stream, its broker subscription and ticker."""

    def __init__(self, hub: Hub, stream_id: int) -> None:
        self.hub = hub
        self.stream_id = stream_id
        self.connections: set[Connection] = set()
        self.epoch = ""
        self.last_seq = 0
        self.ticker: Ticker | None = None

    async def on_message(self, channel: str, raw: bytes) -> None:
        msg = orjson.loads(raw)
        epoch, seq = str(msg.get("epoch", "")), int(msg["seq"])
        if epoch < self.epoch or (epoch == self.epoch and seq <= self.last_seq):
            return
        if epoch != self.epoch:  # the counter restarted: this epoch's events from 1
            self.epoch, self.last_seq = epoch, 0
        if seq > self.last_seq + 1:
            missing = await self.hub.live.history_since(self.stream_id, epoch, self.last_seq)
            for old in missing or ():
                old_msg = orjson.loads(old)
                if int(old_msg["seq"]) < seq:
                    self._fan_out(epoch, int(old_msg["seq"]), old_msg.get("roles"), old)
        self._fan_out(epoch, seq, msg.get("roles"), raw)

    def _fan_out(self, epoch: str, seq: int, roles: list[str] | None, raw: bytes) -> None:
        if epoch == self.epoch:
            self.last_seq = max(self.last_seq, seq)
        prepared = prepare(raw)
        for conn in list(self.connections):
            if visible_to(roles, conn.audience):
                conn.push_event(epoch, seq, prepared)
                if conn.close_with is not None:
                    self.connections.discard(conn)


class Hub:
    def __init__(self, live: LiveServices, ticker_factory: Any) -> None:
        self.live = live
        self._ticker_factory = ticker_factory
        self._channels: dict[int, StreamChannel] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def connection_count(self, stream_id: int | None = None) -> int:
        if stream_id is not None:
            ch = self._channels.get(stream_id)
            return len(ch.connections) if ch else 0
        return sum(len(ch.connections) for ch in self._channels.values())

    def _lock_for(self, stream_id: int) -> asyncio.Lock:
        lock = self._locks.get(stream_id)
        if lock is None:
            lock = self._locks[stream_id] = asyncio.Lock()
        return lock

    async def attach(self, conn: Connection) -> None:
        """Start delivering the stream's events and metrics to `conn` (queued until the
        caller has sent the snapshot and starts `conn.run()`).

        Opening and closing a stream's channel is serialised per stream only: one
        stream's broker round trips or ticker shutdown never delay consoles of another.
        """
        stream_id = conn.stream_id
        async with self._lock_for(stream_id):
            ch = self._channels.get(stream_id)
            if ch is None:
                ch = StreamChannel(self, stream_id)
                ch.epoch, ch.last_seq = await self.live.position(stream_id)
                await self.live.broker.subscribe(self.live.events_channel(stream_id), ch.on_message)
                ch.ticker = self._ticker_factory(self, stream_id)
                ch.ticker.start()
                self._channels[stream_id] = ch
            ch.connections.add(conn)

    async def detach(self, conn: Connection) -> None:
        stream_id = conn.stream_id
        async with self._lock_for(stream_id):
            ch = self._channels.get(stream_id)
            if ch is None:
                return
            ch.connections.discard(conn)
            if ch.connections:
                return
            del self._channels[stream_id]
            await self.live.broker.unsubscribe(self.live.events_channel(stream_id), ch.on_message)
        # Outside the lock: a console opening the stream again meanwhile gets a fresh
        # channel and ticker at once instead of waiting for this one's last tick.
        if ch.ticker is not None:
            await ch.ticker.stop()

    def has_viewers(self, stream_id: int) -> bool:
        ch = self._channels.get(stream_id)
        return ch is not None and any(c.audience == "viewer" for c in ch.connections)

    def broadcast_metrics(
        self, stream_id: int, staff: WireMessage, public: WireMessage | None
    ) -> None:
        ch = self._channels.get(stream_id)
        if ch is None:
            return
        for conn in ch.connections:
            if conn.audience != "viewer":
                conn.push_metrics(staff)
            elif public is not None:
                conn.push_metrics(public)

    def broadcast_control(self, stream_id: int, message: WireMessage) -> None:
        ch = self._channels.get(stream_id)
        for conn in ch.connections if ch else ():
            conn.push_control(message)

    async def close(self) -> None:
        """Server shutdown: tell every socket, stop the tickers."""
        for ch in list(self._channels.values()):
            for conn in ch.connections:
                conn.shutdown(CLOSE_GOING_AWAY, "server shutting down")
            if ch.ticker is not None:
                await ch.ticker.stop()
        self._channels.clear()
