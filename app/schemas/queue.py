"""Request and response bodies of the service queue."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.schemas.common import StrictInput


class QueueItemOut(BaseModel):
    id: int
    stream_id: int
    kind: str = Field(description="question | complaint")
    topic: str
    title: str
    label: str = Field(description="「尺码怎么选 ×37」")
    product_id: int | None
    asker_count: int
    mention_count: int
    negative_count: int
    status: str = Field(description="open | claimed | answered | dismissed")
    claimed_by: int | None
    claimed_at: datetime | None
    answer: str | None
    answer_public: bool
    answered_by: int | None
    answered_at: datetime | None
    dismissed_by: int | None
    dismissed_at: datetime | None
    cue_sent_at: datetime | None
    first_at: datetime
    last_at: datetime
    sla_due_at: datetime
    waiting_seconds: float
    sla_seconds_left: float
    overdue: bool
    score: float = Field(description="Rank: askers, waiting time, negativity")
    version: int


class AskerOut(BaseModel):
    viewer_id: str
    comment_id: int | None
    text: str | None
    asked_at: datetime


class SuggestionOut(BaseModel):
    faq_id: int
    question: str
    answer: str
    score: float


class ReplyOut(BaseModel):
    id: int
    title: str
    body: str
    product_id: int | None
    rendered: str = Field(description="The body with {product}, {price}, {stock} filled in")


class QueueItemDetail(QueueItemOut):
    askers: list[AskerOut]
    suggestions: list[SuggestionOut]
    quick_replies: list[ReplyOut]


class AnswerIn(StrictInput):
    text: str = Field(min_length=1, max_length=2000)
    public: bool = Field(
        default=False,
        description="false: only the askers see it; true: also pinned on the watch page",
    )


class ReplyIn(StrictInput):
    title: str = Field(min_length=1, max_length=100)
    body: str = Field(
        min_length=1, max_length=2000, examples=["{product} 直播价 {price} 元，还剩 {stock} 件"]
    )
    product_id: int | None = None


class FaqIn(StrictInput):
    question: str = Field(min_length=1, max_length=300)
    answer: str = Field(min_length=1, max_length=2000)
    product_id: int | None = None
    keywords: list[str] = Field(default_factory=list, max_length=50)


class FaqOut(BaseModel):
    id: int
    question: str
    answer: str
    product_id: int | None
    keywords: list[str]


class CueOut(BaseModel):
    id: int
    text: str
    priority: str
    product_id: int | None
    created_at: datetime


class ViewerAnswerOut(BaseModel):
    item_id: int
    question: str
    answer: str | None
    public: bool
    answered_at: datetime | None


class OrderRequestItemOut(BaseModel):
    id: int = Field(description="The order request's id (decide it with .../approve or .../reject)")
    type: str = Field(description='Always "order_request"')
    kind: str = Field(description="cancel | address_change")
    order_id: int
    viewer_id: str
    product_id: int
    quantity: int
    amount: str
    order_status: str
    reason: str
    address: dict[str, str] | None
    created_at: datetime
    waiting_seconds: float
    overdue: bool


class BoardOut(BaseModel):
    items: list[QueueItemOut]
    order_requests: list[OrderRequestItemOut]


class DecisionIn(StrictInput):
    note: str = Field(default="", max_length=500)


class QueueSettingsIn(StrictInput):
    """A field left out keeps its current value; give at least one."""

    sla_seconds: int | None = Field(
        default=None,
        ge=10,
        le=86_400,
        description="How long a question may wait for an answer (seconds, 10–86400)",
    )
    cue_threshold: int | None = Field(
        default=None,
        ge=2,
        le=100_000,
        description="Askers that make an item cue the host automatically (2–100000)",
    )


class QueueSettingsOut(BaseModel):
    stream_id: int
    sla_seconds: int
    cue_threshold: int
    is_default: bool = Field(description="true while the stream has not set its own")
    updated_by: int | None
    updated_at: datetime | None
