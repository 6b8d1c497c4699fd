"""A stream's lineup: which products, in which order, at which live price and stock."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.models.product import MONEY


class ListingStatus(enum.StrEnum):
    pending = "pending"  # in the lineup, not on sale yet
    listed = "listed"  # 上架: on sale in the room
    delisted = "delisted"  # 下架


class LineupItem(Base):
    __tablename__ = "lineup_items"
    __table_args__ = (
        UniqueConstraint("stream_id", "product_id"),
        CheckConstraint("allotted_stock >= 0", name="allotted_not_negative"),
        CheckConstraint("sold_units >= 0", name="sold_not_negative"),
        CheckConstraint("sold_units <= allotted_stock", name="no_oversell"),
        CheckConstraint("flash_sale_allotment >= 0", name="flash_allotment_not_negative"),
        CheckConstraint(
            "per_viewer_limit IS NULL OR per_viewer_limit >= 0",
            name="per_viewer_limit_not_negative",
        ),
        CheckConstraint("gifts_given >= 0", name="gifts_given_not_negative"),
        CheckConstraint(
            "gift_stock IS NULL OR gifts_given <= gift_stock", name="no_gift_overgiven"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    position: Mapped[int] = mapped_column(default=0, doc="Explanation order, 1-based")
    live_price: Mapped[Decimal] = mapped_column(MONEY)
    allotted_stock: Mapped[int] = mapped_column(default=0)
    sold_units: Mapped[int] = mapped_column(
        default=0, doc="Units held by orders that are not cancelled"
    )
    status: Mapped[ListingStatus] = mapped_column(
        Enum(ListingStatus, name="listing_status", native_enum=False, length=16),
        default=ListingStatus.pending,
    )
    explaining: Mapped[bool] = mapped_column(default=False, doc="讲解中: the pinned product")
    # Offer design (planning). Money inside JSON is a two-place decimal string.
    gifts: Mapped[list[str]] = mapped_column(JSON, default=list, doc="赠品")
    bundles: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, doc='组合: [{"name", "product_ids": [...], "price": "99.00"}]'
    )
    coupon_discount: Mapped[Decimal | None] = mapped_column(MONEY, default=None)
    coupon_min_spend: Mapped[Decimal | None] = mapped_column(MONEY, default=None)
    full_reduction: Mapped[list[dict[str, str]]] = mapped_column(
        JSON, default=list, doc='满减 tiers: [{"threshold": "199.00", "discount": "30.00"}]'
    )
    flash_sale_allotment: Mapped[int] = mapped_column(
        default=0, doc="Units of the allotted stock planned for flash sales (秒杀)"
    )
    per_viewer_limit: Mapped[int | None] = mapped_column(
        default=None,
        doc="Units one viewer may hold at the live price (0 = no limit); "
        "None: the ORDER_UNITS_PER_VIEWER setting",
    )
    gift_stock: Mapped[int | None] = mapped_column(
        default=None,
        doc="Gift sets on hand for this item's orders (one per unit ordered); None: no "
        "gift stock counted (every order gets the gift)",
    )
    gifts_given: Mapped[int] = mapped_column(default=0, doc="Gift sets held by orders")
    restock_on_return: Mapped[bool] = mapped_column(
        default=True,
        doc="Return policy: a refunded or returned order's units go back on sale (False: "
        "they do not, e.g. opened cosmetics)",
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
