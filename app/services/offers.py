"""Offers honoured at checkout, computed by the server and written on the order.

An order records its list price (the product's), its live price (the lineup's, or the
flash sale's), every discount applied and the amount paid:

1. 满减 tiers of the lineup item (`full_reduction`): the highest tier whose threshold
   the order's subtotal reaches, e.g. 满199减20.
2. The lineup item's coupon (`coupon_discount` off an order of at least
   `coupon_min_spend`, 商品券): applied by itself when the subtotal after the tier
   reaches its minimum.
3. One claimed stream coupon (the `coupon_id` chosen, or with `best_coupon` the valid
   one worth most): its threshold is checked against the subtotal after 1 and 2.

They stack (「满199减20，可叠加优惠券」); the amount never goes below 0. A flash-sale
order gets none of them (the flash price is its offer). A gift (the item's first
`gifts` line) goes with every order while gift stock lasts: one gift set per unit,
taken by a conditional UPDATE (`gifts_given + q <= gift_stock`), so the last gift goes
to exactly one order; with no `gift_stock` set, every order gets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.models import Coupon, CouponClaim, LineupItem, Product, ProductPrice
from app.schemas.common import format_money

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Terms:
    """The offer fields of one lineup item and its product's list price."""

    item_id: int
    product_id: int
    live_price: Decimal
    list_price: Decimal
    tiers: list[dict[str, Any]] = field(default_factory=list)
    coupon_discount: Decimal | None = None
    coupon_min_spend: Decimal | None = None
    gift: str | None = None
    gift_stock: int | None = None

    @property
    def has_offers(self) -> bool:
        return bool(self.tiers) or self.coupon_discount is not None


@dataclass
class Priced:
    list_price: Decimal
    live_price: Decimal
    discounts: list[dict[str, str]]

    @property
    def discount(self) -> Decimal:
        return sum((Decimal(d["amount"]) for d in self.discounts), ZERO)


async def load_terms(session: AsyncSession, stream_id: int, product_id: int) -> Terms | None:
    row = (
        await session.execute(
            select(LineupItem, Product.list_price)
            .join(Product, Product.id == LineupItem.product_id)
            .where(LineupItem.stream_id == stream_id, LineupItem.product_id == product_id)
        )
    ).one_or_none()
    if row is None:
        return None
    item, list_price = row
    return terms_of(item, list_price)


def terms_of(item: LineupItem, list_price: Decimal) -> Terms:
    return Terms(
        item_id=item.id,
        product_id=item.product_id,
        live_price=item.live_price,
        list_price=list_price,
        tiers=list(item.full_reduction or []),
        coupon_discount=item.coupon_discount,
        coupon_min_spend=item.coupon_min_spend,
        gift=item.gifts[0] if item.gifts else None,
        gift_stock=item.gift_stock,
    )


def best_tier(tiers: list[dict[str, Any]], subtotal: Decimal) -> tuple[Decimal, Decimal] | None:
    """(threshold, discount) of the highest 满减 tier the subtotal reaches."""
    best: tuple[Decimal, Decimal] | None = None
    for t in tiers:
        threshold, discount = Decimal(str(t["threshold"])), Decimal(str(t["discount"]))
        if subtotal >= threshold and (best is None or threshold > best[0]):
            best = (threshold, discount)
    return best


def _fmt(d: Decimal) -> str:
    """50.00 → 50, 19.90 → 19.9: how a 满减 label reads."""
    return f"{d:f}".rstrip("0").rstrip(".") if "." in f"{d:f}" else f"{d:f}"


def price(terms: Terms, unit_price: Decimal, quantity: int, *, flash: bool) -> Priced:
    """The list and live prices and the item's own discounts (tiers, item coupon)."""
    subtotal = unit_price * quantity
    discounts: list[dict[str, str]] = []
    if not flash:
        tier = best_tier(terms.tiers, subtotal)
        left = subtotal
        if tier is not None:
            amount = min(tier[1], left)
            discounts.append(
                {
                    "kind": "full_reduction",
                    "label": f"满{_fmt(tier[0])}减{_fmt(tier[1])}",
                    "amount": format_money(amount),
                }
            )
            left -= amount
        if terms.coupon_discount is not None and terms.coupon_discount > 0:
            minimum = terms.coupon_min_spend or ZERO
            if left >= minimum and left > 0:
                amount = min(terms.coupon_discount, left)
                label = (
                    f"商品券 满{_fmt(minimum)}减{_fmt(terms.coupon_discount)}"
                    if minimum > 0
                    else f"商品券 立减{_fmt(terms.coupon_discount)}"
                )
                discounts.append(
                    {"kind": "item_coupon", "label": label, "amount": format_money(amount)}
                )
    return Priced(terms.list_price, terms.live_price, discounts)


async def best_claim(
    session: AsyncSession, stream_id: int, viewer_id: str, product_id: int, subtotal: Decimal
) -> int | None:
    """The viewer's unused claimed coupon worth most on this order (valid now, for this
    product or any, threshold reached): its coupon id, or None."""
    now = utcnow()
    rows = await session.execute(
        select(Coupon.id, Coupon.amount)
        .join(CouponClaim, CouponClaim.coupon_id == Coupon.id)
        .where(
            CouponClaim.stream_id == stream_id,
            CouponClaim.viewer_id == viewer_id,
            CouponClaim.used_at.is_(None),
            Coupon.valid_from <= now,
            Coupon.valid_until > now,
            Coupon.threshold <= subtotal,
            (Coupon.product_id.is_(None)) | (Coupon.product_id == product_id),
        )
        .order_by(Coupon.amount.desc(), Coupon.id)
        .limit(1)
    )
    row = rows.first()
    return None if row is None else int(row[0])


def coupon_label(coupon: Coupon) -> str:
    if coupon.title:
        return coupon.title
    if coupon.threshold > 0:
        return f"优惠券 满{_fmt(coupon.threshold)}减{_fmt(coupon.amount)}"
    return f"优惠券 立减{_fmt(coupon.amount)}"


async def take_gift(session: AsyncSession, terms: Terms, units: int) -> tuple[str | None, int]:
    """The gift for `units` gift sets while gift stock lasts: (gift, sets taken)."""
    if terms.gift is None:
        return None, 0
    if terms.gift_stock is None:
        return terms.gift, 0
    taken = await session.scalar(
        update(LineupItem)
        .where(
            LineupItem.id == terms.item_id,
            LineupItem.gift_stock.is_not(None),
            LineupItem.gifts_given + units <= LineupItem.gift_stock,
        )
        .values(gifts_given=LineupItem.gifts_given + units)
        .returning(LineupItem.id)
        .execution_options(synchronize_session=False)
    )
    return (terms.gift, units) if taken is not None else (None, 0)


async def give_back_gift(
    session: AsyncSession, stream_id: int, product_id: int, units: int
) -> None:
    if units <= 0:
        return
    await session.execute(
        update(LineupItem)
        .where(
            LineupItem.stream_id == stream_id,
            LineupItem.product_id == product_id,
            LineupItem.gifts_given >= units,
        )
        .values(gifts_given=LineupItem.gifts_given - units)
        .execution_options(synchronize_session=False)
    )


def record_price(session: AsyncSession, product_id: int, price: Decimal, note: str) -> None:
    """A price the product was offered at, from now (its price history)."""
    session.add(ProductPrice(product_id=product_id, price=price, recorded_at=utcnow(), note=note))
