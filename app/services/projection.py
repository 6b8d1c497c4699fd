"""What is derived from the event log, derived after the log commits.

Ingest only logs (and counts in Redis): acknowledging a batch costs its log insert and
its counters, not the dozen rollup upserts and the comment intake that follow from it.
Those are folded in here, from the committed log, per stream in log order:

* the rollups `stream_viewers` / `stream_minutes` and the review's per-product,
  per-second and presence rollups (`eventlog.fold_rollups`);
* the comment intake: moderation, classification, the service queue, the
  `comment.new` pushes (`comments.intake_comments`) for comments that came through
  ingest (watch-page comments are taken in by their own request).

Exactly once: `stream_projections.last_event_id` is the last log row folded in; a
fold reads the rows after it, moves it, and writes what they change, in one
transaction. The cursor row is locked while a fold runs (`FOR UPDATE`; background
folds `SKIP LOCKED` and leave the stream to whoever holds it), and the move is a
compare-and-set, so on SQLite — which has no row locks — a second folder that read
the same cursor changes nothing and reads again. The log's writers make ids visible
in order per stream (`eventlog.write_events`), so no row can appear behind the cursor.

Who folds:
* the ingest request, right after its batch commits, if no one else is folding that
  stream (so a connector's questions reach the queue before its 202, and a quiet
  stream is always up to date);
* the `ProjectionWorker` of every instance: woken after any logged batch and every
  `SWEEP_SECONDS` (a crash between commit and fold, a fold skipped while another held
  the cursor);
* readers that need everything (the review, its exports, viewer segments) call
  `catch_up` first, which waits for a running fold and folds the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import dialect_insert, utcnow
from app.domain.effects import PRESENCE_TYPES
from app.models import Stream, StreamEvent, StreamProjection, StreamStatus
from app.realtime.ports import CommentCounts
from app.realtime.state import Live
from app.schemas.events import EventIn
from app.services.eventlog import fold_rollups, logged_after, pg_fold_range, pg_next_range
from app.services.rollups import apply_presence
from app.services.uow import UnitOfWork

log = structlog.get_logger(__name__)

CHUNK = 5000  # log rows per fold (one transaction) on PostgreSQL
SQLITE_CHUNK = 1000  # SQLite: the fold holds the database's one write lock meanwhile
ROUNDS = 4  # folds an ingest request runs after its commit before it leaves the rest
SWEEP_SECONDS = 1.0
WATCH_COMMENT_PREFIX = "watch:"  # see storefront.watch_comment_event_id
_READ_TYPES = (*PRESENCE_TYPES, "comment")  # what PostgreSQL folds cannot sum in SQL

RECENT = timedelta(days=1)

FOLDED = Counter("lcr_projection_folded_events_total", "Log rows folded into derived tables")
FAILED = Counter(
    "lcr_projection_failures_total",
    "Folds that failed (retried by the next kick or sweep); a stream whose fold keeps "
    "failing stays behind: see the log's projection_failed entries",
)
BEHIND = Gauge(
    "lcr_projection_behind_events",
    "Log rows of live (or recently ended) streams not yet folded, at this instance's last sweep",
)


async def fold(
    session: AsyncSession,
    counts: CommentCounts,
    stream_id: int,
    *,
    wait: bool,
    limit: int | None = None,
) -> int:
    """Fold the next `limit` log rows of the stream in the session's transaction.

    Returns how many were folded: 0 when the stream is up to date, -1 when someone else
    holds the cursor (`wait=False`) or moved it first (read again). The caller commits.
    """
    query = (
        select(StreamProjection.last_event_id)
        .where(StreamProjection.stream_id == stream_id)
        .with_for_update(skip_locked=not wait)
    )
    pg = session.get_bind().dialect.name == "postgresql"
    limit = limit or (CHUNK if pg else SQLITE_CHUNK)
    cursor = await session.scalar(query)
    if cursor is None:
        if not wait:
            return -1  # locked (or a stream without a cursor: catch_up creates it)
        await session.execute(_insert_cursor(session, stream_id))
        cursor = await session.scalar(query)
        if cursor is None:
            return -1
    if pg:
        # The sums in SQL; Python reads only what it must replay or take in.
        n, last = await pg_next_range(session, stream_id, cursor, limit)
        if not n:
            return 0
        if not await _move(session, stream_id, cursor, last):
            return -1
        await pg_fold_range(session, stream_id, cursor, last)
        events, _ = await logged_after(
            session, stream_id, cursor, limit, with_text=True, upto=last, types=_READ_TYPES
        )
        await apply_presence(session, stream_id, events)
    else:
        events, last = await logged_after(session, stream_id, cursor, limit, with_text=True)
        n = len(events)
        if not n:
            return 0
        if not await _move(session, stream_id, cursor, last):
            return -1
        await fold_rollups(session, stream_id, events)
    await _take_in_comments(session, counts, stream_id, events)
    FOLDED.inc(n)
    return n


async def _move(session: AsyncSession, stream_id: int, cursor: int, last: int) -> bool:
    """Compare-and-set the cursor from `cursor` to `last`: False if it had moved."""
    moved = await session.execute(
        update(StreamProjection)
        .where(StreamProjection.stream_id == stream_id, StreamProjection.last_event_id == cursor)
        .values(last_event_id=last, updated_at=utcnow())
    )
    return getattr(moved, "rowcount", 0) == 1


def _insert_cursor(session: AsyncSession, stream_id: int) -> Any:
    return (
        dialect_insert(session, StreamProjection)
        .values(stream_id=stream_id, last_event_id=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["stream_id"])
    )


async def _take_in_comments(
    session: AsyncSession, counts: CommentCounts, stream_id: int, events: Sequence[EventIn]
) -> None:
    from app.services import comments as comments_service

    incoming = [
        comments_service.IncomingComment(
            e.user_id, e.text or "", f"ingest:{e.event_id}" if e.event_id else None, e.ts
        )
        for e in events
        if e.type == "comment" and not (e.event_id or "").startswith(WATCH_COMMENT_PREFIX)
    ]
    if incoming:
        await comments_service.intake_comments(session, counts, stream_id, incoming, "ingest")


async def catch_up(session: AsyncSession, counts: CommentCounts, stream_id: int) -> int:
    """Fold everything logged so far for the stream, in the session's transaction
    (waiting for a fold that is running); returns the rows folded here."""
    total = lost = 0
    while True:
        n = await fold(session, counts, stream_id, wait=True)
        if n == 0:
            return total
        if n < 0:  # SQLite: another folder moved the cursor first; read it again
            lost += 1
            if lost > 100:
                raise RuntimeError(f"stream {stream_id}: the projection cursor keeps moving")
            continue
        total += n


async def fold_after_commit(
    maker: async_sessionmaker[AsyncSession], live: Live, stream_id: int
) -> None:
    """A few folds of the stream, each its own unit of work, unless another transaction
    is folding it; what is left is the worker's."""
    for _ in range(ROUNDS):
        try:
            async with UnitOfWork.begin(maker, live) as uow:
                n = await fold(uow.session, uow.live.comment_counts, stream_id, wait=False)
        except Exception:
            FAILED.inc()
            log.exception("projection_failed", stream_id=stream_id)
            break  # the worker tries again
        if n == 0:
            return
        if n < 0:
            break  # its holder may have looked before our rows committed: wake the worker
    if live.projection is not None:
        live.projection.kick(stream_id)


class ProjectionWorker:
    """Each instance's background folder: woken by `kick(stream_id)` after a batch is
    logged, and every `sweep_seconds` for any stream with rows past its cursor."""

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        live: Live,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        self.maker = maker
        self.live = live
        self.sweep_seconds = sweep_seconds
        self._pending: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def kick(self, stream_id: int) -> None:
        self._pending.add(stream_id)
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="projection")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        last_sweep = 0.0
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.sweep_seconds)
            self._wake.clear()
            if self._stopping:
                return
            streams, self._pending = self._pending, set()
            try:
                if time.monotonic() - last_sweep >= self.sweep_seconds:
                    last_sweep = time.monotonic()
                    streams.update(await self._behind())
                for stream_id in sorted(streams):
                    await self._fold_all(stream_id)
            except Exception:  # a database hiccup: the next sweep tries again
                FAILED.inc()
                log.exception("projection_failed")
                await asyncio.sleep(self.sweep_seconds)

    async def _behind(self) -> list[int]:
        """Streams live or ended within `RECENT` with log rows past their cursor (an
        older stream's review folds what is left when it is read); sets the gauge."""
        p, e = StreamProjection, StreamEvent
        last = select(func.max(e.id)).where(e.stream_id == p.stream_id).scalar_subquery()
        async with self.maker() as session:
            rows = (
                await session.execute(
                    select(p.stream_id, last - p.last_event_id)
                    .join(Stream, Stream.id == p.stream_id)
                    .where(
                        or_(
                            Stream.status == StreamStatus.live,
                            Stream.ended_at > utcnow() - RECENT,
                        ),
                        exists().where(e.stream_id == p.stream_id, e.id > p.last_event_id),
                    )
                )
            ).all()
        BEHIND.set(sum(int(n or 0) for _, n in rows))
        return [stream_id for stream_id, _ in rows]

    async def _fold_all(self, stream_id: int) -> None:
        for _ in range(ROUNDS * 5):  # then the other streams get their turn
            if self._stopping:
                return
            async with UnitOfWork.begin(self.maker, self.live) as uow:
                n = await fold(uow.session, uow.live.comment_counts, stream_id, wait=False)
            if n <= 0:
                return
        self._pending.add(stream_id)
        self._wake.set()
