"""Live controls (场控): list, delist, explain, adjust stock, cues and incidents.

Every action is written to the `control_actions` log (who, when, what) and announced
to the consoles through the outbox, so it reaches them only once the request commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import dialect_insert, utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.i18n import Lang, lang_of, localize
from app.models import (
    ControlAction,
    Cue,
    CuePriority,
    Incident,
    IncidentType,
    LineupItem,
    ListingStatus,
    ScriptSegment,
    SegmentCursor,
    Stream,
    StreamStatus,
    User,
)
from app.realtime.outbox import queue_event
from app.realtime.snapshot import SnapshotContext, as_response
from app.schemas.controls import CueOut, IncidentOut, SegmentBrief, SegmentNowOut
from app.services import alerts, webhooks
from app.services.stock_mirror import allotted_changed
from app.services.stream_rows import get_in_stream
from app.services.uow import UnitOfWork

# Listing, explaining and stock changes make sense before the stream starts (预上架,
# rehearsal) and while it runs; not on a draft that is still being planned, and never
# after the end (the review must not move under the analyst's feet).
ACTIVE_STATUSES = frozenset({StreamStatus.scheduled, StreamStatus.live})
# Incidents may still be written up after the end, for the review; not once archived.
OPEN_STATUSES = frozenset(set(StreamStatus) - {StreamStatus.archived})

# Product and lottery events also reach the watch page (the live path shows viewers only
# events whose roles include "viewer"); their payloads therefore carry nothing internal:
# no actor, no allotment, no reasons. The action log keeps who did what.
PUBLIC_ROLES = frozenset({"viewer", "admin", "host", "controller", "service", "analyst"})


def require_active(stream: Stream) -> None:
    if stream.status not in ACTIVE_STATUSES:
        raise Conflict(
            f"stream is {stream.status}; this needs a scheduled or live stream",
            code="stream_not_active",
            status=str(stream.status),
        )


def require_open(stream: Stream) -> None:
    if stream.status not in OPEN_STATUSES:
        raise Conflict(
            f"stream is {stream.status}", code="stream_closed", status=str(stream.status)
        )


def actor_ref(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username}


def log_action(
    session: AsyncSession,
    stream_id: int,
    actor: User | None,
    action: str,
    product_id: int | None = None,
    **detail: Any,
) -> ControlAction:
    entry = ControlAction(
        stream_id=stream_id,
        actor_id=actor.id if actor else None,
        action=action,
        product_id=product_id,
        detail=detail,
        created_at=utcnow(),
    )
    session.add(entry)
    webhooks.note_action(session, entry)  # goes out to the stream's webhooks on commit
    return entry


def lineup_state(item: LineupItem) -> dict[str, Any]:
    """What the consoles need to redraw one lineup row."""
    return {
        "product_id": item.product_id,
        "status": str(item.status),
        "explaining": item.explaining,
        "allotted_stock": item.allotted_stock,
        "sold_units": item.sold_units,
        "stock_left": item.allotted_stock - item.sold_units,
    }


def public_state(item: LineupItem) -> dict[str, Any]:
    """A lineup row as the watch page may see it."""
    return {
        "product_id": item.product_id,
        "status": str(item.status),
        "explaining": item.explaining,
        "stock_left": item.allotted_stock - item.sold_units,
    }


async def get_lineup_item(
    session: AsyncSession, stream_id: int, product_id: int, *, lock: bool = False
) -> LineupItem:
    query = select(LineupItem).where(
        LineupItem.stream_id == stream_id, LineupItem.product_id == product_id
    )
    if lock:
        query = query.with_for_update()
    item = await session.scalar(query.execution_options(populate_existing=True))
    if item is None:
        raise NotFound(f"product {product_id} is not in this stream's lineup", code="not_in_lineup")
    return item


async def _lock_stream(session: AsyncSession, stream_id: int) -> None:
    """Serialize explain/delist per stream (a row lock; SQLite serializes writers anyway)."""
    await session.execute(select(Stream.id).where(Stream.id == stream_id).with_for_update())


# ----------------------------------------------------------------------------- listing


async def list_product(
    session: AsyncSession, stream: Stream, product_id: int, actor: User
) -> LineupItem:
    """上架: put the product on sale. Listing a listed product changes nothing."""
    require_active(stream)
    item = await get_lineup_item(session, stream.id, product_id, lock=True)
    if item.status == ListingStatus.listed:
        return item
    previous = item.status
    item.status = ListingStatus.listed
    log_action(session, stream.id, actor, "list", product_id, previous=str(previous))
    await session.flush()
    queue_event(session, stream.id, "product.listed", public_state(item), PUBLIC_ROLES)
    await alerts.check_stock(session, stream.id, item)
    return item


async def delist_product(
    session: AsyncSession, stream: Stream, product_id: int, actor: User
) -> LineupItem:
    """下架: take it off sale; a delisted product is no longer being explained."""
    require_active(stream)
    await _lock_stream(session, stream.id)
    item = await get_lineup_item(session, stream.id, product_id, lock=True)
    if item.status == ListingStatus.delisted and not item.explaining:
        return item
    was_explaining = item.explaining
    previous = item.status
    item.status = ListingStatus.delisted
    item.explaining = False
    log_action(
        session,
        stream.id,
        actor,
        "delist",
        product_id,
        previous=str(previous),
        stopped_explaining=was_explaining,
    )
    await session.flush()
    queue_event(session, stream.id, "product.delisted", public_state(item), PUBLIC_ROLES)
    if was_explaining:
        queue_event(
            session,
            stream.id,
            "product.explaining",
            {"product_id": None, "previous_product_id": product_id},
            PUBLIC_ROLES,
        )
    await alerts.check_stock(session, stream.id, item)
    return item


async def explain_product(
    session: AsyncSession, stream: Stream, product_id: int, actor: User
) -> LineupItem:
    """讲解中: pin this product's card; exactly one product is explained at a time."""
    require_active(stream)
    await _lock_stream(session, stream.id)
    item = await get_lineup_item(session, stream.id, product_id, lock=True)
    if item.status == ListingStatus.delisted:
        raise Conflict(
            "a delisted product cannot be explained; list it again first", code="delisted"
        )
    previous = await session.scalar(
        select(LineupItem.product_id).where(
            LineupItem.stream_id == stream.id,
            LineupItem.explaining.is_(True),
            LineupItem.product_id != product_id,
        )
    )
    if item.explaining and previous is None:
        return item
    await session.execute(
        update(LineupItem)
        .where(
            LineupItem.stream_id == stream.id,
            LineupItem.explaining.is_(True),
            LineupItem.product_id != product_id,
        )
        .values(explaining=False, updated_at=utcnow())
    )
    item.explaining = True
    log_action(session, stream.id, actor, "explain", product_id, previous_product_id=previous)
    await session.flush()
    queue_event(
        session,
        stream.id,
        "product.explaining",
        {**public_state(item), "previous_product_id": previous},
        PUBLIC_ROLES,
    )
    return item


async def explaining_product_id(session: AsyncSession, stream_id: int) -> int | None:
    return await session.scalar(
        select(LineupItem.product_id).where(
            LineupItem.stream_id == stream_id, LineupItem.explaining.is_(True)
        )
    )


# ----------------------------------------------------------------------------- stock


async def adjust_stock(
    uow: UnitOfWork,
    stream: Stream,
    product_id: int,
    actor: User,
    *,
    reason: str,
    delta: int | None = None,
    allotted_stock: int | None = None,
) -> LineupItem:
    """Change a product's allotted stock (加库存 / 减库存) by `delta` or to a new total.

    The change is one conditional UPDATE, so an order taking stock at the same moment
    can never leave the allotment below the units already sold: that is a 409.
    """
    session = uow.session
    require_active(stream)
    if (delta is None) == (allotted_stock is None):
        raise Unprocessable("give exactly one of delta or allotted_stock", code="bad_stock_change")
    item = await get_lineup_item(session, stream.id, product_id)
    before = item.allotted_stock
    new_value = LineupItem.allotted_stock + delta if delta is not None else allotted_stock
    result = await session.execute(
        update(LineupItem)
        .where(LineupItem.id == item.id, LineupItem.sold_units <= new_value)
        .values(allotted_stock=new_value, updated_at=utcnow())
        .returning(LineupItem.allotted_stock, LineupItem.sold_units)
        .execution_options(synchronize_session=False)
    )
    row = result.one_or_none()
    if row is None:
        fresh = await get_lineup_item(session, stream.id, product_id)
        raise Conflict(
            f"stock cannot go below the {fresh.sold_units} units already sold",
            code="below_sold",
            sold_units=fresh.sold_units,
            allotted_stock=fresh.allotted_stock,
        )
    item = await get_lineup_item(session, stream.id, product_id)
    log_action(
        session,
        stream.id,
        actor,
        "stock",
        product_id,
        before=before,
        after=item.allotted_stock,
        reason=reason,
    )
    await session.flush()
    allotted_changed(session, uow.live.stock, item)  # the stock book follows after commit
    queue_event(
        session,
        stream.id,
        "stock.changed",
        {**lineup_state(item), "before": before, "reason": reason, "by": actor_ref(actor)},
    )
    await alerts.check_stock(session, stream.id, item)
    return item


# ----------------------------------------------------------------------------- cues


async def create_cue(
    session: AsyncSession,
    stream: Stream,
    actor: User,
    *,
    text: str,
    priority: CuePriority,
    product_id: int | None,
) -> Cue:
    require_active(stream)
    if product_id is not None:
        await get_lineup_item(session, stream.id, product_id)
    cue = Cue(
        stream_id=stream.id,
        text=text,
        priority=priority,
        product_id=product_id,
        created_by=actor.id,
        created_at=utcnow(),
    )
    session.add(cue)
    await session.flush()
    log_action(session, stream.id, actor, "cue", product_id, cue_id=cue.id, priority=str(priority))
    queue_event(session, stream.id, "cue", cue_payload(cue, actor))
    return cue


def cue_payload(cue: Cue, actor: User | None = None) -> dict[str, Any]:
    return {
        "id": cue.id,
        "text": cue.text,
        "code": cue.code,
        "params": cue.params,
        "priority": str(cue.priority),
        "product_id": cue.product_id,
        "created_at": cue.created_at.isoformat(),
        "acked_at": cue.acked_at.isoformat() if cue.acked_at else None,
        "by": actor_ref(actor) if actor else None,
    }


async def ack_cue(session: AsyncSession, stream: Stream, cue_id: int, actor: User) -> Cue:
    """The host saw the cue. Acknowledging twice keeps the first acknowledgement."""
    cue = await get_in_stream(session, Cue, stream.id, cue_id, "cue", for_update=True)
    if cue.acked_at is not None:
        return cue
    cue.acked_at = utcnow()
    cue.acked_by = actor.id
    log_action(session, stream.id, actor, "cue_ack", cue.product_id, cue_id=cue.id)
    await session.flush()
    queue_event(session, stream.id, "cue.acked", cue_payload(cue, actor))
    return cue


async def list_cues(session: AsyncSession, stream_id: int, *, open_only: bool) -> list[Cue]:
    query = select(Cue).where(Cue.stream_id == stream_id)
    if open_only:
        query = query.where(Cue.acked_at.is_(None))
    return list((await session.scalars(query.order_by(Cue.id.desc()).limit(500))).all())


# ----------------------------------------------------------------------------- incidents


async def create_incident(
    session: AsyncSession, stream: Stream, actor: User, *, type: IncidentType, note: str
) -> Incident:
    require_open(stream)
    incident = Incident(
        stream_id=stream.id, type=type, note=note, created_by=actor.id, created_at=utcnow()
    )
    session.add(incident)
    await session.flush()
    log_action(session, stream.id, actor, "incident", incident_id=incident.id, type=str(type))
    queue_event(session, stream.id, "incident.opened", incident_payload(incident, actor))
    return incident


def incident_payload(incident: Incident, actor: User | None = None) -> dict[str, Any]:
    return {
        "id": incident.id,
        "type": str(incident.type),
        "note": incident.note,
        "resolved": incident.resolved,
        "resolution": incident.resolution,
        "created_at": incident.created_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "by": actor_ref(actor) if actor else None,
    }


async def resolve_incident(
    session: AsyncSession, stream: Stream, incident_id: int, actor: User, *, resolution: str
) -> Incident:
    incident = await get_in_stream(
        session, Incident, stream.id, incident_id, "incident", for_update=True
    )
    if incident.resolved:
        raise Conflict("incident is already resolved", code="already_resolved")
    incident.resolved = True
    incident.resolved_at = utcnow()
    incident.resolved_by = actor.id
    incident.resolution = resolution
    log_action(session, stream.id, actor, "incident_resolve", incident_id=incident.id)
    await session.flush()
    queue_event(session, stream.id, "incident.resolved", incident_payload(incident, actor))
    return incident


async def list_incidents(
    session: AsyncSession, stream_id: int, *, open_only: bool
) -> list[Incident]:
    query = select(Incident).where(Incident.stream_id == stream_id)
    if open_only:
        query = query.where(Incident.resolved.is_(False))
    return list((await session.scalars(query.order_by(Incident.id.desc()).limit(500))).all())


# ----------------------------------------------------------------------------- log


async def list_actions(
    session: AsyncSession, stream_id: int, *, limit: int, before_id: int | None
) -> list[tuple[ControlAction, str | None]]:
    """The action log, newest first, with each actor's username."""
    query = (
        select(ControlAction, User.username)
        .outerjoin(User, User.id == ControlAction.actor_id)
        .where(ControlAction.stream_id == stream_id)
    )
    if before_id is not None:
        query = query.where(ControlAction.id < before_id)
    rows = await session.execute(query.order_by(ControlAction.id.desc()).limit(limit))
    return [(action, username) for action, username in rows.all()]


# ----------------------------------------------------------------------------- segments


def segment_payload(segment: ScriptSegment | None) -> dict[str, Any] | None:
    if segment is None:
        return None
    return {
        "id": segment.id,
        "position": segment.position,
        "kind": str(segment.kind),
        "title": segment.title,
        "start_offset_seconds": segment.start_offset_seconds,
        "duration_seconds": segment.duration_seconds,
        "talking_points": list(segment.talking_points),
        "cues": list(segment.cues),
        "product_id": segment.product_id,
        "notes": segment.notes,
    }


async def _segments(session: AsyncSession, stream_id: int) -> list[ScriptSegment]:
    """The rundown in order: position, then planned start, then id (stable on ties)."""
    rows = await session.scalars(
        select(ScriptSegment)
        .where(ScriptSegment.stream_id == stream_id)
        .order_by(ScriptSegment.position, ScriptSegment.start_offset_seconds, ScriptSegment.id)
    )
    return list(rows.all())


async def _locked_cursor(session: AsyncSession, stream_id: int) -> SegmentCursor:
    """The stream's cursor row, created on first use and locked for this transaction."""
    values = {"stream_id": stream_id, "segment_id": None, "started_at": utcnow()}
    await session.execute(
        dialect_insert(session, SegmentCursor).values(**values).on_conflict_do_nothing()
    )
    cursor = await session.scalar(
        select(SegmentCursor)
        .where(SegmentCursor.stream_id == stream_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert cursor is not None
    return cursor


@dataclass
class SegmentPosition:
    current: ScriptSegment | None
    next: ScriptSegment | None
    previous: ScriptSegment | None
    started_at: datetime | None
    total: int


def _position(
    segments: list[ScriptSegment], current_id: int | None, started_at: datetime | None
) -> SegmentPosition:
    ids = [s.id for s in segments]
    index = ids.index(current_id) if current_id in ids else None
    if index is None:
        return SegmentPosition(None, segments[0] if segments else None, None, None, len(ids))
    return SegmentPosition(
        segments[index],
        segments[index + 1] if index + 1 < len(segments) else None,
        segments[index - 1] if index > 0 else None,
        started_at,
        len(ids),
    )


async def current_segment(session: AsyncSession, stream_id: int) -> SegmentPosition:
    cursor = await session.get(SegmentCursor, stream_id)
    segments = await _segments(session, stream_id)
    if cursor is None:
        return _position(segments, None, None)
    return _position(segments, cursor.segment_id, cursor.started_at)


async def move_segment(
    session: AsyncSession,
    stream: Stream,
    actor: User,
    *,
    step: int | None = None,
    segment_id: int | None = None,
    guard: bool = False,
    expected_current: int | None = None,
) -> SegmentPosition:
    """Go to the next (`step=1`) or previous (`step=-1`) segment, or jump to one.

    With `guard`, `expected_current` is the segment the console showed when the user
    clicked (None: no segment yet): if
    someone else moved meanwhile, the click is refused (409 `segment_moved`) instead of
    skipping a segment because host and controller both pressed "next".
    """
    require_active(stream)
    cursor = await _locked_cursor(session, stream.id)
    segments = await _segments(session, stream.id)
    if guard and cursor.segment_id != expected_current:
        raise Conflict(
            "the segment was moved meanwhile",
            code="segment_moved",
            current_segment_id=cursor.segment_id,
        )
    ids = [s.id for s in segments]
    index = ids.index(cursor.segment_id) if cursor.segment_id in ids else None
    if segment_id is not None:
        if segment_id not in ids:
            raise NotFound(
                f"segment {segment_id} is not in this stream's script", code="segment_not_found"
            )
        target = ids.index(segment_id)
    elif step == 1:
        target = 0 if index is None else index + 1
        if target >= len(ids):
            raise Conflict("already at the last segment", code="no_next_segment")
    else:
        if index is None or index == 0:
            raise Conflict("already at the first segment", code="no_previous_segment")
        target = index - 1
    previous_id = cursor.segment_id
    cursor.segment_id = ids[target]
    cursor.started_at = utcnow()
    cursor.moved_by = actor.id
    how = "jump" if segment_id is not None else ("next" if step == 1 else "previous")
    log_action(
        session,
        stream.id,
        actor,
        "segment",
        segments[target].product_id,
        how=how,
        from_segment_id=previous_id,
        to_segment_id=cursor.segment_id,
    )
    await session.flush()
    position = _position(segments, cursor.segment_id, cursor.started_at)
    queue_event(
        session,
        stream.id,
        "segment.changed",
        {
            "segment": segment_payload(position.current),
            "next": segment_payload(position.next),
            "previous_segment_id": previous_id,
            "started_at": cursor.started_at.isoformat(),
            "how": how,
            "by": actor_ref(actor),
        },
    )
    return position


# ----------------------------------------------------------------------------- snapshot


def segment_now(position: SegmentPosition) -> SegmentNowOut:
    """Where the script is, as GET /segments/current (and the moves) answer it."""

    def brief(segment: object) -> SegmentBrief | None:
        return None if segment is None else SegmentBrief.model_validate(segment)

    elapsed = remaining = None
    if position.current is not None and position.started_at is not None:
        elapsed = int((utcnow() - position.started_at).total_seconds())
        remaining = position.current.duration_seconds - elapsed
    return SegmentNowOut(
        current=brief(position.current),
        next=brief(position.next),
        previous=brief(position.previous),
        started_at=position.started_at,
        elapsed_seconds=elapsed,
        remaining_seconds=remaining,
        total_segments=position.total,
    )


def cue_views(cues: list[Cue], lang: Lang) -> list[CueOut]:
    """Cues as GET /cues answers them: an automatic cue's text in `lang`."""
    out = []
    for cue in cues:
        row = CueOut.model_validate(cue)
        text = localize(cue.code, cue.params, lang) if cue.code else None
        out.append(row.model_copy(update={"text": text}) if text else row)
    return out


# The snapshot's parts are the REST answers the consoles would otherwise fetch (the
# consoles seed those queries with them): GET /segments/current, GET /cues (open ones)
# and GET /incidents?open=true. The snapshot is shared by every console of a role, so
# an automatic cue's text is in the default language; the consoles word cues by `code`.


async def segment_part(ctx: SnapshotContext) -> Any:
    position = await current_segment(ctx.session, ctx.stream.id)
    return as_response(SegmentNowOut, segment_now(position))


async def cues_part(ctx: SnapshotContext) -> Any:
    cues = await list_cues(ctx.session, ctx.stream.id, open_only=True)
    return as_response(list[CueOut], cue_views(cues, lang_of(None)))


async def incidents_part(ctx: SnapshotContext) -> Any:
    rows = await list_incidents(ctx.session, ctx.stream.id, open_only=True)
    return as_response(list[IncidentOut], rows)
