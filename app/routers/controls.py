"""Live controls: what the field controller (场控) does during the stream."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import CurrentUser, SessionDep, UowDep
from app.i18n import lang_of
from app.models import LineupItem, Stream, User
from app.routers._common import (
    ControllerHostStream,
    ControllerServiceStream,
    ControllerStream,
    TeamStream,
)
from app.schemas.controls import (
    ActionOut,
    CueIn,
    CueOut,
    IncidentIn,
    IncidentOut,
    IncidentResolveIn,
    LineupStateOut,
    SegmentMoveIn,
    SegmentNowOut,
    StockAdjustIn,
)
from app.services import controls as controls_service

router = APIRouter(prefix="/api/v1/streams", tags=["live controls"])

_ROLE_NOTE = (
    " Allowed: an admin, or a member of the stream's team with the role named here; others get 403."
)


def _lineup_out(item: LineupItem) -> LineupStateOut:
    return LineupStateOut.model_validate(
        {
            "product_id": item.product_id,
            "status": item.status,
            "explaining": item.explaining,
            "live_price": item.live_price,
            "allotted_stock": item.allotted_stock,
            "sold_units": item.sold_units,
            "stock_left": item.allotted_stock - item.sold_units,
            "position": item.position,
            "updated_at": item.updated_at,
        }
    )


@router.post(
    "/{stream_id}/lineup/{product_id}/list",
    response_model=LineupStateOut,
    summary="List a product: put it on sale in the room (上架) — controller",
    description=(
        "Sets the lineup item's status to `listed` and pushes `product.listed`. The stream "
        "must be scheduled or live (409 `stream_not_active`); a product not in the lineup "
        "is 404 `not_in_lineup`. Listing a listed product changes nothing." + _ROLE_NOTE
    ),
)
async def list_product(
    product_id: int, stream: ControllerStream, session: SessionDep, user: CurrentUser
) -> LineupStateOut:
    item = await controls_service.list_product(session, stream, product_id, user)
    return _lineup_out(item)


@router.post(
    "/{stream_id}/lineup/{product_id}/delist",
    response_model=LineupStateOut,
    summary="Delist a product: take it off sale (下架) — controller",
    description=(
        "Sets the status to `delisted`, stops explaining it, and pushes `product.delisted` "
        "(plus `product.explaining` with `product_id: null` if it was being explained)."
        + _ROLE_NOTE
    ),
)
async def delist_product(
    product_id: int, stream: ControllerStream, session: SessionDep, user: CurrentUser
) -> LineupStateOut:
    item = await controls_service.delist_product(session, stream, product_id, user)
    return _lineup_out(item)


@router.post(
    "/{stream_id}/lineup/{product_id}/explain",
    response_model=LineupStateOut,
    summary="Pin the product being explained (讲解中) — controller",
    description=(
        "Exactly one product per stream is explained at a time: the previous one is "
        "cleared. Pushes `product.explaining` with `previous_product_id`. A delisted "
        "product cannot be explained (409 `delisted`)." + _ROLE_NOTE
    ),
)
async def explain_product(
    product_id: int, stream: ControllerStream, session: SessionDep, user: CurrentUser
) -> LineupStateOut:
    item = await controls_service.explain_product(session, stream, product_id, user)
    return _lineup_out(item)


@router.post(
    "/{stream_id}/lineup/{product_id}/stock",
    response_model=LineupStateOut,
    summary="Adjust a product's allotted stock, with a reason — controller",
    description=(
        "Body: `delta` (e.g. 50 or -10) or the new `allotted_stock`, and a `reason`. The "
        "allotment never goes below the units already sold (409 `below_sold`, nothing "
        "changed). Pushes `stock.changed`; may raise a stock alert." + _ROLE_NOTE
    ),
)
async def adjust_stock(
    product_id: int,
    body: StockAdjustIn,
    stream: ControllerStream,
    uow: UowDep,
    user: CurrentUser,
) -> LineupStateOut:
    item = await controls_service.adjust_stock(
        uow,
        stream,
        product_id,
        user,
        reason=body.reason,
        delta=body.delta,
        allotted_stock=body.allotted_stock,
    )
    return _lineup_out(item)


# ----------------------------------------------------------------------------- cues


@router.post(
    "/{stream_id}/cues",
    response_model=CueOut,
    status_code=201,
    summary="Send a cue to the host's teleprompter — controller, service",
    description=(
        "A short message with a priority (`normal`, `high`, `urgent`) and optionally the "
        "product it is about (must be in the lineup). Pushes `cue`. The stream must be "
        "scheduled or live." + _ROLE_NOTE
    ),
)
async def create_cue(
    body: CueIn, stream: ControllerServiceStream, session: SessionDep, user: CurrentUser
) -> object:
    return await controls_service.create_cue(
        session, stream, user, text=body.text, priority=body.priority, product_id=body.product_id
    )


@router.get(
    "/{stream_id}/cues",
    response_model=list[CueOut],
    summary="Cues of the stream, newest first (open ones only by default) — team",
)
async def list_cues(
    stream: TeamStream,
    session: SessionDep,
    request: Request,
    open: Annotated[bool, Query(description="only cues the host has not acknowledged")] = True,
) -> object:
    lang = lang_of(request.headers.get("accept-language"))
    cues = await controls_service.list_cues(session, stream.id, open_only=open)
    return controls_service.cue_views(cues, lang)


@router.post(
    "/{stream_id}/cues/{cue_id}/ack",
    response_model=CueOut,
    summary="Acknowledge a cue (the host saw it) — host, controller",
    description="Pushes `cue.acked`. Acknowledging again keeps the first time." + _ROLE_NOTE,
)
async def ack_cue(
    cue_id: int, stream: ControllerHostStream, session: SessionDep, user: CurrentUser
) -> object:
    return await controls_service.ack_cue(session, stream, cue_id, user)


# ----------------------------------------------------------------------------- incidents


@router.post(
    "/{stream_id}/incidents",
    response_model=IncidentOut,
    status_code=201,
    summary="Log an incident (突发问题) — controller, host",
    description=(
        "`type` is `technical`, `product`, `host` or `other`, with a note. Pushes "
        "`incident.opened`. Not on an ended or archived stream." + _ROLE_NOTE
    ),
)
async def create_incident(
    body: IncidentIn, stream: ControllerHostStream, session: SessionDep, user: CurrentUser
) -> object:
    return await controls_service.create_incident(
        session, stream, user, type=body.type, note=body.note
    )


@router.get(
    "/{stream_id}/incidents",
    response_model=list[IncidentOut],
    summary="Incidents of the stream, newest first — team",
)
async def list_incidents(
    stream: TeamStream,
    session: SessionDep,
    open: Annotated[bool, Query(description="only unresolved incidents")] = False,
) -> object:
    return await controls_service.list_incidents(session, stream.id, open_only=open)


@router.post(
    "/{stream_id}/incidents/{incident_id}/resolve",
    response_model=IncidentOut,
    summary="Mark an incident resolved, with who and when — controller, host",
    description="Pushes `incident.resolved`; resolving twice is 409." + _ROLE_NOTE,
)
async def resolve_incident(
    incident_id: int,
    body: IncidentResolveIn,
    stream: ControllerHostStream,
    session: SessionDep,
    user: CurrentUser,
) -> object:
    return await controls_service.resolve_incident(
        session, stream, incident_id, user, resolution=body.resolution
    )


# ----------------------------------------------------------------------------- log


@router.get(
    "/{stream_id}/actions",
    response_model=list[ActionOut],
    summary="The control action log (who did what, when), newest first — team",
    description="Page backwards with `before_id` (the smallest id of the previous page).",
)
async def list_actions(
    stream: TeamStream,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> list[ActionOut]:
    rows = await controls_service.list_actions(session, stream.id, limit=limit, before_id=before_id)
    return [
        ActionOut(
            id=a.id,
            action=a.action,
            product_id=a.product_id,
            actor_id=a.actor_id,
            actor=username,
            detail=a.detail,
            created_at=a.created_at,
            platform_status=a.platform_status,
            platform_message=a.platform_message,
            platform_result_at=a.platform_result_at,
        )
        for a, username in rows
    ]


# ----------------------------------------------------------------------------- segments


def _guard(body: SegmentMoveIn | None) -> dict[str, Any]:
    """Guard only when the console said what it showed (an explicit null included)."""
    if body is None or "expected_current" not in body.model_fields_set:
        return {}
    return {"guard": True, "expected_current": body.expected_current}


async def _move(
    session: AsyncSession,
    stream: Stream,
    user: User,
    body: SegmentMoveIn | None,
    *,
    step: int | None = None,
    segment_id: int | None = None,
) -> SegmentNowOut:
    """Move the script by `step` or to `segment_id`, guarded as the body asks."""
    position = await controls_service.move_segment(
        session, stream, user, step=step, segment_id=segment_id, **_guard(body)
    )
    return controls_service.segment_now(position)


_SEGMENT_NOTE = (
    ' Pushes `segment.changed`. Optional body `{"expected_current": id or null}` (null: no '
    "segment yet): refused with 409 `segment_moved` if someone else moved the script "
    "meanwhile. The stream must be scheduled or live." + _ROLE_NOTE
)


@router.get(
    "/{stream_id}/segments/current",
    response_model=SegmentNowOut,
    summary="The current script segment, the next one, elapsed and remaining time — team",
)
async def get_current_segment(stream: TeamStream, session: SessionDep) -> SegmentNowOut:
    return controls_service.segment_now(await controls_service.current_segment(session, stream.id))


@router.post(
    "/{stream_id}/segments/next",
    response_model=SegmentNowOut,
    summary="Move to the next script segment — controller, host",
    description="From no segment yet, this starts the first one; at the last, 409 "
    "`no_next_segment`." + _SEGMENT_NOTE,
)
async def next_segment(
    stream: ControllerHostStream,
    session: SessionDep,
    user: CurrentUser,
    body: SegmentMoveIn | None = None,
) -> SegmentNowOut:
    return await _move(session, stream, user, body, step=1)


@router.post(
    "/{stream_id}/segments/previous",
    response_model=SegmentNowOut,
    summary="Move back to the previous script segment — controller, host",
    description="At the first segment, 409 `no_previous_segment`." + _SEGMENT_NOTE,
)
async def previous_segment(
    stream: ControllerHostStream,
    session: SessionDep,
    user: CurrentUser,
    body: SegmentMoveIn | None = None,
) -> SegmentNowOut:
    return await _move(session, stream, user, body, step=-1)


@router.post(
    "/{stream_id}/segments/{segment_id}/jump",
    response_model=SegmentNowOut,
    summary="Jump to a given script segment — controller, host",
    description="A segment of another stream is 404 `segment_not_found`." + _SEGMENT_NOTE,
)
async def jump_to_segment(
    segment_id: int,
    stream: ControllerHostStream,
    session: SessionDep,
    user: CurrentUser,
    body: SegmentMoveIn | None = None,
) -> SegmentNowOut:
    return await _move(session, stream, user, body, segment_id=segment_id)
