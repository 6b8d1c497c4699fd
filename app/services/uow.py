"""The unit of work: one transaction and the live adapters, the one way a workflow gets
them.

A request gets one from the `UowDep` dependency (app/deps.py; `SessionDep` is its
session); a worker opens one with `async with UnitOfWork.begin(maker, live) as uow`.
On success it commits, then publishes the events queued with `uow.emit` (the outbox,
app/realtime/outbox.py) and runs the `after_commit` hooks; on an error it rolls back and
runs the `after_rollback` compensations. Lineup edits made through its session reach
the stock book after commit (app/services/stock_mirror.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.realtime.outbox import (
    AFTER_COMMIT_KEY,
    Hook,
    after_commit,
    after_rollback,
    drop_events,
    publish_committed,
    queue_event,
    rollback_now,
    run_after_rollback,
    take_after_commit,
    take_events,
)
from app.realtime.state import Live
from app.services.stock_mirror import watch_lineup

log = structlog.get_logger(__name__)


class UnitOfWork:
    __slots__ = ("live", "maker", "session")

    def __init__(
        self, session: AsyncSession, live: Live, maker: async_sessionmaker[AsyncSession]
    ) -> None:
        self.session = session
        self.live = live
        # For a workflow that needs a transaction of its own (e.g. a group of orders).
        self.maker = maker

    def emit(
        self,
        stream_id: int,
        type: str,
        data: dict[str, Any],
        roles: frozenset[str] | None = None,
    ) -> None:
        """Announce an event to the stream's consoles once this unit commits."""
        queue_event(self.session, stream_id, type, data, roles)

    def after_commit(self, hook: Hook) -> None:
        after_commit(self.session, hook)

    def after_rollback(self, hook: Hook) -> None:
        after_rollback(self.session, hook)

    async def rollback_now(self) -> None:
        """Roll back now and compensate (e.g. after losing a unique-key race); the unit
        goes on with a fresh transaction."""
        await rollback_now(self.session)

    @classmethod
    @asynccontextmanager
    async def begin(
        cls, maker: async_sessionmaker[AsyncSession], live: Live
    ) -> AsyncIterator[UnitOfWork]:
        async with maker() as session:
            watch_lineup(session, live.stock)
            uow = cls(session, live, maker)
            try:
                yield uow
                await session.commit()
            except BaseException:
                drop_events(session)
                session.info.pop(AFTER_COMMIT_KEY, None)
                await session.rollback()
                await run_after_rollback(session)
                raise
            hooks = take_after_commit(session)
            await publish_committed(live, take_events(session))
            for hook in hooks:
                try:
                    await hook()
                except Exception:  # committed is committed: log, never turn it into an error
                    log.exception("after_commit_hook_failed")
                if session.in_transaction():
                    # A hook that read through the committed session began a new
                    # transaction: end it (hooks write in units of work of their own), so
                    # the next hook's unit of work is not nested inside it.
                    await session.rollback()
