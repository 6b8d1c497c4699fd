"""Warm-up (预热引流): announcements per channel, reservations (预约) and reminders."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import Conflict, Unprocessable
from app.models import Reservation, Stream, StreamStatus, WarmupCampaign
from app.schemas.warmup import ReservationIn, ReservationsOut, WarmupIn, WarmupUpdate
from app.services.planning import ensure_plannable
from app.services.stream_rows import get_in_stream


async def campaigns(session: AsyncSession, stream_id: int) -> list[WarmupCampaign]:
    rows = await session.scalars(
        select(WarmupCampaign)
        .where(WarmupCampaign.stream_id == stream_id)
        .order_by(WarmupCampaign.publish_at, WarmupCampaign.id)
    )
    return list(rows.all())


async def add_campaign(session: AsyncSession, stream: Stream, data: WarmupIn) -> WarmupCampaign:
    ensure_plannable(stream)
    campaign = WarmupCampaign(stream_id=stream.id, **data.model_dump())
    session.add(campaign)
    await session.flush()
    return campaign


async def get_campaign(session: AsyncSession, stream_id: int, warmup_id: int) -> WarmupCampaign:
    return await get_in_stream(
        session, WarmupCampaign, stream_id, warmup_id, "warm-up", code="warmup_not_found"
    )


async def update_campaign(
    session: AsyncSession, stream: Stream, warmup_id: int, data: WarmupUpdate
) -> WarmupCampaign:
    ensure_plannable(stream)
    campaign = await get_campaign(session, stream.id, warmup_id)
    changes = data.model_dump(exclude_unset=True)
    for name in ("channel", "title", "publish_at", "published"):
        if name in changes and changes[name] is None:
            raise Unprocessable(f"{name} cannot be null", code="field_required", field=name)
    for name, value in changes.items():
        setattr(campaign, name, "" if value is None else value)
    await session.flush()
    return campaign


async def delete_campaign(session: AsyncSession, stream: Stream, warmup_id: int) -> None:
    ensure_plannable(stream)
    await session.delete(await get_campaign(session, stream.id, warmup_id))
    await session.flush()


async def reserve(
    session: AsyncSession, stream: Stream, data: ReservationIn
) -> tuple[Reservation, bool]:
    """Record a reservation; the same viewer twice is one reservation. Returns (it, new)."""
    if stream.status not in (StreamStatus.draft, StreamStatus.scheduled):
        raise Conflict(
            f"stream {stream.id} is {stream.status}: reservations are taken before it starts",
            code="reservations_closed",
        )
    query = select(Reservation).where(
        Reservation.stream_id == stream.id, Reservation.viewer_ref == data.viewer_ref
    )
    existing = await session.scalar(query)
    if existing is not None:
        return existing, False
    reservation = Reservation(stream_id=stream.id, **data.model_dump())
    try:
        async with session.begin_nested():
            session.add(reservation)
            await session.flush()
    except IntegrityError:
        # The same viewer reserved concurrently: theirs is the one reservation.
        existing = await session.scalar(query)
        if existing is None:
            raise
        return existing, False
    return reservation, True


async def reservations(session: AsyncSession, stream_id: int) -> ReservationsOut:
    rows = list(
        (
            await session.scalars(
                select(Reservation)
                .where(Reservation.stream_id == stream_id)
                .order_by(Reservation.id)
            )
        ).all()
    )
    by_channel = Counter((r.channel.value if r.channel else "unknown") for r in rows)
    return ReservationsOut.model_validate(
        {
            "total": len(rows),
            "reminded": sum(1 for r in rows if r.reminded_at is not None),
            "by_channel": dict(by_channel),
            "reservations": rows,
        }
    )


async def reminder_list(session: AsyncSession, stream_id: int) -> list[Reservation]:
    """Reservations not reminded yet: whom to notify before the stream starts."""
    rows = await session.scalars(
        select(Reservation)
        .where(Reservation.stream_id == stream_id, Reservation.reminded_at.is_(None))
        .order_by(Reservation.id)
    )
    return list(rows.all())


async def mark_reminded(session: AsyncSession, stream: Stream, ids: list[int]) -> int:
    wanted = set(ids)
    found = set(
        (
            await session.scalars(
                select(Reservation.id).where(
                    Reservation.stream_id == stream.id, Reservation.id.in_(wanted)
                )
            )
        ).all()
    )
    unknown = sorted(wanted - found)
    if unknown:
        raise Unprocessable(
            f"reservation(s) {unknown} are not this stream's; nothing was marked",
            code="reservation_not_found",
            reservation_ids=unknown,
        )
    result = await session.execute(
        update(Reservation)
        .where(Reservation.id.in_(wanted), Reservation.reminded_at.is_(None))
        .values(reminded_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))
