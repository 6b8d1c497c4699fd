"""What the public watch page may see of a stream: its title and what is on sale."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from app.models import ListingStatus, StreamStatus
from app.schemas.common import Money, Schema, StrictInput


class StorefrontProduct(Schema):
    product_id: int
    position: int
    name: str
    live_price: Money
    list_price: Money
    stock_left: int
    status: ListingStatus
    explaining: bool
    gifts: list[str]
    selling_points: list[str]
    image_urls: list[str]


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
