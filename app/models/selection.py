"""Product selection (选品): weighted criteria and a score per product and criterion."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Criterion(enum.StrEnum):
    demand = "demand"  # 市场需求
    quality = "quality"  # 品质
    price_competitiveness = "price_competitiveness"  # 价格竞争力
    brand = "brand"  # 品牌背书
    host_fit = "host_fit"  # 与主播人设契合
    margin = "margin"  # 利润空间
    visual_appeal = "visual_appeal"  # 视觉吸引力
    supply_stability = "supply_stability"  # 供应链稳定


CRITERION_ENUM = Enum(Criterion, name="criterion", native_enum=False, length=32)


class SelectionWeight(Base):
    """The configurable weight of one criterion; a criterion without a row weighs 1."""

    __tablename__ = "selection_weights"
    __table_args__ = (CheckConstraint("weight >= 0", name="weight_not_negative"),)

    criterion: Mapped[Criterion] = mapped_column(CRITERION_ENUM, primary_key=True)
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProductScore(Base):
    """One product's score (0–10) on one criterion."""

    __tablename__ = "product_scores"
    __table_args__ = (
        UniqueConstraint("product_id", "criterion"),
        CheckConstraint("score >= 0 AND score <= 10", name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    criterion: Mapped[Criterion] = mapped_column(CRITERION_ENUM)
    score: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    note: Mapped[str] = mapped_column(String(500), default="")
    scored_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
