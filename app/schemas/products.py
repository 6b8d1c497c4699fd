from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from app.models import QCStatus
from app.schemas.common import Money, Schema, StrictInput

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,63}$"
Line = Annotated[str, Field(min_length=1, max_length=500)]
Url = Annotated[str, Field(pattern=r"^https?://\S+$", max_length=1000)]


class ProductFields(StrictInput):
    category: str = Field(default="", max_length=64)
    cost: Money | None = Field(default=None, description="Unit cost, for the margin")
    selling_points: list[Line] = Field(default_factory=list, max_length=30, description="卖点")
    usage_scenes: list[Line] = Field(default_factory=list, max_length=30, description="使用场景")
    competitor_differences: list[Line] = Field(
        default_factory=list, max_length=30, description="竞品差异"
    )
    image_urls: list[Url] = Field(default_factory=list, max_length=20)
    brand: str = Field(default="", max_length=100)
    supplier: str = Field(default="", max_length=200)
    licensed: bool = Field(
        default=True, description="false marks a 三无 product, which no lineup accepts"
    )
    qc_status: QCStatus = QCStatus.pending
    description: str = Field(default="", max_length=5000)


class ProductCreate(ProductFields):
    sku: str = Field(pattern=SKU_PATTERN, description="1–64 letters, digits, _ . - /")
    name: str = Field(min_length=1, max_length=200)
    list_price: Money
    stock: int = Field(ge=0, le=100_000_000, description="Warehouse stock")


class ProductUpdate(StrictInput):
    """Only the fields sent change."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    list_price: Money | None = None
    stock: int | None = Field(default=None, ge=0, le=100_000_000)
    category: str | None = Field(default=None, max_length=64)
    cost: Money | None = None
    selling_points: list[Line] | None = Field(default=None, max_length=30)
    usage_scenes: list[Line] | None = Field(default=None, max_length=30)
    competitor_differences: list[Line] | None = Field(default=None, max_length=30)
    image_urls: list[Url] | None = Field(default=None, max_length=20)
    brand: str | None = Field(default=None, max_length=100)
    supplier: str | None = Field(default=None, max_length=200)
    licensed: bool | None = None
    qc_status: QCStatus | None = None
    description: str | None = Field(default=None, max_length=5000)


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    category: str
    list_price: Money
    cost: Money | None
    stock: int
    selling_points: list[str]
    usage_scenes: list[str]
    competitor_differences: list[str]
    image_urls: list[str]
    brand: str
    supplier: str
    licensed: bool
    qc_status: QCStatus
    description: str
    created_at: datetime
    updated_at: datetime


class ImportRowError(Schema):
    line: int = Field(description="Line number in the file (the header is line 1)")
    sku: str | None = None
    field: str | None = None
    reason: str


class ImportOut(Schema):
    rows: int
    created: int
    updated: int
    product_ids: list[int]
