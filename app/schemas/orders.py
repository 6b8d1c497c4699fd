"""Request and response shapes of orders, flash sales, coupons and order requests."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints, field_validator, model_validator

from app.models import FlashSaleStatus, OrderRequestKind, OrderRequestStatus, OrderStatus
from app.schemas.common import Money, Schema, StrictInput

ViewerId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
MAX_UNITS_PER_ORDER = 99


class Address(StrictInput):
    name: str = Field(min_length=1, max_length=64)
    phone: str = Field(min_length=3, max_length=32)
    line: str = Field(min_length=1, max_length=300, description="Street, building, room")
    city: str = Field(default="", max_length=64)
    province: str = Field(default="", max_length=64)
    postcode: str = Field(default="", max_length=16)


class OrderCreate(StrictInput):
    product_id: int = Field(gt=0)
    quantity: int = Field(ge=1, le=MAX_UNITS_PER_ORDER)
    viewer_id: ViewerId | None = Field(
        default=None, description="The buyer; only (and then required) with X-Ingest-Key"
    )
    flash_sale_id: int | None = Field(
        default=None,
        gt=0,
        description="Buy in this flash sale; 409 sold_out if it is over. Without it, an order "
        "placed while a flash sale of the product runs is a flash-sale order anyway.",
    )
    coupon_id: int | None = Field(default=None, gt=0, description="A coupon the buyer claimed")
    best_coupon: bool = Field(
        default=False,
        description="Apply the best of the buyer's claimed coupons that is valid for this "
        "order (ignored when coupon_id is sent)",
    )
    bundle: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Buy this bundle (组合) of the product's lineup item, by name: one order "
        "line at the bundle's price that takes one unit of each of its products per bundle",
    )
    address: Address | None = None

    @model_validator(mode="after")
    def _bundle_not_in_flash_sale(self) -> OrderCreate:
        if self.bundle is not None and self.flash_sale_id is not None:
            raise ValueError("a bundle is not sold in a flash sale")
        return self


class OrderOut(Schema):
    id: int
    stream_id: int
    product_id: int
    viewer_id: str
    quantity: int
    unit_price: Money
    discount: Money
    amount: Money
    status: OrderStatus
    flash_sale_id: int | None
    coupon_id: int | None
    address: dict[str, str] | None
    source: str = Field(description="viewer (watch page), ingest (ingest key) or connector")
    external_id: str | None = Field(
        default=None, description="The platform's order id of a connector's order"
    )
    channel: str | None = Field(
        default=None,
        description="The connector that reported a platform's order (its name), when it "
        "came through a configured connector (`/connectors/{id}/inbound`)",
    )
    list_price: Money | None = Field(default=None, description="The product's list price")
    live_price: Money | None = Field(default=None, description="The lineup's live price")
    discounts: list[dict[str, str]] = Field(
        default_factory=list,
        description='Each discount applied: {"kind", "label", "amount"} (money string)',
    )
    gift: str | None = Field(default=None, description="The gift this order gets")
    gift_units: int = Field(default=0, description="Gift sets it holds of the gift stock")
    bundle: str | None = Field(default=None, description="The bundle this order line is")
    components: list[dict[str, int]] | None = Field(
        default=None, description='A bundle\'s units per product: [{"product_id", "units"}]'
    )
    created_at: datetime
    paid_at: datetime | None
    cancelled_at: datetime | None

    @field_validator("discounts", mode="before")
    @classmethod
    def _no_discounts(cls, v: object) -> object:
        return [] if v is None else v


class CancelIn(StrictInput):
    reason: str = Field(default="", max_length=500)


class AddressChangeIn(StrictInput):
    address: Address
    reason: str = Field(default="", max_length=500)


class OrderRequestOut(Schema):
    id: int
    stream_id: int
    order_id: int
    kind: OrderRequestKind
    status: OrderRequestStatus
    reason: str
    address: dict[str, str] | None
    decided_by: int | None
    decided_at: datetime | None
    note: str
    created_at: datetime


class CancelOut(Schema):
    """A cancelled order, or (for a paid one) the cancellation request waiting for staff."""

    order: OrderOut
    request: OrderRequestOut | None = None


class DecisionIn(StrictInput):
    note: str = Field(default="", max_length=500)


class FlashSaleCreate(StrictInput):
    product_id: int = Field(gt=0)
    price: Money
    quantity: int = Field(ge=1, le=1_000_000)
    per_user_limit: int = Field(ge=1, le=1000)
    duration_seconds: int = Field(ge=1, le=24 * 3600)
    starts_at: AwareDatetime | None = Field(
        default=None, description="Start later (scheduled); default now"
    )

    @model_validator(mode="after")
    def _price_positive(self) -> FlashSaleCreate:
        if self.price <= 0:
            raise ValueError("price must be greater than 0")
        return self


class FlashSaleOut(Schema):
    id: int
    stream_id: int
    product_id: int
    price: Money
    quantity: int
    sold: int
    remaining: int
    per_user_limit: int
    duration_seconds: int
    starts_at: datetime
    ends_at: datetime
    status: FlashSaleStatus
    ended_at: datetime | None
    end_reason: str | None
    server_time: datetime


class CouponCreate(StrictInput):
    title: str = Field(default="", max_length=100)
    product_id: int | None = Field(default=None, gt=0, description="Only this product; default any")
    amount: Money = Field(description="Discount (减)")
    threshold: Money = Field(
        default=Decimal("0"), description="Minimum order amount (满); 0 = none"
    )
    quantity: int = Field(ge=1, le=10_000_000, description="How many can be claimed in all")
    per_user_limit: int = Field(default=1, ge=1, le=100)
    valid_from: AwareDatetime | None = Field(default=None, description="Default now")
    valid_until: AwareDatetime

    @model_validator(mode="after")
    def _consistent(self) -> CouponCreate:
        if self.amount <= 0:
            raise ValueError("amount must be greater than 0")
        if self.threshold and self.amount >= self.threshold:
            raise ValueError("amount must be below the threshold (满 X 减 Y needs Y < X)")
        if self.valid_from is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class CouponOut(Schema):
    id: int
    stream_id: int
    title: str
    product_id: int | None
    amount: Money
    threshold: Money
    quantity: int
    claimed: int
    per_user_limit: int
    valid_from: datetime
    valid_until: datetime


class CouponClaimIn(StrictInput):
    viewer_id: ViewerId | None = Field(default=None, description="Only with X-Ingest-Key")


class CouponClaimOut(Schema):
    id: int
    coupon_id: int
    viewer_id: str
    claimed_at: datetime
    used_order_id: int | None
    used_at: datetime | None
