"""Durable publish after commit: a transactional outbox.

Services announce discrete events with `queue_event(session, ...)`. That writes a row
of `live_outbox` in the session's transaction (so the event exists exactly when the
change does) and remembers it on the session. Once the transaction has committed, the
unit of work (`app.services.uow.UnitOfWork`, i.e. every request) publishes the events at once
— the fast path, as before — and the published rows are deleted in small batches.

If the process dies between the commit and the publish (kill -9, OOM, a lost Redis), the
rows stay. Every instance runs an `OutboxRelay` that publishes rows older than
`RELAY_GRACE_SECONDS` (in id order, locked with SKIP LOCKED on PostgreSQL so two relays
never take the same row) and deletes them. Delivery is therefore at least once: an
event carries its row id as `id`; with Redis the publish script publishes an id once
while it remembers it, and consoles drop an `id` they have already seen.

A console never hears of something the database then rolled back: a rolled-back
transaction takes its rows with it, and nothing is published before the commit.

Call sites: `uow.emit(...)` / `queue_event(...)` inside a `UnitOfWork` (a request, or
`async with UnitOfWork.begin(maker, live)` in a worker), which publishes after its
commit. The hooks run around the commit (`after_commit`, `after_rollback`) live here
too, beside the events they accompany.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from sqlalchemy import delete, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from app.db import utcnow
from app.models.outbox import LiveOutbox

if TYPE_CHECKING:
    from app.realtime.state import Live

log = structlog.get_logger(__name__)

# session.info keys: the queued PendingEvents (read by app/services/webhooks.py before
# the commit) and, in the same order, their outbox rows.
OUTBOX_KEY = "lcr_outbox"
OUTBOX_ROWS_KEY = "lcr_outbox_rows"
RELAY_GRACE_SECONDS = 2.0
RELAY_INTERVAL_SECONDS = 0.5
RELAY_BATCH = 200


@dataclass(frozen=True)
class PendingEvent:
    stream_id: int
    type: str
    data: dict[str, Any]
    roles: frozenset[str] | None = None  # None: every console of the stream may see it
    id: int | None = None  # the outbox row's id once written (consoles de-duplicate by it)


def queue_event(
    session: AsyncSession,
    stream_id: int,
    type: str,
    data: dict[str, Any],
    roles: frozenset[str] | None = None,
) -> None:
    """Announce `type` (e.g. "product.listed") to the stream's consoles: written with
    the session's transaction, published once it has committed."""
    row = LiveOutbox(
        stream_id=stream_id,
        type=type,
        data=orjson.dumps(data).decode(),
        roles=",".join(sorted(roles)) if roles is not None else None,
    )
    session.add(row)
    session.info.setdefault(OUTBOX_KEY, []).append(PendingEvent(stream_id, type, data, roles))
    session.info.setdefault(OUTBOX_ROWS_KEY, []).append(row)


def take_events(session: AsyncSession) -> list[PendingEvent]:
    """The session's queued events with their outbox ids (call after the commit)."""
    queued: list[PendingEvent] = session.info.pop(OUTBOX_KEY, [])
    rows: list[LiveOutbox] = session.info.pop(OUTBOX_ROWS_KEY, [])
    out = []
    for row, event in zip(rows, queued, strict=True):
        identity = inspect(row).identity  # no load: safe on an expired instance
        row_id = int(identity[0]) if identity else None
        out.append(PendingEvent(event.stream_id, event.type, event.data, event.roles, row_id))
    return out


def drop_events(session: AsyncSession) -> None:
    session.info.pop(OUTBOX_KEY, None)
    session.info.pop(OUTBOX_ROWS_KEY, None)


# session.info keys of the hooks run once the transaction has ended.
AFTER_COMMIT_KEY = "lcr_after_commit"
AFTER_ROLLBACK_KEY = "lcr_after_rollback"
Hook = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession | Session, hook: Hook) -> None:
    """Run `hook` once the transaction has committed (e.g. mark a stock book's
    idempotency entry as done). Like queued events, it never runs for a rollback."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(hook)


def after_rollback(session: AsyncSession, hook: Hook) -> None:
    """Run `hook` if the transaction rolls back: compensation for work done outside the
    database (e.g. give back stock taken in the stock book)."""
    session.info.setdefault(AFTER_ROLLBACK_KEY, []).append(hook)


def take_after_commit(session: AsyncSession) -> list[Hook]:
    session.info.pop(AFTER_ROLLBACK_KEY, None)
    hooks: list[Hook] = session.info.pop(AFTER_COMMIT_KEY, [])
    return hooks


async def rollback_now(session: AsyncSession) -> None:
    """Roll back inside a unit of work (e.g. after losing a unique-key race) and
    compensate; the session then starts a fresh transaction."""
    drop_events(session)
    session.info.pop(AFTER_COMMIT_KEY, None)
    await session.rollback()
    await run_after_rollback(session)


async def run_after_rollback(session: AsyncSession) -> None:
    """Run (and forget) the compensations; a service that rolls back on its own calls it."""
    for hook in reversed(session.info.pop(AFTER_ROLLBACK_KEY, [])):
        try:
            await hook()
        except Exception:  # one failed compensation must not skip the others
            log.exception("rollback_hook_failed")


def row_event(row: LiveOutbox) -> PendingEvent:
    roles = frozenset(row.roles.split(",")) if row.roles is not None else None
    return PendingEvent(row.stream_id, row.type, orjson.loads(row.data), roles, row.id)


# A failpoint for the crash tests (tests/live/test_outbox.py): with
# LCR_FAILPOINT=crash_after_commit:<event type>, a unit of work that committed an event
# of that type kills its own process (SIGKILL) before publishing anything.
_FAILPOINT = os.environ.get("LCR_FAILPOINT", "")


def crash_point(events: list[PendingEvent]) -> None:
    if _FAILPOINT.startswith("crash_after_commit:"):
        wanted = _FAILPOINT.split(":", 1)[1]
        if any(e.type == wanted for e in events):
            os.kill(os.getpid(), signal.SIGKILL)


async def publish_committed(live: Live, events: list[PendingEvent]) -> None:
    """The fast path after a commit. A failure (Redis away) is logged, not raised: the
    change is committed and its events are in the outbox, where the relay finds them."""
    crash_point(events)
    for event in events:
        try:
            await live.publish_event(event)
        except Exception as exc:
            log.warning("publish_deferred_to_relay", type=event.type, error=str(exc))
            return


class OutboxRelay:
    """Per process: deletes published rows in batches and publishes rows whose
    publisher did not (older than `grace` seconds)."""

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        live: Live,
        interval: float = RELAY_INTERVAL_SECONDS,
        grace: float = RELAY_GRACE_SECONDS,
    ) -> None:
        self._maker = maker
        self._live = live
        self._interval = interval
        self._grace = grace
        self._published: list[int] = []
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._postgres = maker.kw["bind"].dialect.name == "postgresql"

    def published(self, outbox_id: int) -> None:
        """Called by `Live.publish_event` for each outbox event it published."""
        self._published.append(outbox_id)

    def start(self) -> None:
        self._live.bus.on_published = self.published
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self._task
            self._task.cancel()
        with contextlib.suppress(Exception):
            await self.forget_published()

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.forget_published()
                while await self.relay_once() == RELAY_BATCH:
                    pass
            except Exception as exc:  # the database or Redis is away: try again later
                log.warning("outbox_relay_failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._stop.wait()

    async def forget_published(self) -> None:
        ids, self._published = self._published, []
        if not ids:
            return
        try:
            async with self._maker() as session:
                await session.execute(delete(LiveOutbox).where(LiveOutbox.id.in_(ids)))
                await session.commit()
        except Exception:
            self._published[:0] = ids
            raise

    async def relay_once(self) -> int:
        """Publish (in id order) and delete up to RELAY_BATCH rows older than the grace
        period; returns how many. A publish that fails leaves them for the next round."""
        cutoff = utcnow() - timedelta(seconds=self._grace)
        query = (
            select(LiveOutbox)
            .where(LiveOutbox.created_at < cutoff)
            .order_by(LiveOutbox.id)
            .limit(RELAY_BATCH)
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        async with self._maker() as session:
            rows = list((await session.scalars(query)).all())
            if not rows:
                return 0
            done = []
            try:
                for row in rows:
                    await self._live.publish_event(row_event(row))
                    done.append(row.id)
            finally:
                if done:
                    await session.execute(delete(LiveOutbox).where(LiveOutbox.id.in_(done)))
                    await session.commit()
                    # the publish callback queued them too: they are gone already
                    gone = set(done)
                    self._published = [i for i in self._published if i not in gone]
            log.info("outbox_relayed", count=len(done))
            return len(done)
