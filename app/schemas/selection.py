from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from app.models import Criterion, QCStatus
from app.schemas.common import Schema, StrictInput

CRITERIA_DOC = ", ".join(c.value for c in Criterion)


class WeightsIn(StrictInput):
    weights: dict[Criterion, Decimal] = Field(
        min_length=1,
        description=f"Criterion → weight (0–100, two decimals); criteria: {CRITERIA_DOC}",
    )


class WeightsOut(Schema):
    weights: dict[Criterion, Decimal]


class ScoresIn(StrictInput):
    scores: dict[Criterion, Decimal] = Field(
        min_length=1, description=f"Criterion → score 0–10 (one decimal); {CRITERIA_DOC}"
    )
    note: str | None = Field(default=None, max_length=500)


class ScoreOut(Schema):
    criterion: Criterion
    score: Decimal
    note: str
    scored_by: int | None
    updated_at: datetime


class RankedProduct(Schema):
    rank: int
    product_id: int
    sku: str
    name: str
    category: str
    score: Decimal = Field(description="Weighted average 0–10; unscored criteria count as 0")
    scores: dict[Criterion, Decimal]
    missing: list[Criterion] = Field(description="Criteria not scored yet")
    margin_rate: Decimal | None = Field(description="(list price − cost) ÷ list price")
    qc_status: QCStatus
    licensed: bool
    eligible: bool = Field(description="May enter a lineup (not QC-failed, not 三无)")
    ineligible_reason: str | None
