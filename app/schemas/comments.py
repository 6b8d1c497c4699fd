"""Request and response bodies of the comment classifier."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictStr

from app.schemas.common import StrictInput

MAX_BATCH = 1000
MAX_TEXT = 10_000

Kind = Literal["question", "complaint", "purchase", "praise", "chitchat", "spam"]
Topic = Literal["product", "promo", "logistics", "after_sales", "order", "none"]
Sentiment = Literal["positive", "neutral", "negative"]


class ClassifyIn(StrictInput):
    texts: list[Annotated[StrictStr, Field(max_length=MAX_TEXT)]] = Field(
        max_length=MAX_BATCH,
        description=f"Up to {MAX_BATCH} comment texts (each at most {MAX_TEXT} characters).",
        examples=[["尺码怎么选", "已拍", "加V看更多低价同款"]],
    )


class ClassifyResult(BaseModel):
    kind: Kind
    topic: Topic
    sentiment: Sentiment
    blocked: bool


class ClassifyOut(BaseModel):
    results: list[ClassifyResult]


class CommentOut(BaseModel):
    id: int
    viewer_id: str
    text: str
    kind: str
    topic: str
    sentiment: str
    blocked: bool
    block_reason: str | None
    hidden: bool
    item_id: int | None
    created_at: datetime


class WordsIn(StrictInput):
    words: list[Annotated[StrictStr, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=2000, examples=[["竞品店", "加微"]]
    )


class WordOut(BaseModel):
    id: int
    stream_id: int | None
    word: str
    created_at: datetime


class MuteIn(StrictInput):
    viewer_id: str = Field(min_length=1, max_length=128)
    minutes: int = Field(ge=1, le=7 * 24 * 60, description="How long the viewer stays muted")
    reason: str = Field(default="", max_length=200)


class MuteOut(BaseModel):
    viewer_id: str
    until: datetime
    reason: str


class PinOut(BaseModel):
    id: int
    kind: str
    text: str
    comment_id: int | None
    item_id: int | None
    pinned_at: datetime


class CurrentPinOut(BaseModel):
    pin: PinOut | None
