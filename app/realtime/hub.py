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
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson
import structlog
from starlette.websockets import WebSocket

from app.errors import AppError
from app.realtime.protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_SLOW,
    MAX_PENDING_EVENTS,
    PONG,
    SEND_TIMEOUT_SECONDS,
    SHARE_SECONDS,
    WireMessage,
    prepare,
    visible_to,
)

if TYPE_CHECKING:
    from app.realtime.revocation import StaffSocket
    from app.realtime.state import Live
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
        "staff",
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
        # Made on the first event that must wait: an idle console holds no deque
        # (~0.7 KiB each, issue 15: memory per idle console).
        self.events: deque[tuple[str, int, WireMessage]] | None = None
        self.metrics: WireMessage | None = None
        self.epoch = ""
        self.last_seq = 0
        self.close_with: tuple[int, str] | None = None
        self.writer: asyncio.Task[None] | None = None
        self.reader: asyncio.Task[Any] | None = None
        self.staff: StaffSocket | None = None  # a staff console's revocation entry
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
        events = self.events
        if events is None:
            events = self.events = deque()
        elif len(events) >= self.max_pending:
            events.clear()
            self.metrics = None
            self.shutdown(CLOSE_SLOW, "slow consumer: too many undelivered events")
            return
        events.append((epoch, seq, message))
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
                    if not self.events:
                        self.events = None  # idle again: no deque held
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
        self.events = None
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


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Shared(Generic[K, V]):
    """Results that consoles opening together share (a reconnect storm, issue 15).

    `get(key, compute)` runs `compute` once per key at a time: whoever asks while it runs
    waits for that result, and whoever asks within `ttl` seconds after it finished gets
    it too. An exception of one of the `shared_errors` types is the answer for every
    waiter (not remembered afterwards); any other failure makes each waiter try again.
    """

    def __init__(self, ttl: float, shared_errors: tuple[type[BaseException], ...] = ()) -> None:
        self.ttl = ttl
        self.shared_errors = shared_errors
        self._pending: dict[K, asyncio.Future[V]] = {}
        self._done: OrderedDict[K, tuple[float, V]] = OrderedDict()  # in expiry order
        self.computed = 0  # how many times `compute` ran to a result
        self.reused = 0  # how many answers came from another console's computation

    def _remembered(self, key: K, now: float) -> tuple[float, V] | None:
        done = self._done
        while done:  # forget what expired (entries are in expiry order: ttl is fixed)
            first = next(iter(done.values()))
            if first[0] > now:
                break
            done.popitem(last=False)
        return done.get(key)

    async def get(self, key: K, compute: Callable[[], Awaitable[V]]) -> tuple[V, bool]:
        """(value, reused): reused when another console's computation answered."""
        while True:
            hit = self._remembered(key, time.monotonic())
            if hit is not None:
                self.reused += 1
                return hit[1], True
            pending = self._pending.get(key)
            if pending is None:
                break
            try:
                value = await asyncio.shield(pending)
            except self.shared_errors:
                raise
            except Exception:
                continue  # that computation failed: try again (one of us computes)
            self.reused += 1
            return value, True
        fut: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        fut.add_done_callback(_retrieve)
        self._pending[key] = fut
        try:
            value = await compute()
            self.computed += 1
            if self.ttl > 0:
                self._done[key] = (time.monotonic() + self.ttl, value)
            fut.set_result(value)
            return value, False
        except self.shared_errors as exc:
            fut.set_exception(exc)
            raise
        except BaseException as exc:
            if not fut.done():
                fut.set_exception(RuntimeError(f"shared computation failed: {exc!r}"))
            raise
        finally:
            if self._pending.get(key) is fut:
                del self._pending[key]

    def pending(self, key: K) -> bool:
        return key in self._pending

    def forget(self) -> None:
        self._done.clear()


class FreshReads(Generic[V]):
    """A read that must start after the caller asked, shared by the callers that ask
    together: whoever asks while a read is in flight waits for the next one, which
    every caller that arrived meanwhile shares. So a storm of consoles costs one
    round trip at a time, and each console still gets a value read after it attached."""

    def __init__(self, read: Callable[[], Awaitable[V]]) -> None:
        self._read = read
        self._next: asyncio.Future[V] | None = None
        self._task: asyncio.Task[None] | None = None
        self.reads = 0

    async def get(self) -> V:
        fut = self._next
        if fut is None:
            fut = self._next = asyncio.get_running_loop().create_future()
            fut.add_done_callback(_retrieve)
            if self._task is None:
                self._task = asyncio.get_running_loop().create_task(self._run())
        return await asyncio.shield(fut)

    async def _run(self) -> None:
        try:
            while self._next is not None:
                fut, self._next = self._next, None
                self.reads += 1
                try:
                    fut.set_result(await self._read())
                except Exception as exc:
                    fut.set_exception(exc)
        finally:
            self._task = None
            if self._next is not None and not self._next.done():  # cancelled meanwhile
                self._next.set_exception(RuntimeError("read cancelled"))
                self._next = None


class StreamChannel:
    """This process's sockets for one stream, its broker subscription and ticker."""

    def __init__(self, hub: Hub, stream_id: int) -> None:
        self.hub = hub
        self.stream_id = stream_id
        self.connections: set[Connection] = set()
        self.epoch = ""
        self.last_seq = 0
        self.ticker: Ticker | None = None
        # Whether (epoch, last_seq) is the position of the last event published: true
        # once the subscription has delivered an event (holes are filled from the
        # history), or when the position did not move while the subscription was set
        # up. Until then consoles ask the broker (`positions`, once per round trip).
        self.exact = False
        self.positions: FreshReads[tuple[str, int]] = FreshReads(
            lambda: hub.live.position(stream_id)
        )

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
        self.exact = True

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
Snapshot = dict[bool, WireMessage]  # the prepared snapshot for resumed False / True


class Hub:
    def __init__(self, live: Live, ticker_factory: Any) -> None:
        self.live = live
        self._ticker_factory = ticker_factory
        self._channels: dict[int, StreamChannel] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        # What consoles opening together share (issue 15): one snapshot per stream,
        # audience and position, and one check of a console's right to open a stream
        # (routers/live.py), each remembered for SHARE_SECONDS.
        self.snapshots: Shared[SnapshotKey, Snapshot] = Shared(SHARE_SECONDS)
        self.access: Shared[Hashable, Any] = Shared(SHARE_SECONDS, (AppError,))

    @property
    def snapshot_builds(self) -> int:
        return self.snapshots.computed

    @property
    def snapshots_shared(self) -> int:
        return self.snapshots.reused

    async def snapshot(
        self, key: SnapshotKey, build: Callable[[], Awaitable[dict[str, Any]]]
    ) -> tuple[Snapshot, bool]:
        """The snapshot for (stream, audience, position), serialized once for
        `resumed` false and true: consoles that open together (a reconnect storm) get
        the one build in flight or made less than SHARE_SECONDS ago instead of each
        querying the database. Returns (messages, shared).

        Sharing by position is safe: every discrete change publishes an event, which
        moves the position, so a snapshot is only ever shared with consoles at the same
        position; only the metrics part may be up to SHARE_SECONDS old, and a console
        given a shared snapshot is sent the stream's latest metrics right after it."""

        async def _build() -> Snapshot:
            snap = await build()
            return {r: prepare({**snap, "resumed": r}) for r in (False, True)}

        return await self.snapshots.get(key, _build)

    async def position(self, stream_id: int) -> tuple[str, int]:
        """The position a console attached to the stream's channel starts from: every
        event after it reaches the console, every event up to it is in its snapshot.

        That is the channel's own position (the last event it fanned out) once it is
        exact: a reconnect storm then costs no broker round trip per console. An event
        published but not yet fanned out is delivered to the console afterwards (at
        least once; consoles take a repeat as a no-op). Otherwise the broker is asked,
        after this call, once per round trip for the consoles asking together."""
        ch = self._channels.get(stream_id)
        if ch is None or self.live.redis is None:  # embedded: a lookup in memory
            return await self.live.position(stream_id)
        if ch.exact:
            return ch.epoch, ch.last_seq
        return await ch.positions.get()

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
                # An event published before the subscription took effect would leave the
                # channel behind until the next one fills the hole: exact only if not.
                if self.live.redis is not None:
                    moved = await self.live.position(stream_id) != (ch.epoch, ch.last_seq)
                    ch.exact = ch.exact or not moved
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
