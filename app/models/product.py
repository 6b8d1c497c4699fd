"""The product catalog (商品库)."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Connection,
    Enum,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    event,
    insert,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

MONEY = Numeric(12, 2)
# Sums of many amounts (rollups): one amount is below 10^8, so 10^16 is out of reach.
MONEY_SUM = Numeric(18, 2)


class QCStatus(enum.StrEnum):
    pending = "pending"
    passed = "passed"
    failed = "failed"


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (CheckConstraint("stock >= 0", name="stock_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64), default="")
    list_price: Mapped[Decimal] = mapped_column(MONEY)
    cost: Mapped[Decimal | None] = mapped_column(MONEY, default=None)
    stock: Mapped[int] = mapped_column(default=0, doc="Warehouse stock")
    selling_points: Mapped[list[str]] = mapped_column(JSON, default=list)
    usage_scenes: Mapped[list[str]] = mapped_column(JSON, default=list, doc="使用场景")
    competitor_differences: Mapped[list[str]] = mapped_column(
        JSON, default=list, doc="竞品差异: what sets it apart from competing products"
    )
    image_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    brand: Mapped[str] = mapped_column(String(100), default="")
    supplier: Mapped[str] = mapped_column(String(200), default="")
    licensed: Mapped[bool] = mapped_column(
        default=True, doc="False marks a 三无 product (no brand/licence/origin): never in a lineup"
    )
    qc_status: Mapped[QCStatus] = mapped_column(
        Enum(QCStatus, name="qc_status", native_enum=False, length=16), default=QCStatus.pending
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProductPrice(Base):
    """The product's price history (价格记录): each price it was offered at, and from
    when. The basis of a lawful reference price (划线价): 「日常价」 is the lowest price
    of the 7 days before the stream (《明码标价和禁止价格欺诈规定》, 2022)."""

    __tablename__ = "product_prices"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        Index("ix_product_prices_product_recorded", "product_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    price: Mapped[Decimal] = mapped_column(MONEY)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(String(200), default="")


@event.listens_for(Product, "after_insert")
def _new_product_price(_mapper: object, connection: Connection, target: Product) -> None:
    """A new product's list price starts its price history."""
    _insert_price(connection, target)


@event.listens_for(Product, "after_update")
def _changed_list_price(_mapper: object, connection: Connection, target: Product) -> None:
    """A change of a product's list price is in its price history."""
    if inspect(target).attrs.list_price.history.has_changes():
        _insert_price(connection, target)


def _insert_price(connection: Connection, target: Product) -> None:
    connection.execute(
        insert(ProductPrice).values(
            product_id=target.id, price=target.list_price, recorded_at=utcnow(), note="list price"
        )
    )
