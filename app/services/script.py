"""The script / rundown: segments, their timing report, and copying a past script."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, Unprocessable
from app.models import Product, ScriptSegment, Stream
from app.schemas.script import Gap, Overlap, ScriptOut, SegmentIn, SegmentOut, SegmentUpdate
from app.services.planning import ensure_plannable, lock_stream
from app.services.stream_rows import get_in_stream


async def segments(session: AsyncSession, stream_id: int) -> list[ScriptSegment]:
    rows = await session.scalars(
        select(ScriptSegment)
        .where(ScriptSegment.stream_id == stream_id)
        .order_by(ScriptSegment.start_offset_seconds, ScriptSegment.position, ScriptSegment.id)
    )
    return list(rows.all())


def segment_out(seg: ScriptSegment) -> SegmentOut:
    return SegmentOut(
        id=seg.id,
        stream_id=seg.stream_id,
        position=seg.position,
        kind=seg.kind,
        title=seg.title,
        start_offset_seconds=seg.start_offset_seconds,
        duration_seconds=seg.duration_seconds,
        end_offset_seconds=seg.start_offset_seconds + seg.duration_seconds,
        talking_points=list(seg.talking_points),
        cues=list(seg.cues),
        product_id=seg.product_id,
        notes=seg.notes,
    )


def analyze(segs: list[ScriptSegment], planned_minutes: int | None) -> ScriptOut:
    """Timing report: gaps (dead air) and overlaps between segments, total vs planned."""
    ordered = sorted(segs, key=lambda s: (s.start_offset_seconds, s.position, s.id))
    gaps: list[Gap] = []
    overlaps: list[Overlap] = []
    cursor = 0  # the latest end so far
    last: ScriptSegment | None = None  # the segment that ends at `cursor`
    for seg in ordered:
        start, end = seg.start_offset_seconds, seg.start_offset_seconds + seg.duration_seconds
        if start > cursor:
            gaps.append(
                Gap(
                    start_offset_seconds=cursor,
                    seconds=start - cursor,
                    after_segment_id=last.id if last else None,
                    before_segment_id=seg.id,
                )
            )
        elif start < cursor and last is not None:
            overlaps.append(
                Overlap(
                    segment_ids=[last.id, seg.id],
                    start_offset_seconds=start,
                    seconds=min(cursor, end) - start,
                )
            )
        if end > cursor or last is None:
            cursor, last = max(cursor, end), seg
    planned = planned_minutes * 60 if planned_minutes else None
    return ScriptOut(
        segments=[segment_out(s) for s in ordered],
        total_seconds=sum(s.duration_seconds for s in ordered),
        span_seconds=cursor,
        planned_seconds=planned,
        difference_seconds=cursor - planned if planned is not None else None,
        gaps=gaps,
        overlaps=overlaps,
    )


async def script_report(session: AsyncSession, stream: Stream) -> ScriptOut:
    return analyze(await segments(session, stream.id), stream.planned_minutes)


async def _check_products(session: AsyncSession, product_ids: set[int]) -> None:
    if not product_ids:
        return
    found = set(
        (await session.scalars(select(Product.id).where(Product.id.in_(product_ids)))).all()
    )
    missing = sorted(product_ids - found)
    if missing:
        raise Unprocessable(
            f"unknown product(s): {missing}", code="product_not_found", product_ids=missing
        )


async def _renumber(session: AsyncSession, stream_id: int) -> None:
    await lock_stream(session, stream_id)
    for i, seg in enumerate(await segments(session, stream_id), start=1):
        seg.position = i
    await session.flush()


def _next_start(existing: list[ScriptSegment]) -> int:
    return max((s.start_offset_seconds + s.duration_seconds for s in existing), default=0)


def _build(stream_id: int, data: SegmentIn, start: int) -> ScriptSegment:
    fields = data.model_dump(exclude={"start_offset_seconds"})
    return ScriptSegment(stream_id=stream_id, start_offset_seconds=start, **fields)


async def add_segment(session: AsyncSession, stream: Stream, data: SegmentIn) -> ScriptSegment:
    ensure_plannable(stream)
    if data.product_id is not None:
        await _check_products(session, {data.product_id})
    existing = await segments(session, stream.id)
    start = data.start_offset_seconds
    seg = _build(stream.id, data, _next_start(existing) if start is None else start)
    session.add(seg)
    await session.flush()
    await _renumber(session, stream.id)
    return seg


async def get_segment(session: AsyncSession, stream_id: int, segment_id: int) -> ScriptSegment:
    return await get_in_stream(session, ScriptSegment, stream_id, segment_id, "segment")


async def update_segment(
    session: AsyncSession, stream: Stream, segment_id: int, data: SegmentUpdate
) -> ScriptSegment:
    ensure_plannable(stream)
    seg = await get_segment(session, stream.id, segment_id)
    changes = data.model_dump(exclude_unset=True)
    for name in ("kind", "title", "start_offset_seconds", "duration_seconds", "notes"):
        if name in changes and changes[name] is None:
            raise Unprocessable(f"{name} cannot be null", code="field_required", field=name)
    for name in ("talking_points", "cues"):
        if name in changes and changes[name] is None:
            changes[name] = []
    if changes.get("product_id") is not None:
        await _check_products(session, {changes["product_id"]})
    for name, value in changes.items():
        setattr(seg, name, value)
    await session.flush()
    await _renumber(session, stream.id)
    return seg


async def delete_segment(session: AsyncSession, stream: Stream, segment_id: int) -> None:
    ensure_plannable(stream)
    seg = await get_segment(session, stream.id, segment_id)
    await session.delete(seg)
    await session.flush()
    await _renumber(session, stream.id)


async def replace_script(
    session: AsyncSession, stream: Stream, items: list[SegmentIn]
) -> list[ScriptSegment]:
    """Replace the whole rundown at once (all validated first; nothing changes on error)."""
    ensure_plannable(stream)
    await _check_products(session, {i.product_id for i in items if i.product_id is not None})
    await session.execute(delete(ScriptSegment).where(ScriptSegment.stream_id == stream.id))
    cursor = 0
    for item in items:
        start = cursor if item.start_offset_seconds is None else item.start_offset_seconds
        session.add(_build(stream.id, item, start))
        cursor = max(cursor, start + item.duration_seconds)
    await session.flush()
    await _renumber(session, stream.id)
    return await segments(session, stream.id)


async def copy_script(
    session: AsyncSession, stream: Stream, source: Stream, replace: bool
) -> list[ScriptSegment]:
    """Use a past stream's script as the template for this one."""
    ensure_plannable(stream)
    if source.id == stream.id:
        raise Unprocessable("a script cannot be copied onto itself", code="same_stream")
    template = await segments(session, source.id)
    if not template:
        raise Conflict(f"stream {source.id} has no script to copy", code="source_script_empty")
    if await segments(session, stream.id):
        if not replace:
            raise Conflict(
                f"stream {stream.id} already has a script; send replace=true to overwrite it",
                code="script_not_empty",
            )
        await session.execute(delete(ScriptSegment).where(ScriptSegment.stream_id == stream.id))
    copy_fields: tuple[str, ...] = (
        "position",
        "kind",
        "title",
        "start_offset_seconds",
        "duration_seconds",
        "talking_points",
        "cues",
        "product_id",
        "notes",
    )
    for seg in template:
        values: dict[str, Any] = {f: getattr(seg, f) for f in copy_fields}
        values["talking_points"] = list(seg.talking_points)
        values["cues"] = list(seg.cues)
        session.add(ScriptSegment(stream_id=stream.id, **values))
    await session.flush()
    await _renumber(session, stream.id)
    return await segments(session, stream.id)
