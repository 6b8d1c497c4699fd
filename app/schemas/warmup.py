from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from app.models import Channel
from app.schemas.common import Schema, StrictInput

URL_PATTERN = r"^https?://\S+$"


class WarmupIn(StrictInput):
    channel: Channel = Field(
        description="short_video, wechat, weibo, community_group, shop_homepage, app_push, other"
    )
    title: str = Field(min_length=1, max_length=200, description="Theme / headline")
    publish_at: AwareDatetime
    content: str = Field(default="", max_length=5000, description="Highlights and copy")
    link: str = Field(default="", max_length=500, pattern=r"^(https?://\S+)?$")
    exclusive_offer: str = Field(default="", max_length=500, description="专属福利")
    published: bool = False


class WarmupUpdate(StrictInput):
    channel: Channel | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    publish_at: AwareDatetime | None = None
    content: str | None = Field(default=None, max_length=5000)
    link: str | None = Field(default=None, max_length=500, pattern=r"^(https?://\S+)?$")
    exclusive_offer: str | None = Field(default=None, max_length=500)
    published: bool | None = None


class WarmupOut(Schema):
    id: int
    stream_id: int
    channel: Channel
    title: str
    publish_at: datetime
    content: str
    link: str
    exclusive_offer: str
    published: bool


class ReservationIn(StrictInput):
    viewer_ref: str = Field(
        min_length=1, max_length=128, description="The viewer's platform id (or phone)"
    )
    name: str = Field(default="", max_length=100)
    contact: str = Field(default="", max_length=200, description="Where to send the reminder")
    channel: Channel | None = Field(default=None, description="Where the viewer came from")


class ReservationOut(Schema):
    id: int
    stream_id: int
    viewer_ref: str
    name: str
    contact: str
    channel: Channel | None
    reminded_at: datetime | None
    created_at: datetime


class ReservationsOut(Schema):
    total: int
    reminded: int
    by_channel: dict[str, int]
    reservations: list[ReservationOut]


class RemindersSentIn(StrictInput):
    reservation_ids: list[int] = Field(min_length=1, max_length=10_000)
