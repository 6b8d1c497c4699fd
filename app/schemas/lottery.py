"""Lottery (福袋) requests and the public, verifiable view of a draw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from app.models import LotteryCondition, LotteryStatus
from app.schemas.common import StrictInput

# A 福袋 may never make buying a condition of taking part (platform rules and consumer
# law); these spellings get a clear refusal instead of a bare "not a valid choice".
PURCHASE_WORDS = frozenset({"purchase", "order", "buy", "paid", "pay", "下单", "购买"})


class LotteryIn(StrictInput):
    prize: str = Field(min_length=1, max_length=200, examples=["品牌保温杯 1 个"])
    winners_count: int = Field(ge=1, le=1000)
    condition: LotteryCondition = Field(
        description="`comment` (needs `keyword`), `follow` or `present`; "
        "a purchase condition is refused"
    )
    keyword: str | None = Field(default=None, min_length=1, max_length=50, examples=["想要"])
    draw_at: AwareDatetime | None = Field(default=None, description="when to draw")
    duration_seconds: int | None = Field(
        default=None, ge=10, le=6 * 3600, description="or: draw this many seconds from now"
    )

    @field_validator("condition", mode="before")
    @classmethod
    def _no_purchase(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in PURCHASE_WORDS:
            raise ValueError("a lottery may not require a purchase")
        if value == "comment_keyword":  # the long spelling of the same condition
            return LotteryCondition.comment
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.draw_at is None) == (self.duration_seconds is None):
            raise ValueError("give exactly one of draw_at or duration_seconds")
        if self.draw_at is not None:
            ahead = self.draw_at - datetime.now(UTC)
            if ahead < timedelta(seconds=5) or ahead > timedelta(hours=6):
                raise ValueError("draw_at must be between 5 seconds and 6 hours from now")
        if self.condition == LotteryCondition.comment and not self.keyword:
            raise ValueError("a comment lottery needs a keyword")
        if self.condition != LotteryCondition.comment and self.keyword:
            raise ValueError("keyword only goes with the comment condition")
        return self

    def resolved_draw_at(self) -> datetime:
        if self.draw_at is not None:
            return self.draw_at
        return datetime.now(UTC) + timedelta(seconds=self.duration_seconds or 0)


class LotteryOut(BaseModel):
    """The public view: the commitment always; the seed and winners once drawn."""

    id: int
    stream_id: int
    prize: str
    winners_count: int
    condition: LotteryCondition
    keyword: str | None
    status: LotteryStatus
    draw_at: datetime
    created_at: datetime
    seed_hash: str = Field(description="sha256 of the seed, published at the start")
    seed: str | None = Field(description="hex; revealed at the draw")
    eligible_count: int | None
    eligible_hash: str | None = Field(description="sha256 of the sorted ids joined by \\n")
    winners: list[str] = Field(
        description="in ranking order; masked (13*******78) unless you are the stream's staff"
    )
    winner_entries: list[str] | None = Field(
        default=None,
        description="each winner's entry, hex(HMAC-SHA256(seed, viewer_id)), in ranking order",
    )
    drawn_at: datetime | None
    algorithm: str


class LotteryVerifyOut(LotteryOut):
    valid: bool
    checks: dict[str, bool]
    recomputed_winners: list[str] = Field(description="masked unless you are the stream's staff")
    recomputed_winner_entries: list[str] = Field(description="the lowest entries, in order")
    entries_hash: str = Field(description="sha256 of the sorted entries joined by \\n")


class EligibleOut(BaseModel):
    lottery_id: int
    eligible_hash: str | None
    entries: list[str] = Field(
        description="every eligible viewer's entry, hex(HMAC-SHA256(key=seed, msg=viewer_id)), "
        "sorted: a viewer finds their own; no id can be read out of it"
    )
    entries_hash: str = Field(description="sha256('\\n'.join(entries)), announced at the draw")
    viewer_ids: list[str] | None = Field(
        default=None,
        description="the raw ids, sorted (eligible_hash = sha256('\\n'.join(viewer_ids))): "
        "only for the stream's staff (send your access token)",
    )


class MyEntryOut(BaseModel):
    lottery_id: int
    viewer_id: str
    entry: str = Field(description="hex(HMAC-SHA256(key=seed, msg=viewer_id)): find it in entries")
    eligible: bool
    won: bool
    rank: int | None
