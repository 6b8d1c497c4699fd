"""What the public watch page may see of a stream: its title and what is on sale."""

from __future__ import annotations

from datetime import datetime

from app.models import ListingStatus, StreamStatus
from app.schemas.common import Money, Schema


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


class StorefrontOut(Schema):
    stream_id: int
    title: str
    status: StreamStatus
    started_at: datetime | None
    products: list[StorefrontProduct]
    server_time: datetime
