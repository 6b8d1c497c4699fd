"""Product selection (选品): configurable criterion weights, per-product scores, and a
ranked list. Ineligible products (QC failed, 三无) are ranked but flagged, since the
lineup refuses them."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, Unprocessable
from app.models import Criterion, Product, ProductScore, SelectionWeight, User
from app.schemas.selection import RankedProduct
from app.services.lineup import ineligibility
from app.services.products import get_product

DEFAULT_WEIGHT = Decimal("1.00")
MAX_WEIGHT = Decimal("100")
MAX_SCORE = Decimal("10")


async def weights(session: AsyncSession) -> dict[Criterion, Decimal]:
    stored = {w.criterion: w.weight for w in await session.scalars(select(SelectionWeight))}
    return {c: stored.get(c, DEFAULT_WEIGHT) for c in Criterion}


async def set_weights(
    session: AsyncSession, new: dict[Criterion, Decimal]
) -> dict[Criterion, Decimal]:
    for criterion, weight in new.items():
        if not weight.is_finite() or weight < 0 or weight > MAX_WEIGHT:
            raise Unprocessable(
                f"weight of {criterion} must be between 0 and {MAX_WEIGHT}",
                code="bad_weight",
                criterion=criterion.value,
            )
        if weight != weight.quantize(Decimal("0.01")):
            raise Unprocessable(
                f"weight of {criterion} has more than two decimals",
                code="bad_weight",
                criterion=criterion.value,
            )
    merged = {**(await weights(session)), **new}
    if not any(merged.values()):
        raise Unprocessable("at least one weight must be above 0", code="all_weights_zero")
    try:
        async with session.begin_nested():
            for criterion, weight in new.items():
                row = await session.get(SelectionWeight, criterion)
                if row is None:
                    session.add(SelectionWeight(criterion=criterion, weight=weight))
                else:
                    row.weight = weight
            await session.flush()
    except IntegrityError as exc:
        raise _concurrent_edit() from exc
    return merged


def _concurrent_edit() -> Conflict:
    return Conflict(
        "someone else saved the same scores meanwhile; try again", code="concurrent_edit"
    )


async def scores(session: AsyncSession, product_id: int) -> list[ProductScore]:
    await get_product(session, product_id)
    rows = await session.scalars(
        select(ProductScore).where(ProductScore.product_id == product_id).order_by(ProductScore.id)
    )
    return list(rows.all())


async def set_scores(
    session: AsyncSession,
    product_id: int,
    new: dict[Criterion, Decimal],
    note: str | None,
    user: User,
) -> list[ProductScore]:
    await get_product(session, product_id)
    for criterion, score in new.items():
        if not score.is_finite() or score < 0 or score > MAX_SCORE:
            raise Unprocessable(
                f"score of {criterion} must be between 0 and 10",
                code="bad_score",
                criterion=criterion.value,
            )
        if score != score.quantize(Decimal("0.1")):
            raise Unprocessable(
                f"score of {criterion} has more than one decimal",
                code="bad_score",
                criterion=criterion.value,
            )
    existing = {s.criterion: s for s in await scores(session, product_id)}
    try:
        async with session.begin_nested():
            for criterion, score in new.items():
                row = existing.get(criterion)
                if row is None:
                    row = ProductScore(product_id=product_id, criterion=criterion, score=score)
                    session.add(row)
                row.score, row.scored_by = score, user.id
                if note is not None:
                    row.note = note
            await session.flush()
    except IntegrityError as exc:
        raise _concurrent_edit() from exc
    return await scores(session, product_id)


def _q(value: Decimal, places: str = "0.01") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


async def ranking(
    session: AsyncSession, category: str | None = None, eligible_only: bool = False
) -> list[RankedProduct]:
    w = await weights(session)
    total_weight = sum(w.values(), Decimal(0))
    query = select(Product).order_by(Product.id)
    if category:
        query = query.where(Product.category == category)
    products = list((await session.scalars(query)).all())
    by_product: defaultdict[int, dict[Criterion, Decimal]] = defaultdict(dict)
    if products:
        rows = await session.scalars(
            select(ProductScore).where(ProductScore.product_id.in_([p.id for p in products]))
        )
        for row in rows:
            by_product[row.product_id][row.criterion] = row.score
    ranked = []
    for p in products:
        own = by_product[p.id]
        weighted = sum((w[c] * own.get(c, Decimal(0)) for c in Criterion), Decimal(0))
        score = _q(weighted / total_weight) if total_weight else Decimal("0.00")
        reason = ineligibility(p)
        if eligible_only and reason is not None:
            continue
        margin = (
            _q((p.list_price - p.cost) / p.list_price, "0.0001")
            if p.cost is not None and p.list_price > 0
            else None
        )
        ranked.append(
            RankedProduct(
                rank=0,
                product_id=p.id,
                sku=p.sku,
                name=p.name,
                category=p.category,
                score=score,
                scores=own,
                missing=[c for c in Criterion if c not in own],
                margin_rate=margin,
                qc_status=p.qc_status,
                licensed=p.licensed,
                eligible=reason is None,
                ineligible_reason=reason,
            )
        )
    ranked.sort(key=lambda r: (-r.score, r.sku))
    for i, r in enumerate(ranked, start=1):
        r.rank = i
    return ranked
