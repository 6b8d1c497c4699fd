"""Corrections of comment labels and the claims checker (issue #14)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictStr

from app.schemas.common import StrictInput

Kind = Literal["question", "complaint", "purchase", "praise", "chitchat", "spam"]
Topic = Literal["product", "promo", "logistics", "after_sales", "order", "none"]
Sentiment = Literal["positive", "neutral", "negative"]


class CorrectionIn(StrictInput):
    kind: Kind | None = None
    topic: Topic | None = None
    sentiment: Sentiment | None = None
    blocked: bool | None = Field(default=None, description="true hides it, false shows it")


class LabelsOut(BaseModel):
    kind: str
    topic: str
    sentiment: str
    blocked: bool


class CorrectionOut(LabelsOut):
    id: int
    stream_id: int
    comment_id: int | None
    text: str
    was: LabelsOut
    corrected_by: int | None
    created_at: datetime


class CheckIn(StrictInput):
    texts: list[Annotated[StrictStr, Field(max_length=5000)]] = Field(
        min_length=1, max_length=500, examples=[["全网最低价，这款面霜能祛斑", "最近天气转凉"]]
    )
    stream_id: int | None = Field(
        default=None, description="also check the terms of this stream's team"
    )


class ClaimFindingOut(BaseModel):
    phrase: str
    category: Literal["absolute", "medical", "efficacy", "price", "platform", "team"]
    severity: Literal["block", "warn"]
    rule: str = Field(description="the rule it breaks, in the Accept-Language (zh-CN default)")
    suggestion: str = Field(
        description="a suggested rewording, in the Accept-Language (a team's own words as written)"
    )
    start: int = Field(description="offset of the phrase in the text (for underlining)")
    end: int
    rule_code: str = Field(
        description="the rule by code (ad_law_9, ad_law_17, ad_law_28, cosmetics_37, "
        "price_19, platform, team): message `compliance.rule.<code>`"
    )
    suggestion_code: str | None = Field(
        description="the rewording by code (message `compliance.suggestion.<code>`); null "
        "when `suggestion` is the team's own words"
    )


class CheckResult(BaseModel):
    findings: list[ClaimFindingOut]


class CheckOut(BaseModel):
    results: list[CheckResult]


class TermsIn(StrictInput):
    phrases: list[Annotated[StrictStr, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=200, examples=[["秒杀全场", "老板疯了"]]
    )
    severity: Literal["block", "warn"] = "block"
    suggestion: Annotated[StrictStr, Field(max_length=200)] = ""


class TermOut(BaseModel):
    id: int
    stream_id: int
    phrase: str
    severity: str
    suggestion: str
    created_at: datetime
