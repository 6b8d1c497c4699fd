"""The watch page's storefront: listed products with their live price and stock left."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import Conflict, Forbidden
from app.models import (
    Coupon,
    FlashSale,
    FlashSaleStatus,
    LineupItem,
    ListingStatus,
    Lottery,
    LotteryStatus,
    Product,
    ProductPrice,
    StreamStatus,
)
from app.schemas.storefront import (
    ReferencePrice,
    StorefrontBundle,
    StorefrontCoupon,
    StorefrontFlashSale,
    StorefrontLottery,
    StorefrontOut,
    StorefrontProduct,
    StorefrontTier,
)
from app.services.access import public_stream
from app.services.metrics import left_of
from app.services.uow import UnitOfWork

# A draft is still being planned: nothing of it is public yet.


async def storefront(session: AsyncSession, stream_id: int) -> StorefrontOut:
    stream = await public_stream(session, stream_id)
    rows = await session.execute(
        select(LineupItem, Product)
        .join(Product, Product.id == LineupItem.product_id)
        .where(LineupItem.stream_id == stream_id, LineupItem.status == ListingStatus.listed)
        .order_by(LineupItem.explaining.desc(), LineupItem.position, LineupItem.id)
    )
    listed = [(item, product) for item, product in rows]
    all_items = {
        it.product_id: it
        for it in await session.scalars(select(LineupItem).where(LineupItem.stream_id == stream_id))
    }
    references = await reference_prices(
        session, [item.product_id for item, _ in listed], stream.started_at or utcnow()
    )
    products = [
        StorefrontProduct(
            product_id=item.product_id,
            position=item.position,
            name=product.name,
            live_price=item.live_price,
            list_price=product.list_price,
            reference_price=references.get(item.product_id),
            stock_left=left_of(item.allotted_stock, item.sold_units),
            status=item.status,
            explaining=item.explaining,
            gifts=list(item.gifts or []),
            gift_left=(
                max(0, item.gift_stock - item.gifts_given) if item.gift_stock is not None else None
            ),
            full_reduction=[
                StorefrontTier(threshold=t["threshold"], discount=t["discount"])
                for t in item.full_reduction or []
            ],
            coupon_discount=item.coupon_discount,
            coupon_min_spend=item.coupon_min_spend,
            bundles=[_bundle(item, b, all_items) for b in item.bundles or []],
            selling_points=list(product.selling_points or []),
            image_urls=list(product.image_urls or []),
        )
        for item, product in listed
    ]
    now = utcnow()
    sales = await session.scalars(
        select(FlashSale)
        .where(
            FlashSale.stream_id == stream_id,
            FlashSale.status == FlashSaleStatus.active,
            FlashSale.ends_at > now,
        )
        .order_by(FlashSale.ends_at)
    )
    flash_sales = [
        StorefrontFlashSale(
            id=fs.id,
            product_id=fs.product_id,
            price=fs.price,
            quantity=fs.quantity,
            remaining=max(0, fs.quantity - fs.sold),
            per_user_limit=fs.per_user_limit,
            starts_at=fs.starts_at,
            ends_at=fs.ends_at,
        )
        for fs in sales
    ]
    lotteries = await session.scalars(
        select(Lottery)
        .where(Lottery.stream_id == stream_id, Lottery.status == LotteryStatus.open)
        .order_by(Lottery.draw_at)
    )
    coupons = await session.scalars(
        select(Coupon)
        .where(
            Coupon.stream_id == stream_id,
            Coupon.valid_from <= now,
            Coupon.valid_until > now,
            Coupon.claimed < Coupon.quantity,
        )
        .order_by(Coupon.amount.desc(), Coupon.id)
    )
    return StorefrontOut(
        stream_id=stream.id,
        coupons=[
            StorefrontCoupon(
                id=c.id,
                title=c.title,
                product_id=c.product_id,
                amount=c.amount,
                threshold=c.threshold,
                remaining=c.quantity - c.claimed,
                per_user_limit=c.per_user_limit,
                valid_until=c.valid_until,
            )
            for c in coupons
        ],
        title=stream.title,
        status=stream.status,
        started_at=stream.started_at,
        products=products,
        flash_sales=flash_sales,
        lotteries=[
            StorefrontLottery(
                id=x.id,
                prize=x.prize,
                winners_count=x.winners_count,
                condition=str(x.condition),
                keyword=x.keyword,
                draw_at=x.draw_at,
            )
            for x in lotteries
        ],
        server_time=now,
    )


REFERENCE_DAYS = 7


async def reference_prices(
    session: AsyncSession, product_ids: list[int], at: datetime
) -> dict[int, ReferencePrice]:
    """「日常价」 per product: the lowest price its price history recorded in the 7 days
    before `at` (the stream's start), counting the price in force when the window opened.
    No record in or before the window: no basis, no reference price."""
    if not product_ids:
        return {}
    since = at - timedelta(days=REFERENCE_DAYS)
    rows = (
        await session.execute(
            select(ProductPrice.product_id, ProductPrice.price, ProductPrice.recorded_at)
            .where(ProductPrice.product_id.in_(product_ids), ProductPrice.recorded_at <= at)
            .order_by(ProductPrice.product_id, ProductPrice.recorded_at, ProductPrice.id)
        )
    ).all()
    lowest: dict[int, Decimal] = {}
    in_force: dict[int, Decimal] = {}
    for pid, price, recorded_at in rows:
        if recorded_at <= since:
            in_force[pid] = price  # the price when the window opened (latest before it)
            continue
        lowest[pid] = min(lowest.get(pid, price), price)
    for pid, price in in_force.items():
        lowest[pid] = min(lowest.get(pid, price), price)
    return {
        pid: ReferencePrice(
            price=price, basis="daily_price", label="日常价", days=REFERENCE_DAYS, since=since
        )
        for pid, price in lowest.items()
    }


def _bundle(
    item: LineupItem, bundle: dict[str, Any], items: dict[int, LineupItem]
) -> StorefrontBundle:
    others = sorted({int(p) for p in bundle.get("product_ids", [])} - {item.product_id})
    parts = [item.product_id, *others]
    lefts = [
        left_of(items[p].allotted_stock, items[p].sold_units)
        if p in items and items[p].status == ListingStatus.listed
        else 0
        for p in parts
    ]
    return StorefrontBundle(
        name=str(bundle["name"]),
        price=Decimal(str(bundle["price"])),
        product_ids=parts,
        available=min(lefts),
    )


def watch_comment_event_id(viewer_id: str, event_id: str | None) -> str | None:
    """The log's id of a watch-page comment: scoped by the viewer, so two viewers who
    send the same `event_id` do not collide (and "watch:" keeps it apart from the ids of
    the other watch-page actions, `<viewer>:<event_id>`)."""
    return f"watch:{viewer_id}:{event_id}" if event_id else None


async def post_comment(
    uow: UnitOfWork, stream_id: int, viewer_id: str, text: str, event_id: str | None
) -> tuple[int, int]:
    """A comment typed on the watch page: moderated, classified and queued like any other,
    and counted like an ingested `comment` event (event log, per-minute rollups, the live
    `comments` counter), de-duplicated by the viewer-scoped event id.

    Refused while the stream is not live (409) or the viewer is muted (403 `muted`).
    """
    from app.schemas.events import EventIn
    from app.services import comments as comments_service
    from app.services.ingest import record_events

    session = uow.session
    stream = await public_stream(session, stream_id)
    if stream.status != StreamStatus.live:
        raise Conflict("comments are open only while the stream is live", code="stream_not_live")
    if viewer_id in await comments_service.muted_viewers(session, stream_id, [viewer_id]):
        raise Forbidden("you are muted in this room for a while", code="muted")
    scoped = watch_comment_event_id(viewer_id, event_id)
    now = utcnow()
    result = await comments_service.intake_comments(
        session,
        uow.live.comment_counts,
        stream_id,
        [comments_service.IncomingComment(viewer_id=viewer_id, text=text, event_id=scoped, ts=now)],
        source="watch",
    )
    # The live path: logged last (the log lock), counted after commit.
    await record_events(
        uow, stream_id, [EventIn("comment", viewer_id, event_id=scoped, ts=now, text=text)]
    )
    return result.accepted, result.duplicates
