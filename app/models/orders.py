"""Orders, flash sales (秒杀), coupons (满减) and their claims, and order requests.

The database is the last guard against oversell: `lineup_items` refuses
`sold_units > allotted_stock`, `flash_sales` refuses `sold > quantity`, `coupons` refuses
`claimed > quantity`, and an `Idempotency-Key` names one order per stream (UNIQUE).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.models.product import MONEY


class OrderStatus(enum.StrEnum):
    created = "created"  # stock held, not paid yet
    paid = "paid"
    cancelled = "cancelled"  # stock given back
    refunded = "refunded"  # paid, then cancelled after a request: stock given back


class FlashSaleStatus(enum.StrEnum):
    scheduled = "scheduled"
    active = "active"
    ended = "ended"


class OrderRequestKind(enum.StrEnum):
    cancel = "cancel"
    address_change = "address_change"


class OrderRequestStatus(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=16, validate_strings=True)


class FlashSale(Base):
    """A limited quantity of one lineup product at a special price for a limited time."""

    __tablename__ = "flash_sales"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("sold >= 0", name="sold_not_negative"),
        CheckConstraint("sold <= quantity", name="no_oversell"),
        CheckConstraint("per_user_limit > 0", name="limit_positive"),
        CheckConstraint("duration_seconds > 0", name="duration_positive"),
        Index("ix_flash_sales_status_ends_at", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    price: Mapped[Decimal] = mapped_column(MONEY)
    quantity: Mapped[int]
    sold: Mapped[int] = mapped_column(default=0, doc="Units held by its orders not cancelled")
    per_user_limit: Mapped[int]
    duration_seconds: Mapped[int]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[FlashSaleStatus] = mapped_column(
        _enum(FlashSaleStatus, "flash_sale_status"), default=FlashSaleStatus.scheduled
    )
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    end_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Coupon(Base):
    """满减: `amount` off an order of at least `threshold` (0 = no threshold)."""

    __tablename__ = "coupons"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("threshold >= 0", name="threshold_not_negative"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("claimed >= 0", name="claimed_not_negative"),
        CheckConstraint("claimed <= quantity", name="no_overclaim"),
        CheckConstraint("per_user_limit > 0", name="limit_positive"),
        CheckConstraint("valid_until > valid_from", name="validity_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(100), default="")
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), default=None, doc="None: any product"
    )
    amount: Mapped[Decimal] = mapped_column(MONEY)
    threshold: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    quantity: Mapped[int]
    claimed: Mapped[int] = mapped_column(default=0)
    per_user_limit: Mapped[int] = mapped_column(default=1)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("stream_id", "idempotency_key"),
        # A connector's order (platform order id) is one row per stream and source.
        UniqueConstraint("stream_id", "source", "external_id", name="uq_orders_external"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("discount >= 0", name="discount_not_negative"),
        Index("ix_orders_stream_product_viewer", "stream_id", "product_id", "viewer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    viewer_id: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    discount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    amount: Mapped[Decimal] = mapped_column(MONEY, doc="unit_price × quantity − discount")
    status: Mapped[OrderStatus] = mapped_column(
        _enum(OrderStatus, "order_status"), default=OrderStatus.created
    )
    idempotency_key: Mapped[str] = mapped_column(String(128))
    flash_sale_id: Mapped[int | None] = mapped_column(
        ForeignKey("flash_sales.id", ondelete="SET NULL"), default=None
    )
    coupon_id: Mapped[int | None] = mapped_column(
        ForeignKey("coupons.id", ondelete="SET NULL"), default=None
    )
    address: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)
    source: Mapped[str] = mapped_column(
        String(16), default="viewer", doc="viewer (watch page), ingest (ingest key) or connector"
    )
    external_id: Mapped[str | None] = mapped_column(
        String(128), default=None, doc="The platform's order id (connector orders)"
    )
    channel: Mapped[str | None] = mapped_column(
        String(100),
        default=None,
        doc="The connector that reported it (its name when the order was made), for a "
        "platform's order that came through a configured connector",
    )
    stock_units: Mapped[int | None] = mapped_column(
        default=None,
        doc="Units of the allotment this order holds when fewer than its quantity (a "
        "platform sale reported when too few were left here); None: all of them",
    )
    list_price: Mapped[Decimal | None] = mapped_column(MONEY, default=None, doc="划线/list price")
    live_price: Mapped[Decimal | None] = mapped_column(
        MONEY, default=None, doc="The lineup's live price when ordered"
    )
    discounts: Mapped[list[dict[str, str]] | None] = mapped_column(
        JSON, default=None, doc='Each discount applied: [{"kind", "label", "amount"}]'
    )
    gift: Mapped[str | None] = mapped_column(String(200), default=None, doc="The gift it gets")
    gift_units: Mapped[int] = mapped_column(default=0, doc="Gift sets it holds")
    bundle: Mapped[str | None] = mapped_column(
        String(200), default=None, doc="The bundle (组合) this order line is"
    )
    components: Mapped[list[dict[str, int]] | None] = mapped_column(
        JSON, default=None, doc='Units per product of a bundle: [{"product_id", "units"}]'
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CouponClaim(Base):
    """One coupon held by one viewer; `used_order_id` once an order spent it."""

    __tablename__ = "coupon_claims"
    __table_args__ = (Index("ix_coupon_claims_coupon_viewer", "coupon_id", "viewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="CASCADE"))
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    viewer_id: Mapped[str] = mapped_column(String(128))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), default=None
    )
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class OrderRequest(Base):
    """A viewer's cancellation (of a paid order) or address change, decided by staff."""

    __tablename__ = "order_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[OrderRequestKind] = mapped_column(_enum(OrderRequestKind, "order_request_kind"))
    status: Mapped[OrderRequestStatus] = mapped_column(
        _enum(OrderRequestStatus, "order_request_status"), default=OrderRequestStatus.pending
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)
    decided_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
