"""A stream's lineup: which products, in which order, at which live price and stock."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Enum, ForeignKey, UniqueConstraint
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
