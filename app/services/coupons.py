"""Coupons (满减): issued during the stream, claimed by viewers, spent on an order.

A claim is one conditional UPDATE (`claimed < quantity` and within validity) followed by
the per-viewer count, both under the coupon's row lock (PostgreSQL) or the write lock
(SQLite), so a coupon is never claimed more often than its quantity or a viewer's limit.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import Conflict, NotFound
from app.models import Coupon, CouponClaim, LineupItem, Stream, User
from app.realtime.outbox import queue_event
from app.schemas.common import format_money
from app.schemas.orders import CouponCreate
from app.services.controls import log_action
from app.services.stream_rows import get_in_stream


def payload(c: Coupon) -> dict[str, object]:
    return {
        "coupon_id": c.id,
        "title": c.title,
        "product_id": c.product_id,
        "amount": format_money(c.amount),
        "threshold": format_money(c.threshold),
        "quantity": c.quantity,
        "claimed": c.claimed,
        "remaining": c.quantity - c.claimed,
        "per_user_limit": c.per_user_limit,
        "valid_from": c.valid_from.isoformat(),
        "valid_until": c.valid_until.isoformat(),
        "server_time": utcnow().isoformat(),
    }


async def issue_coupon(
    session: AsyncSession, stream: Stream, data: CouponCreate, user: User
) -> Coupon:
    if data.product_id is not None:
        listed = await session.scalar(
            select(LineupItem.id).where(
                LineupItem.stream_id == stream.id, LineupItem.product_id == data.product_id
            )
        )
        if listed is None:
            raise NotFound(
                f"product {data.product_id} is not in this stream's lineup", code="not_in_lineup"
            )
    now = utcnow()
    valid_from = data.valid_from or now
    if data.valid_until <= max(valid_from, now):
        raise Conflict("valid_until is already past", code="coupon_expired")
    coupon = Coupon(
        stream_id=stream.id,
        title=data.title,
        product_id=data.product_id,
        amount=data.amount,
        threshold=data.threshold,
        quantity=data.quantity,
        claimed=0,
        per_user_limit=data.per_user_limit,
        valid_from=valid_from,
        valid_until=data.valid_until,
        created_by=user.id,
    )
    session.add(coupon)
    await session.flush()
    queue_event(session, stream.id, "coupon.issued", payload(coupon))
    log_action(
        session,
        stream.id,
        user,
        "coupon",
        coupon.product_id,
        coupon_id=coupon.id,
        title=coupon.title,
        amount=format_money(coupon.amount),
        threshold=format_money(coupon.threshold),
        quantity=coupon.quantity,
        valid_until=coupon.valid_until.isoformat(),
    )
    return coupon


async def list_coupons(session: AsyncSession, stream_id: int) -> list[Coupon]:
    rows = await session.scalars(
        select(Coupon).where(Coupon.stream_id == stream_id).order_by(Coupon.id.desc())
    )
    return list(rows.all())


async def get_coupon(session: AsyncSession, stream_id: int, coupon_id: int) -> Coupon:
    return await get_in_stream(session, Coupon, stream_id, coupon_id, "coupon", fresh=True)


def _check_valid(coupon: Coupon, now: datetime) -> None:
    if now < coupon.valid_from:
        raise Conflict("this coupon is not valid yet", code="coupon_not_started")
    if now >= coupon.valid_until:
        raise Conflict("this coupon has expired", code="coupon_expired")


async def claim_coupon(
    session: AsyncSession, stream_id: int, coupon_id: int, viewer_id: str
) -> CouponClaim:
    now = utcnow()
    taken = await session.execute(
        update(Coupon)
        .where(
            Coupon.id == coupon_id,
            Coupon.stream_id == stream_id,
            Coupon.claimed < Coupon.quantity,
            Coupon.valid_from <= now,
            Coupon.valid_until > now,
        )
        .values(claimed=Coupon.claimed + 1)
        .returning(Coupon.per_user_limit)
        .execution_options(synchronize_session=False)
    )
    row = taken.one_or_none()
    if row is None:
        coupon = await get_coupon(session, stream_id, coupon_id)
        _check_valid(coupon, now)
        raise Conflict("all of this coupon has been claimed", code="coupon_exhausted")
    held = await session.scalar(
        select(func.count(CouponClaim.id)).where(
            CouponClaim.coupon_id == coupon_id, CouponClaim.viewer_id == viewer_id
        )
    )
    if (held or 0) >= row.per_user_limit:
        # Raising rolls the request back, and with it the `claimed + 1` above.
        raise Conflict(
            f"at most {row.per_user_limit} of this coupon per viewer", code="limit_exceeded"
        )
    claim = CouponClaim(coupon_id=coupon_id, stream_id=stream_id, viewer_id=viewer_id)
    session.add(claim)
    await session.flush()
    return claim


async def viewer_claims(session: AsyncSession, stream_id: int, viewer_id: str) -> list[CouponClaim]:
    rows = await session.scalars(
        select(CouponClaim)
        .where(CouponClaim.stream_id == stream_id, CouponClaim.viewer_id == viewer_id)
        .order_by(CouponClaim.id)
    )
    return list(rows.all())


async def prepare_redemption(
    session: AsyncSession,
    stream_id: int,
    coupon_id: int,
    viewer_id: str,
    product_id: int,
    subtotal: Decimal,
) -> tuple[int, Decimal]:
    """Check that the viewer may spend this coupon on this order: (claim id, discount)."""
    coupon = await session.get(Coupon, coupon_id)
    if coupon is None or coupon.stream_id != stream_id:
        raise Conflict(f"coupon {coupon_id} is not a coupon of this stream", code="coupon_invalid")
    _check_valid(coupon, utcnow())
    if coupon.product_id is not None and coupon.product_id != product_id:
        raise Conflict("this coupon is for another product", code="coupon_invalid")
    if subtotal < coupon.threshold:
        raise Conflict(
            f"this coupon needs an order of at least {format_money(coupon.threshold)}",
            code="coupon_threshold_not_met",
        )
    claim_id = await session.scalar(
        select(CouponClaim.id)
        .where(
            CouponClaim.coupon_id == coupon_id,
            CouponClaim.viewer_id == viewer_id,
            CouponClaim.used_at.is_(None),
        )
        .order_by(CouponClaim.id)
        .limit(1)
    )
    if claim_id is None:
        raise Conflict("claim this coupon first (or it is used up)", code="coupon_not_claimed")
    return claim_id, min(coupon.amount, subtotal)


async def mark_used(session: AsyncSession, claim_id: int, order_id: int) -> None:
    result = await session.execute(
        update(CouponClaim)
        .where(CouponClaim.id == claim_id, CouponClaim.used_at.is_(None))
        .values(used_at=utcnow(), used_order_id=order_id)
        .returning(CouponClaim.id)
        .execution_options(synchronize_session=False)
    )
    if result.one_or_none() is None:  # spent by a concurrent order of the same viewer
        raise Conflict("this coupon was just used by another order", code="coupon_not_claimed")


async def release_for_order(session: AsyncSession, order_id: int) -> None:
    """A cancelled or refunded order gives its coupon back to the viewer."""
    await session.execute(
        update(CouponClaim)
        .where(CouponClaim.used_order_id == order_id)
        .values(used_at=None, used_order_id=None)
        .execution_options(synchronize_session=False)
    )
