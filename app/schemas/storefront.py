"""What the public watch page may see of a stream: its title and what is on sale."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from app.models import ListingStatus, StreamStatus
from app.schemas.common import Money, Schema, StrictInput


class ReferencePrice(Schema):
    """A struck-through price (划线价) with its stated basis (《明码标价和禁止价格欺诈规定》)."""

    price: Money
    basis: str = Field(description="daily_price: the lowest price of the last `days` days")
    label: str = Field(description="How the basis reads, e.g. 日常价")
    days: int
    since: datetime = Field(description="The window's start")


class StorefrontBundle(Schema):
    name: str
    price: Money
    product_ids: list[int] = Field(description="Every product in it (the item's own first)")
    available: int = Field(description="Bundles left: the fewest units left of its products")


class StorefrontTier(Schema):
    threshold: Money
    discount: Money


class StorefrontProduct(Schema):
    product_id: int
    position: int
    name: str
    live_price: Money
    list_price: Money = Field(description="The catalog's list price (not a reference price)")
    reference_price: ReferencePrice | None = Field(
        default=None,
        description="The struck-through price and its basis; null when no basis can be "
        "stated (then no struck-through price is shown)",
    )
    stock_left: int
    status: ListingStatus
    explaining: bool
    gifts: list[str]
    gift_left: int | None = Field(
        default=None, description="Gift sets left (null: not counted, every order gets it)"
    )
    full_reduction: list[StorefrontTier] = Field(default_factory=list, description="满减")
    coupon_discount: Money | None = Field(default=None, description="The item's own coupon")
    coupon_min_spend: Money | None = None
    bundles: list[StorefrontBundle] = Field(default_factory=list)
    selling_points: list[str]
    image_urls: list[str]


class StorefrontCoupon(Schema):
    """A coupon of the stream that a viewer can claim now."""

    id: int
    title: str
    product_id: int | None
    amount: Money
    threshold: Money
    remaining: int
    per_user_limit: int
    valid_until: datetime


class StorefrontFlashSale(Schema):
    id: int
    product_id: int
    price: Money
    quantity: int
    remaining: int
    per_user_limit: int
    starts_at: datetime
    ends_at: datetime


class StorefrontLottery(Schema):
    """An open lucky bag (福袋): what a viewer does to enter it."""

    id: int
    prize: str
    winners_count: int
    condition: str
    keyword: str | None
    draw_at: datetime


class StorefrontOut(Schema):
    stream_id: int
    title: str
    status: StreamStatus
    started_at: datetime | None
    products: list[StorefrontProduct]
    flash_sales: list[StorefrontFlashSale]
    coupons: list[StorefrontCoupon] = Field(
        default_factory=list, description="Coupons that can be claimed now"
    )
    lotteries: list[StorefrontLottery] = Field(
        default_factory=list, description="Open lucky bags (福袋), soonest draw first"
    )
    server_time: datetime


class WatchCommentIn(StrictInput):
    text: str = Field(min_length=1, max_length=200)
    event_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="Makes a retried send count once"
    )


class WatchCommentOut(Schema):
    accepted: int
    duplicates: int
