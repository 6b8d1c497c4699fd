from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from app.models import ListingStatus, QCStatus
from app.schemas.common import Money, Schema, StrictInput

Line = Annotated[str, Field(min_length=1, max_length=500)]
MAX_UNITS = 100_000_000
PER_VIEWER_LIMIT_DOC = (
    "Units of this product one viewer may hold at the live price (0 = no limit); "
    "null: the server's ORDER_UNITS_PER_VIEWER setting. A flash sale has its own limit."
)

GIFT_STOCK_DOC = (
    "Gift sets on hand for the first gift (one per unit ordered; orders get it while they "
    "last); null: not counted, every order gets it"
)
RESTOCK_DOC = (
    "Return policy: units of an approved refund or completed return go back on sale "
    "(false: they do not, e.g. opened cosmetics)"
)


class Bundle(StrictInput):
    """组合: the product sold together with others at one price (主推 + 互补)."""

    name: str = Field(min_length=1, max_length=200)
    product_ids: list[int] = Field(min_length=1, max_length=10)
    price: Money


class ReductionTier(StrictInput):
    """满减: spend at least `threshold`, get `discount` off."""

    threshold: Money
    discount: Money

    @model_validator(mode="after")
    def _discount_below_threshold(self) -> Self:
        if self.discount <= 0 or self.discount >= self.threshold:
            raise ValueError("discount must be above 0 and below the threshold")
        return self


def _check_offers(
    tiers: list[ReductionTier] | None,
    coupon_discount: object,
    coupon_min_spend: object,
) -> None:
    if tiers:
        thresholds = [t.threshold for t in tiers]
        if thresholds != sorted(set(thresholds)):
            raise ValueError("满减 tiers need strictly increasing thresholds")
    if (
        coupon_discount is not None
        and coupon_min_spend is not None
        and coupon_min_spend != 0
        and coupon_discount >= coupon_min_spend  # type: ignore[operator]
    ):
        raise ValueError("coupon_discount must be below coupon_min_spend")


class LineupIn(StrictInput):
    product_id: int
    live_price: Money
    allotted_stock: int = Field(ge=0, le=MAX_UNITS, description="Units promised to the stream")
    position: int | None = Field(
        default=None, ge=1, description="Explanation order (1 = first); default: last"
    )
    gifts: list[Line] = Field(default_factory=list, max_length=20, description="赠品")
    bundles: list[Bundle] = Field(default_factory=list, max_length=10)
    coupon_discount: Money | None = None
    coupon_min_spend: Money | None = None
    full_reduction: list[ReductionTier] = Field(default_factory=list, max_length=10)
    gift_stock: int | None = Field(default=None, ge=0, le=MAX_UNITS, description=GIFT_STOCK_DOC)
    restock_on_return: bool = Field(default=True, description=RESTOCK_DOC)
    flash_sale_allotment: int = Field(default=0, ge=0, le=MAX_UNITS)
    per_viewer_limit: int | None = Field(
        default=None, ge=0, le=MAX_UNITS, description=PER_VIEWER_LIMIT_DOC
    )
    notes: str = Field(default="", max_length=5000)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.flash_sale_allotment > self.allotted_stock:
            raise ValueError("flash_sale_allotment cannot exceed allotted_stock")
        _check_offers(self.full_reduction, self.coupon_discount, self.coupon_min_spend)
        return self


class LineupUpdate(StrictInput):
    """Only the fields sent change (order: `PUT .../lineup/order`)."""

    live_price: Money | None = None
    allotted_stock: int | None = Field(default=None, ge=0, le=MAX_UNITS)
    gifts: list[Line] | None = Field(default=None, max_length=20)
    bundles: list[Bundle] | None = Field(default=None, max_length=10)
    coupon_discount: Money | None = None
    coupon_min_spend: Money | None = None
    full_reduction: list[ReductionTier] | None = Field(default=None, max_length=10)
    gift_stock: int | None = Field(default=None, ge=0, le=MAX_UNITS, description=GIFT_STOCK_DOC)
    restock_on_return: bool | None = Field(default=None, description=RESTOCK_DOC)
    flash_sale_allotment: int | None = Field(default=None, ge=0, le=MAX_UNITS)
    per_viewer_limit: int | None = Field(
        default=None,
        ge=0,
        le=MAX_UNITS,
        description=PER_VIEWER_LIMIT_DOC + " Send null to go back to the setting.",
    )
    notes: str | None = Field(default=None, max_length=5000)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_offers(self.full_reduction, self.coupon_discount, self.coupon_min_spend)
        return self


class LineupOrderIn(StrictInput):
    product_ids: list[int] = Field(
        min_length=1, max_length=500, description="Every product of the lineup, in the new order"
    )


class LineupOut(Schema):
    id: int
    stream_id: int
    product_id: int
    position: int
    live_price: Money
    allotted_stock: int
    sold_units: int
    status: ListingStatus
    explaining: bool
    gifts: list[str]
    bundles: list[Bundle]
    coupon_discount: Money | None
    coupon_min_spend: Money | None
    full_reduction: list[ReductionTier]
    gift_stock: int | None = Field(default=None, description=GIFT_STOCK_DOC)
    gifts_given: int = 0
    restock_on_return: bool = Field(default=True, description=RESTOCK_DOC)
    flash_sale_allotment: int
    per_viewer_limit: int | None = Field(description=PER_VIEWER_LIMIT_DOC)
    notes: str
    sku: str = ""
    name: str = ""
    list_price: Money | None = None
    warehouse_stock: int | None = None
    qc_status: QCStatus | None = None
