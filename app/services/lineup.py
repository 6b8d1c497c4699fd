"""The lineup (排品): which products, in which order, at which live price and stock,
with gifts, bundles, coupons, 满减 and the flash-sale allotment.

Listing, delisting, explaining and live stock adjustments belong to the live-selling
services; planning never touches `sold_units`, `status` or `explaining`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound, Unprocessable
from app.models import LineupItem, ListingStatus, Product, QCStatus, Stream, StreamStatus, User
from app.realtime.outbox import queue_event
from app.realtime.snapshot import SnapshotContext, as_response
from app.schemas.common import format_money
from app.schemas.lineup import LineupIn, LineupOut, LineupUpdate
from app.services.planning import ensure_plannable, lock_stream
from app.services.stream_rows import get_or_404
from app.services.streams import model_values


def ineligibility(product: Product) -> str | None:
    """Why a product may not enter a lineup (None: it may)."""
    if product.qc_status == QCStatus.failed:
        return "qc_failed"
    if not product.licensed:
        return "unlicensed"
    return None


def _announce(session: AsyncSession, stream_id: int, action: str, **data: Any) -> None:
    queue_event(session, stream_id, "lineup.changed", {"action": action, **data})


def item_out(item: LineupItem, product: Product) -> LineupOut:
    out = LineupOut.model_validate(item)
    out.sku, out.name = product.sku, product.name
    out.list_price, out.warehouse_stock = product.list_price, product.stock
    out.qc_status = product.qc_status
    return out


async def list_items(session: AsyncSession, stream_id: int) -> list[LineupOut]:
    rows = await session.execute(
        select(LineupItem, Product)
        .join(Product, Product.id == LineupItem.product_id)
        .where(LineupItem.stream_id == stream_id)
        .order_by(LineupItem.position, LineupItem.id)
    )
    return [item_out(i, p) for i, p in rows.all()]


async def lineup_part(ctx: SnapshotContext) -> Any:
    """The lineup as GET /lineup answers it: the consoles seed that query with it."""
    return as_response(list[LineupOut], await list_items(ctx.session, ctx.stream.id))


async def get_item(session: AsyncSession, stream_id: int, product_id: int) -> LineupItem:
    item = await session.scalar(
        select(LineupItem).where(
            LineupItem.stream_id == stream_id, LineupItem.product_id == product_id
        )
    )
    if item is None:
        raise NotFound(
            f"product {product_id} is not in stream {stream_id}'s lineup", code="not_in_lineup"
        )
    return item


async def _check_bundle_products(session: AsyncSession, bundles: list[Any]) -> None:
    ids = {pid for b in bundles for pid in b.product_ids}
    if not ids:
        return
    found = set((await session.scalars(select(Product.id).where(Product.id.in_(ids)))).all())
    missing = sorted(ids - found)
    if missing:
        raise Unprocessable(
            f"bundle names unknown product(s) {missing}",
            code="product_not_found",
            product_ids=missing,
        )


def _json_offers(values: dict[str, Any], data: LineupIn | LineupUpdate) -> None:
    # JSON columns keep money as two-place strings, as the API shows it.
    dumped = data.model_dump(mode="json", include={"bundles", "full_reduction"})
    for name in ("bundles", "full_reduction"):
        if name in values:
            values[name] = dumped[name] if values[name] is not None else []


async def add_item(session: AsyncSession, stream: Stream, data: LineupIn) -> LineupOut:
    ensure_plannable(stream)
    product = await get_or_404(session, Product, data.product_id, "product")
    reason = ineligibility(product)
    if reason is not None:
        why = "failed QC" if reason == "qc_failed" else "is unlicensed (三无)"
        raise Conflict(
            f"product {product.id} ({product.name}) {why} and cannot enter a lineup",
            code="product_ineligible",
            reason=reason,
            product_id=product.id,
        )
    await _check_bundle_products(session, data.bundles)
    await lock_stream(session, stream.id)
    count = await session.scalar(
        select(func.count()).select_from(LineupItem).where(LineupItem.stream_id == stream.id)
    )
    position = min(data.position or (count or 0) + 1, (count or 0) + 1)
    values = model_values(data, exclude=frozenset({"position"}))
    _json_offers(values, data)
    item = LineupItem(stream_id=stream.id, position=position, **values)
    try:
        async with session.begin_nested():
            await session.execute(
                update(LineupItem)
                .where(LineupItem.stream_id == stream.id, LineupItem.position >= position)
                .values(position=LineupItem.position + 1)
                .execution_options(synchronize_session=False)
            )
            session.add(item)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"product {product.id} is already in the lineup",
            code="already_in_lineup",
            product_id=product.id,
        ) from exc
    await _expire_lineup(session, stream.id)
    _announce(session, stream.id, "added", product_id=product.id)
    return item_out(item, product)


async def _expire_lineup(session: AsyncSession, stream_id: int) -> None:
    """Bulk UPDATEs bypass the identity map; reload positions on next access."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, LineupItem) and obj.stream_id == stream_id:
            await session.refresh(obj)


async def update_item(
    session: AsyncSession,
    stream: Stream,
    product_id: int,
    data: LineupUpdate,
    actor: User | None = None,
) -> LineupOut:
    ensure_plannable(stream)
    item = await get_item(session, stream.id, product_id)
    changes = model_values(data, only_set=True)
    for name in ("live_price", "allotted_stock", "flash_sale_allotment"):
        if name in changes and changes[name] is None:
            raise Unprocessable(f"{name} cannot be null", code="field_required", field=name)
    if "allotted_stock" in changes and changes["allotted_stock"] != item.allotted_stock:
        if stream.status == StreamStatus.live:
            raise Conflict(
                "the stream is live: change its stock through the live stock adjustment",
                code="stream_live",
            )
        if changes["allotted_stock"] < item.sold_units:
            raise Conflict(f"{item.sold_units} units are already sold", code="below_sold_units")
    allotted = changes.get("allotted_stock", item.allotted_stock)
    flash = changes.get("flash_sale_allotment", item.flash_sale_allotment)
    if flash > allotted:
        raise Unprocessable(
            f"flash_sale_allotment {flash} cannot exceed allotted_stock {allotted}",
            code="flash_allotment_too_large",
        )
    discount = changes.get("coupon_discount", item.coupon_discount)
    min_spend = changes.get("coupon_min_spend", item.coupon_min_spend)
    if discount is not None and min_spend and discount >= min_spend:
        # Checked on the merged values: a change to one side alone can break the pair.
        raise Unprocessable(
            f"coupon_discount {discount} must be below coupon_min_spend {min_spend}",
            code="bad_coupon",
        )
    if changes.get("bundles"):
        await _check_bundle_products(session, data.bundles or [])
    _json_offers(changes, data)
    for name in ("gifts",):
        if name in changes and changes[name] is None:
            changes[name] = []
    if "notes" in changes and changes["notes"] is None:
        changes["notes"] = ""
    if changes.get("restock_on_return", True) is None:
        del changes["restock_on_return"]
    new_gift_stock = changes.get("gift_stock")
    if new_gift_stock is not None and new_gift_stock < item.gifts_given:
        raise Conflict(f"{item.gifts_given} gift sets are already given", code="below_gifts_given")
    old_price = item.live_price
    for name, value in changes.items():
        setattr(item, name, value)
    await session.flush()
    if stream.status == StreamStatus.live and item.live_price != old_price:
        # A price change during the stream: in the action log and the price history.
        from app.services.controls import log_action
        from app.services.offers import record_price

        log_action(
            session,
            stream.id,
            actor,
            "price",
            product_id,
            old_price=format_money(old_price),
            new_price=format_money(item.live_price),
        )
        record_price(session, product_id, item.live_price, f"live price, stream {stream.id}")
    product = await session.get(Product, product_id)
    assert product is not None
    _announce(session, stream.id, "updated", product_id=product_id)
    return item_out(item, product)


async def remove_item(session: AsyncSession, stream: Stream, product_id: int) -> None:
    ensure_plannable(stream)
    item = await get_item(session, stream.id, product_id)
    if (
        stream.status == StreamStatus.live
        or item.status != ListingStatus.pending
        or item.sold_units
    ):
        raise Conflict(
            "only a product that was never listed or sold can leave the lineup; delist it instead",
            code="lineup_item_in_use",
        )
    await session.delete(item)
    await session.flush()
    await _renumber(session, stream.id)
    _announce(session, stream.id, "removed", product_id=product_id)


async def _renumber(session: AsyncSession, stream_id: int, order: list[int] | None = None) -> None:
    items = list(
        (
            await session.scalars(
                select(LineupItem)
                .where(LineupItem.stream_id == stream_id)
                .order_by(LineupItem.position, LineupItem.id)
            )
        ).all()
    )
    if order is not None:
        rank = {pid: i for i, pid in enumerate(order)}
        items.sort(key=lambda i: rank[i.product_id])
    for position, item in enumerate(items, start=1):
        item.position = position
    await session.flush()


async def reorder(session: AsyncSession, stream: Stream, product_ids: list[int]) -> list[LineupOut]:
    """Set the explanation order in one call: `product_ids` must name the whole lineup."""
    ensure_plannable(stream)
    await lock_stream(session, stream.id)
    current = set(
        (
            await session.scalars(
                select(LineupItem.product_id).where(LineupItem.stream_id == stream.id)
            )
        ).all()
    )
    duplicates = sorted({p for p in product_ids if product_ids.count(p) > 1})
    missing = sorted(current - set(product_ids))
    unknown = sorted(set(product_ids) - current)
    if duplicates or missing or unknown:
        raise Unprocessable(
            "product_ids must list every lineup product exactly once",
            code="bad_order",
            missing=missing,
            unknown=unknown,
            duplicates=duplicates,
        )
    await _renumber(session, stream.id, product_ids)
    _announce(session, stream.id, "reordered", product_ids=product_ids)
    return await list_items(session, stream.id)
