"""Viewer events in: the one entry point that logs and counts them, and ingest keys.

Everyone who creates viewer events calls `record_events` — the ingest endpoint, the
watch page, the orders service (order_created / order_paid / order_cancelled /
order_refunded for orders placed through the API), the comment service. It
de-duplicates by `event_id`, writes the durable log in the caller's transaction, and
counts the new events once that transaction has committed. What the log feeds (the
rollups, the comment intake) is folded in after commit by app/services/projection.py.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import Conflict, Unauthorized
from app.models import IngestKey, Stream, StreamStatus, User
from app.realtime.outbox import PendingEvent, after_commit
from app.realtime.protocol import PUBLIC_ROLES
from app.realtime.state import Live
from app.schemas.events import EventIn
from app.services import webhooks
from app.services.eventlog import rebuild_counters, write_events
from app.services.stream_rows import get_in_stream
from app.services.uow import UnitOfWork

KEY_PREFIX = "lcr_ik_"
STOCK_EVENTS = frozenset({"order_created", "order_cancelled"})


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    accepted: int
    duplicates: int


async def record_events(
    uow: UnitOfWork,
    stream_id: int,
    events: Sequence[EventIn],
    *,
    wake_projection: bool = True,
) -> IngestOutcome:
    """Log and count viewer events for a stream; returns (accepted, duplicates).

    * `uow` is the request's unit of work (or a worker's `UnitOfWork.begin`), which
      owns the transaction: this only writes, it never commits.
    * The events are written to the durable log now, inside your transaction, and
      counted in the live counters only after it commits (via `after_commit`), so a
      rolled-back request changes no number.
    * An event whose `event_id` was recorded before (in this batch, an earlier one, or
      on another instance) is a duplicate: neither logged nor counted again. Give
      your own events stable ids, e.g. `f"order:{order.id}:paid"`, so a retried
      request counts once.
    * It does not check that the stream is live; callers decide (ingest answers 409).
    * After commit it wakes this instance's projection worker, which folds the new log
      rows into the rollups (`wake_projection=False`: the caller folds them itself).
    * On PostgreSQL the stream's log lock is held until your transaction ends.
    """
    session, live = uow.session, uow.live
    new = await write_events(session, stream_id, events)
    if new:
        moved = {e.product_id for e in new if e.type in STOCK_EVENTS and e.product_id is not None}
        if moved:
            webhooks.note_stock(session, stream_id, moved)

        async def _count() -> None:
            await live.counters.apply(stream_id, new)
            touched = {
                e.product_id for e in new if e.type in STOCK_EVENTS and e.product_id is not None
            }
            if touched:
                await announce_stock(live, session, stream_id, touched)
                if live.workers.stock_alerts is not None:  # sold out even if nobody looks
                    live.workers.stock_alerts.kick(stream_id, touched)
            if wake_projection and live.projection is not None:
                live.projection.kick(stream_id)

        after_commit(session, _count)
    return IngestOutcome(accepted=len(new), duplicates=len(events) - len(new))


async def announce_stock(
    live: Live, session: AsyncSession, stream_id: int, product_ids: set[int]
) -> None:
    """Publish `stock.changed` {product_id, stock_left, allotted_stock, sold_units} for
    lineup products whose held units moved (runs after commit, on the committed session)."""
    from app.services.metrics import load_stock, stock_left

    lines = await load_stock(session, stream_id, sorted(product_ids))
    for line in lines:
        left = stock_left(line)
        await live.publish_event(
            PendingEvent(
                stream_id,
                "stock.changed",
                {
                    "product_id": line.product_id,
                    "stock_left": left,
                    "allotted_stock": line.allotted_stock,
                    # units held by orders that are not cancelled
                    "sold_units": line.allotted_stock - left,
                },
                PUBLIC_ROLES,
            )
        )


# --------------------------------------------------------------------------- keys


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(
    session: AsyncSession, stream: Stream, creator: User, label: str = ""
) -> tuple[IngestKey, str]:
    """A new random key for the stream; the plain key is returned this once only."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = IngestKey(
        stream_id=stream.id,
        key_hash=hash_key(key),
        prefix=key[: len(KEY_PREFIX) + 4],
        label=label,
        created_by=creator.id,
    )
    session.add(row)
    await session.flush()
    return row, key


async def list_keys(session: AsyncSession, stream_id: int) -> list[IngestKey]:
    rows = await session.scalars(
        select(IngestKey).where(IngestKey.stream_id == stream_id).order_by(IngestKey.id)
    )
    return list(rows.all())


async def revoke_key(session: AsyncSession, stream_id: int, key_id: int) -> IngestKey:
    row = await get_in_stream(session, IngestKey, stream_id, key_id, "ingest key")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        await session.flush()
    return row


async def stream_for_key(session: AsyncSession, stream_id: int, key: str | None) -> int:
    """The id of the live stream this key may feed: 401 for a wrong key, 409 if not live."""
    if not key:
        raise Unauthorized("missing X-Ingest-Key header", code="ingest_key_missing")
    found = (
        await session.execute(
            select(IngestKey.id, IngestKey.last_used_at, Stream.status)
            .join(Stream, IngestKey.stream_id == Stream.id)
            .where(
                IngestKey.key_hash == hash_key(key),
                IngestKey.stream_id == stream_id,
                IngestKey.revoked_at.is_(None),
            )
        )
    ).first()
    if found is None:
        raise Unauthorized("invalid or revoked ingest key", code="ingest_key_invalid")
    if found.status != StreamStatus.live:
        raise Conflict(
            f"stream {stream_id} is not live (status {found.status})", code="stream_not_live"
        )
    now = datetime.now(UTC)
    # At most once a minute: a write per batch would serialise concurrent batches on
    # the key's row lock.
    if found.last_used_at is None or now - found.last_used_at > timedelta(minutes=1):
        await session.execute(
            update(IngestKey).where(IngestKey.id == found.id).values(last_used_at=now)
        )
    return stream_id


async def restore_counters(live: Live, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Embedded mode keeps counters in memory: after a restart, recount every live
    stream from its log before serving. (Redis keeps them across restarts.)"""
    if live.counters.durable:
        return
    async with sessionmaker() as session:
        live_ids = (
            await session.scalars(select(Stream.id).where(Stream.status == StreamStatus.live))
        ).all()
        for stream_id in live_ids:
            await rebuild_counters(live.counters, session, stream_id)
