"""A reconnect storm must not starve the other requests (issue 15, point 3).

After a restart or a network blip every console reconnects at once, and one process's
event loop does thousands of opens (uvicorn's handshake, our token check, the shared
snapshot, the first send). Two things made other requests wait meanwhile (5,000 consoles,
quiet 2-vCPU machine, `bench/bench_fanout.py`; another request's p99 went 11 → 113 ms):

1. **CPython's full collections.** A full (generation 2) collection stops the process
   and scans every object not frozen at start-up; CPython runs one each time the
   long-lived objects have grown by a quarter, so a storm that adds 5,000 consoles'
   objects triggered five of them: 15, 31, 46, 72 and 93 ms (timed with `gc.callbacks`),
   each added to every request in flight. During a storm they are now held back
   (`FullCollections`): the young generations are still collected, and the one full
   collection CPython's own rule then asks for comes after the storm (~100 ms, once).
   The HTTP protocol an upgrade leaves behind is freed at once instead of waiting for
   the collector (its parser called back into it: a cycle per console).
2. **Opens taking turns.** The HTTP protocol parses the upgrade request (in C) and then,
   if `CONSOLE_OPENS_AT_ONCE` (16) consoles are already opening, stops reading that
   socket and queues it (FIFO); the socket waits in the kernel. A turn ends when the
   app says the console is open or refused (`opened`, app/routers/live.py), when its
   task ends, when its connection drops, or after `TURN_SECONDS`. Plain HTTP requests
   and connections already open are never queued. A waiting console is how a storm is
   recognised (when the full collections are held), and a client that hung up while
   queued is dropped without being opened.

With both: `/healthz` p99 3 → 6 ms during the storm (the naive FastAPI server: 2 → 229
ms); a request with database and Redis round trips 7 → 33-49 ms, most of it each round
trip's wait on a machine whose two cores the storm (and its client) keep busy. See
BENCHMARKS.md.

`controlroom serve` passes these protocol classes to uvicorn (`http=`, `ws=`). Under
another ASGI server nothing breaks; the opens are simply not paced.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from typing import Any

from prometheus_client import Gauge
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

TURN_SECONDS = 2.0
# A storm is over once no console has opened or waited for this long.
CALM_SECONDS = 1.0
# Full collections are never held back longer than this: a storm that never calms (a
# flood of opens) must not let cyclic garbage pile up without bound.
MAX_HOLD_SECONDS = 30.0

HTTP_PROTOCOL = "app.realtime.opening:PacedHttpProtocol"
WS_PROTOCOL = "app.realtime.opening:PacedWebSocketProtocol"

OPENS_WAITING = Gauge(
    "controlroom_console_opens_waiting", "Websocket upgrades waiting for their turn to open"
)
OPENS_RUNNING = Gauge("controlroom_console_opens_running", "Websocket upgrades opening now")


class FullCollections:
    """Hold CPython's full (generation 2) collections back while a storm lasts.

    A full collection scans every object the process has not frozen, and CPython runs one
    each time the long-lived objects have grown by a quarter: while 5,000 consoles opened
    that was five stop-the-world pauses of 15, 31, 46, 72 and 93 ms (measured with
    `gc.callbacks`), each one added to every request in flight. During a storm the young
    generations are still collected (they hold the opens' short-lived garbage); the full
    collection comes once, when the storm is over, as CPython's own rule then asks.
    """

    def __init__(self) -> None:
        self.held: tuple[int, int, int] | None = None
        self.since = 0.0
        self.spent = False  # held for MAX_HOLD_SECONDS: not again until the storm ends

    def hold(self) -> None:
        now = time.monotonic()
        if self.held is None:
            if not self.spent:
                self.held = gc.get_threshold()
                self.since = now
                young, middle, _old = self.held
                gc.set_threshold(young, middle, 1 << 30)
        elif now - self.since > MAX_HOLD_SECONDS:
            self.release()
            self.spent = True

    def release(self) -> None:
        if self.held is not None:
            gc.set_threshold(*self.held)
            self.held = None

    def calm(self) -> None:
        self.release()
        self.spent = False


class Turns:
    """At most `limit` holders at once; the rest start in arrival order as turns end.

    A console that has to wait means a storm: full collections are held back until no
    console has opened or waited for `CALM_SECONDS`.
    """

    def __init__(self, limit: int, collections: FullCollections | None = None) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.running = 0
        self.waiting: deque[Callable[[], None]] = deque()
        self.collections = collections or FullCollections()
        self.holders: dict[asyncio.Protocol, Turn] = {}
        self._calm: asyncio.TimerHandle | None = None

    @property
    def storm(self) -> bool:
        return self.collections.held is not None or self.collections.spent

    def take(self, start: Callable[[], None]) -> None:
        """Run `start` now if a turn is free, else when one is; `start` must call `done`."""
        if self._calm is not None:
            self._calm.cancel()
            self._calm = None
        if self.running < self.limit:
            self.running += 1
            OPENS_RUNNING.set(self.running)
            start()
        else:
            self.collections.hold()
            self.waiting.append(start)
            OPENS_WAITING.set(len(self.waiting))

    def done(self) -> None:
        self.running -= 1
        loop = asyncio.get_running_loop()
        if self.waiting and self.running < self.limit:
            start = self.waiting.popleft()
            self.running += 1
            OPENS_WAITING.set(len(self.waiting))
            # on the next loop turn: never inside the callback of the turn that just ended
            loop.call_soon(start)
        elif self.running == 0 and self.storm and self._calm is None:
            self._calm = loop.call_later(CALM_SECONDS, self._calmed)
        OPENS_RUNNING.set(self.running)

    def _calmed(self) -> None:
        self._calm = None
        if self.running == 0 and not self.waiting:
            self.collections.calm()


_turns: Turns | None = None


def turns() -> Turns:
    """This process's turns (one server per process)."""
    global _turns
    if _turns is None:
        from app.config import get_settings

        _turns = Turns(get_settings().console_opens_at_once)
    return _turns


class Turn:
    """One console's turn, from its upgrade until `end` (the first of: the app's `opened`,
    its task ending, the connection dropping, TURN_SECONDS)."""

    __slots__ = ("protocol", "timer", "turns")

    def __init__(self, turns: Turns, protocol: asyncio.Protocol) -> None:
        self.turns = turns
        self.protocol = protocol
        self.timer: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            TURN_SECONDS, self.end
        )
        turns.holders[protocol] = self

    def end(self) -> None:
        if self.turns.holders.pop(self.protocol, None) is self:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            self.turns.done()


# The scope key under which a console's app finds its turn (until it calls `opened`).
TURN_KEY = "lcr.opening_turn"


def opened(scope: MutableMapping[str, Any]) -> None:
    """Called by the app once its console is open (snapshot written) or refused: the next
    console may start. A no-op outside a paced server."""
    turn = scope.pop(TURN_KEY, None)
    if isinstance(turn, Turn):
        turn.end()


class PacedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O websocket protocol; a turn it holds ends when it is done with."""

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_turn()
        super().connection_lost(exc)

    def on_task_complete(self, task: asyncio.Task[None]) -> None:
        self._end_turn()
        super().on_task_complete(task)

    def _end_turn(self) -> None:
        turn = turns().holders.get(self)
        if turn is not None:
            turn.end()


def peer_left(transport: asyncio.BaseTransport) -> bool:
    """Did the client hang up while its socket was not being read? (Its EOF waits in the
    kernel: a peek sees it without reading anything the websocket would need.)"""
    sock = transport.get_extra_info("socket")
    fd = sock.fileno() if sock is not None else -1
    if fd < 0:
        return False
    peek = socket.socket(fileno=fd)
    try:
        return peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False  # nothing to read: still there
    except OSError:
        return True  # reset
    finally:
        peek.detach()  # the transport keeps its descriptor


class PacedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol whose websocket upgrades wait for a turn."""

    def handle_websocket_upgrade(self) -> None:
        transport = self.transport
        transport.pause_reading()  # the socket waits in the kernel, not in our memory
        turns().take(self._upgrade_in_turn)

    def _upgrade_in_turn(self) -> None:
        transport = self.transport
        if transport.is_closing() or peer_left(transport):  # gone while it waited
            transport.close()
            turns().done()
            return
        turn = Turn(turns(), self)
        super().handle_websocket_upgrade()  # makes the scope and the app's task (not run yet)
        # This protocol is done with: its parser calls back into it (a cycle), which
        # left it for the cyclic collector; without the parser, it goes at once.
        self.parser = None  # type: ignore[assignment]
        ws = transport.get_protocol()
        if isinstance(ws, PacedWebSocketProtocol) and not transport.is_closing():
            del turn.turns.holders[self]  # held from now on by the websocket protocol
            turn.protocol = ws
            turn.turns.holders[ws] = turn
            ws.scope[TURN_KEY] = turn  # type: ignore[literal-required]
        else:
            turn.end()
        transport.resume_reading()
