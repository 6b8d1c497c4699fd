"""Alerts on the control console, and each stream's alert thresholds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.deps import CurrentUser, SessionDep
from app.i18n import lang_of
from app.models import AlertThresholds
from app.routers._common import ControllerHostStream, ControllerStream, TeamStream
from app.schemas.alerts import AlertOut, ThresholdsIn, ThresholdsOut
from app.services import alerts as alerts_service
from app.services.alert_views import alert_views

router = APIRouter(prefix="/api/v1/streams", tags=["alerts"])


def _thresholds_out(stream_id: int, row: AlertThresholds | None) -> ThresholdsOut:
    values = alerts_service.Thresholds.from_row(row)
    return ThresholdsOut(
        stream_id=stream_id,
        is_default=row is None,
        updated_at=row.updated_at if row else None,
        **values.__dict__,
    )


@router.get(
    "/{stream_id}/alert-thresholds",
    response_model=ThresholdsOut,
    summary="The stream's alert thresholds (defaults until set) — team",
)
async def get_thresholds(stream: TeamStream, session: SessionDep) -> ThresholdsOut:
    row = await session.get(AlertThresholds, stream.id)
    return _thresholds_out(stream.id, row)


@router.put(
    "/{stream_id}/alert-thresholds",
    response_model=ThresholdsOut,
    summary="Set the stream's alert thresholds — controller",
    description=(
        "Replaces the stream's thresholds; a field left out takes its default and 0 turns "
        "a rule off. Rules: online viewers fall by `online_drop_pct` % within "
        "`online_drop_window_seconds`; clicks on the explained product spike; stock low "
        "(≤ `stock_low_units` or ≤ `stock_low_pct` %) or sold out; negative comments spike; "
        "a question waits ≥ `question_wait_seconds` (null: the stream's service-queue SLA). "
        "Allowed: admin, or the stream's "
        "controller."
    ),
)
async def put_thresholds(
    body: ThresholdsIn, stream: ControllerStream, session: SessionDep, user: CurrentUser
) -> ThresholdsOut:
    row = await alerts_service.set_thresholds(session, stream.id, body.model_dump(), user.id)
    return _thresholds_out(stream.id, row)


@router.get(
    "/{stream_id}/alerts",
    response_model=list[AlertOut],
    summary="Alerts of the stream, newest first — team",
    description=(
        "Each alert is one episode of a condition: raised once when it starts (event "
        "`alert`), resolved when it stops (`alert.resolved`). `open=true` lists the ones "
        "still going on."
    ),
)
async def list_alerts(
    stream: TeamStream,
    session: SessionDep,
    request: Request,
    open: Annotated[bool, Query(description="only alerts whose condition still holds")] = False,
) -> object:
    rows = await alerts_service.list_alerts(session, stream.id, open_only=open)
    return await alert_views(session, rows, lang_of(request.headers.get("accept-language")))


@router.post(
    "/{stream_id}/alerts/{alert_id}/ack",
    response_model=AlertOut,
    summary="Acknowledge an alert (seen) — controller, host",
)
async def ack_alert(
    alert_id: int, stream: ControllerHostStream, session: SessionDep, user: CurrentUser
) -> object:
    return await alerts_service.ack_alert(session, stream.id, alert_id, user.id)
