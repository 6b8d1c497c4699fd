"""Async engine, sessions and the declarative base.

The request owns the transaction: `get_session` commits when the handler returns and
rolls back when it raises. Services only `flush()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import structlog
from fastapi import Request
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from app.realtime.state import Live

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def create_engine(url: str, pool_size: int = 20, pool_timeout: float = 30.0) -> AsyncEngine:
    kwargs: dict[str, Any] = {"pool_timeout": pool_timeout}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    # A failed statement's message must not list its parameters: they include password
    # hashes and key digests, and the message reaches the error log (issue #19).
    engine = create_async_engine(url, hide_parameters=True, **kwargs)
    if url.startswith("sqlite"):
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: one session and one transaction per request."""
    async with unit_of_work(request.app.state.sessionmaker, request.app.state.live) as session:
        yield session


@asynccontextmanager
async def unit_of_work(
    maker: async_sessionmaker[AsyncSession], live: Live
) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, then publish its queued events and run its
    after-commit hooks; on an error roll back and run its compensations. Requests get it
    through `get_session`; background tasks (e.g. the flash-sale ticker) use it directly.
    """
    from app.realtime.outbox import drop_events, publish_committed, take_events

    async with maker() as session:
        # Services reach the live adapters (Redis) through the session they are given,
        # and open transactions of their own (e.g. a group of orders) with its maker.
        session.info[LIVE_KEY] = live
        session.info[MAKER_KEY] = maker
        try:
            yield session
            await session.commit()
        except BaseException:
            drop_events(session)
            session.info.pop(AFTER_COMMIT_KEY, None)
            await session.rollback()
            await run_after_rollback(session)
            raise
        session.info.pop(AFTER_ROLLBACK_KEY, None)
        await publish_committed(live, take_events(session))
        for hook in session.info.pop(AFTER_COMMIT_KEY, []):
            try:
                await hook()
            except Exception:  # committed is committed: log, never turn it into an error
                structlog.get_logger(__name__).exception("after_commit_hook_failed")
            if session.in_transaction():
                # A hook that read through the committed session began a new transaction:
                # end it (hooks write in units of work of their own), so the next hook's
                # unit of work is not nested inside it.
                await session.rollback()


LIVE_KEY = "lcr_live"
MAKER_KEY = "lcr_maker"
AFTER_COMMIT_KEY = "lcr_after_commit"
AFTER_ROLLBACK_KEY = "lcr_after_rollback"
Hook = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession | Session, hook: Hook) -> None:
    """Run `hook` once the request's transaction has committed (e.g. mark a Redis
    idempotency entry as done). Like queued events, it never runs for a rollback."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(hook)


def after_rollback(session: AsyncSession, hook: Hook) -> None:
    """Run `hook` if the request's transaction rolls back: compensation for work done
    outside the database (e.g. give back stock taken in Redis)."""
    session.info.setdefault(AFTER_ROLLBACK_KEY, []).append(hook)


async def rollback_now(session: AsyncSession) -> None:
    """Roll back inside a request (e.g. after losing a unique-key race) and compensate;
    the session then starts a fresh transaction."""
    from app.realtime.outbox import drop_events

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
            structlog.get_logger(__name__).exception("rollback_hook_failed")
