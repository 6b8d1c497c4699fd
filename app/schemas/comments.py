"""Request and response bodies of the comment classifier."""

from __future__ import annotations

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
