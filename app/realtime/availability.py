"""Redis going away and coming back (issue 15, point 4).

Redis holds what selling and the live figures need at once: the stock mirror, the live
counters, the event positions, pub/sub. While it is away the server must say so rather
than half-work, and when it is back it must be right before it sells again.

* `LiveStoreGate` (ASGI, outermost on the selling paths): while Redis is away, or back
  but not yet repaired, `POST /api/v1/streams/{id}/events` (ingest), `.../viewer-events`
  and `.../orders` (and its pay / cancel steps) answer `503 live_store_unavailable` with
  `Retry-After` at once — never a 500, never a hang. A Redis error that reaches any
  endpoint before the watchdog noticed is answered the same way (an exception handler)
  and closes the gate.
* `RedisWatchdog` (every instance): pings Redis every `WATCH_SECONDS`. When it answers
  again after an outage it repairs before reopening: every live stream's counters are
  rebuilt from the durable log (they may have lost keys, or missed events whose count
  failed after commit) and its stock mirror re-synced from the database; the positions
  start a new epoch by themselves when the key was lost (state.py), and the outbox
  relay publishes what could not be published meanwhile. One instance repairs at a time
  (a Redis lock); the others wait for it to finish before reopening.

Events logged and acknowledged before the outage stay in the durable log, so the
rebuilt counters include them; orders are never taken without the mirror, and the
database's own `sold_units + q <= allotted_stock` check stands behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

import orjson
import redis.exceptions
import structlog
from fastapi import FastAPI, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import Settings
from app.errors import JSONBody

if TYPE_CHECKING:
    from app.realtime.state import Live

log = structlog.get_logger(__name__)

WATCH_SECONDS = 0.5
RETRY_AFTER_SECONDS = 2
REPAIR_LOCK_SECONDS = 60
UNAVAILABLE = {
    "detail": "live store (Redis) unavailable; nothing was done, retry shortly",
    "code": "live_store_unavailable",
}
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# The selling and ingest paths: they need Redis before they may answer.
_GATED = re.compile(
    r"^/api/v1/streams/[0-9]+/(events|viewer-events|orders(/[0-9]+/(pay|cancel))?)$"
)


def _unavailable_body() -> bytes:
    return orjson.dumps(UNAVAILABLE)


class RedisWatchdog:
    """Knows whether Redis is usable (`ok`) and repairs after an outage."""

    def __init__(
        self, live: Live, maker: async_sessionmaker[AsyncSession], settings: Settings
    ) -> None:
        self.live = live
        self.maker = maker
        self.settings = settings
        self.ok = True
        self.down_since: float | None = None
        self.repairs = 0
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def lost(self) -> None:
        """A Redis call just failed: close the gate until the watchdog repaired."""
        if self.ok:
            log.warning("redis_lost")
            self.ok = False
            self.down_since = time.monotonic()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="redis-watchdog")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        assert self.live.redis is not None
        while not self._stop.is_set():
            try:
                async with asyncio.timeout(2):
                    await self.live.redis.ping()
                if not self.ok:
                    await self.repair()
            except Exception as exc:
                if self.ok:
                    log.warning("redis_unreachable", error=str(exc))
                self.lost()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WATCH_SECONDS):
                    await self._stop.wait()

    async def repair(self) -> None:
        """Rebuild the live streams' counters from the log and re-sync their stock
        mirrors, then reopen. Under a Redis lock: one instance repairs, the others wait
        for the lock to be released before reopening."""
        redis = self.live.redis
        assert redis is not None
        lock = self.live.key("repair", "lock")
        token = uuid.uuid4().hex
        if not await redis.set(lock, token, nx=True, ex=REPAIR_LOCK_SECONDS):
            # another instance repairs: reopen once it is done
            async with asyncio.timeout(REPAIR_LOCK_SECONDS):
                while await redis.exists(lock):  # noqa: ASYNC110 - a key in Redis
                    await asyncio.sleep(0.1)
            self._reopen(0)
            return
        try:
            from app.models import Stream, StreamStatus
            from app.services.eventlog import rebuild_counters
            from app.services.stock_resync import resync_stream

            async with self.maker() as session:
                live_ids = list(
                    (
                        await session.scalars(
                            select(Stream.id).where(Stream.status == StreamStatus.live)
                        )
                    ).all()
                )
            for stream_id in live_ids:
                async with self.maker() as session:
                    await rebuild_counters(self.live.counters, session, stream_id)
                async with self.maker() as session:
                    await resync_stream(session, self.live, self.settings, stream_id)
        finally:
            with contextlib.suppress(Exception):
                if await redis.get(lock) == token.encode():
                    await redis.delete(lock)
        self.repairs += 1
        self._reopen(len(live_ids))

    def _reopen(self, streams: int) -> None:
        took = time.monotonic() - (self.down_since or time.monotonic())
        self.ok = True
        self.down_since = None
        log.warning("redis_back", repaired_streams=streams, seconds=round(took, 2))


class LiveStoreGate:
    """Answers the selling paths with 503 while the watchdog says Redis is not usable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and _GATED.match(scope["path"]):
            watchdog: RedisWatchdog | None = getattr(scope["app"].state, "redis_watchdog", None)
            if watchdog is not None and not watchdog.ok:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": _unavailable_body()})
                return
        await self.app(scope, receive, send)


def install_redis_unavailable_handler(app: FastAPI) -> None:
    """A Redis connection error anywhere in a request: 503 with Retry-After (nothing was
    committed: the request's transaction rolls back), and the gate closes."""

    async def _redis_away(request: Request, exc: Exception) -> JSONBody:
        watchdog: Any = getattr(request.app.state, "redis_watchdog", None)
        if watchdog is not None:
            watchdog.lost()
        log.warning("redis_unavailable", path=request.url.path, error=str(exc))
        return JSONBody(
            UNAVAILABLE, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        )

    for exc_type in REDIS_DOWN:
        app.add_exception_handler(exc_type, _redis_away)
