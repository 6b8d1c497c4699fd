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
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from starlette.websockets import WebSocket

from app.realtime.protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_SLOW,
    MAX_PENDING_EVENTS,
    PONG,
    SEND_TIMEOUT_SECONDS,
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
        "reader",
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
        self.reader: asyncio.Task[Any] | None = None
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
                    done, _ = await asyncio.wait({waiting}, timeout=SEND_TIMEOUT_SECONDS)
                    if not done:
                        coro.close()
                        self.writer = None
                        self._stalled()
                        return
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
                        await self._send_or_stall(message)
                elif self.metrics is not None:
                    message, self.metrics = self.metrics, None
                    await self._send_or_stall(message)
                else:
                    return
        except _Stalled:
            self._stalled()
        except Exception:
            self.close_with = (CLOSE_GOING_AWAY, "send failed")
        finally:
            self.writer = None

    async def _send_or_stall(self, message: WireMessage) -> None:
        try:
            async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                await self.ws.send(message)
        except TimeoutError:
            raise _Stalled from None

    def _stalled(self) -> None:
        """The console stopped reading: one send has not gone out for
        SEND_TIMEOUT_SECONDS. Closing politely would wait on the same full buffer, so
        the connection is ended here: its reader is woken and the handler returns."""
        log.info("console_stalled", stream_id=self.stream_id)
        self.events.clear()
        self.metrics = None
        self.close_with = (CLOSE_SLOW, "slow consumer: stopped reading")
        if self.reader is not None and not self.reader.done():
            self.reader.cancel()

    async def run(self) -> None:
        """Read from the client (answering pings) until it goes away (or stalls)."""
        self.reader = asyncio.current_task()
        try:
            while True:
                try:
                    msg = await self.ws.receive()
                except asyncio.CancelledError:
                    stalled = self.close_with is not None and self.close_with[0] == CLOSE_SLOW
                    if stalled and self.reader is not None and self.reader.uncancel() == 0:
                        return  # our own wake-up (_stalled), not a shutdown
                    raise
                if msg["type"] == "websocket.disconnect":
                    return
                text = msg.get("text")
                if text and '"ping"' in text:
                    self.push_control(PONG)
                if self.close_with is not None and self.writer is None:
                    return
        finally:
            self.reader = None
            if self.writer is not None:
                self.writer.cancel()


class _Stalled(Exception):
    pass


def _retrieve(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()  # a failed shared build is not an "exception never retrieved"


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


SnapshotKey = tuple[int, str, str, int]  # stream, audience, epoch, seq


class Hub:
    def __init__(self, live: LiveServices, ticker_factory: Any) -> None:
        self.live = live
        self._ticker_factory = ticker_factory
        self._channels: dict[int, StreamChannel] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        # Snapshots being built, shared by the consoles that open meanwhile (issue 15).
        self._snapshots: dict[SnapshotKey, asyncio.Future[dict[bool, WireMessage]]] = {}
        self.snapshot_builds = 0
        self.snapshots_shared = 0

    async def snapshot(
        self, key: SnapshotKey, build: Callable[[], Awaitable[dict[str, Any]]]
    ) -> tuple[dict[bool, WireMessage], bool]:
        """The snapshot for (stream, audience, position), serialized once for
        `resumed` false and true: consoles that open together (a reconnect storm) wait
        for the one build in flight instead of each querying the database. Returns
        (messages, shared). Nothing is kept once the build is done: a console opening
        later gets a fresh one."""
        pending = self._snapshots.get(key)
        if pending is not None:
            try:
                wires = await asyncio.shield(pending)
                self.snapshots_shared += 1
                return wires, True
            except Exception:
                pass  # the build failed: build our own
        fut: asyncio.Future[dict[bool, WireMessage]] = asyncio.get_running_loop().create_future()
        fut.add_done_callback(_retrieve)
        self._snapshots[key] = fut
        try:
            snap = await build()
            wires = {r: prepare({**snap, "resumed": r}) for r in (False, True)}
            self.snapshot_builds += 1
            fut.set_result(wires)
            return wires, False
        except BaseException as exc:
            if not fut.done():
                fut.set_exception(RuntimeError(f"snapshot build failed: {exc!r}"))
            raise
        finally:
            if self._snapshots.get(key) is fut:
                del self._snapshots[key]

    def snapshot_pending(self, key: SnapshotKey) -> bool:
        return key in self._snapshots

    def latest_metrics(self, stream_id: int, audience: str) -> WireMessage | None:
        """The stream's last metrics message for this audience (None if none yet)."""
        ch = self._channels.get(stream_id)
        if ch is None or ch.ticker is None:
            return None
        return ch.ticker.public_message if audience == "viewer" else ch.ticker.staff_message

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
