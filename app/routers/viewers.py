"""The watch page: viewer sessions and viewer actions."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.deps import ClientAddress, CurrentViewer, SessionDep, SettingsDep, UowDep
from app.errors import JSONBody
from app.routers._common import rate_limiter
from app.schemas.events import IngestResult, ViewerActionIn, ViewerSessionOut
from app.services import viewers as viewers_service

router = APIRouter(prefix="/api/v1/streams", tags=["watch page"])


@router.post(
    "/{stream_id}/viewers",
    status_code=201,
    response_model=ViewerSessionOut,
    summary="Open a viewer session for the watch page (no login)",
    description=(
        "Returns a `viewer_id` and a `viewer_token` bound to this stream; the watch page "
        "sends `Authorization: Bearer <viewer_token>` with its actions, comments and orders. "
        "404 for a stream that does not exist or is still a draft; 429 `rate_limited` "
        "(with `Retry-After`) after `VIEWER_TOKENS_PER_MINUTE` from one client address."
    ),
    responses={404: {"description": "No such stream, or still a draft"}, 429: {}},
)
async def open_viewer_session(
    stream_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    address: ClientAddress,
) -> object:
    await rate_limiter(request).check(
        "viewer_tokens", address, settings.viewer_tokens_per_minute, "viewer sessions"
    )
    viewer_id, token, expires = await viewers_service.open_session(session, settings, stream_id)
    return ViewerSessionOut(viewer_id=viewer_id, viewer_token=token, expires_at=expires)


@router.post(
    "/{stream_id}/viewer-events",
    status_code=202,
    response_model=IngestResult,
    summary="Report a watch-page action (viewer token): join, leave, like, share, follow, "
    "product_click, add_to_cart",
    description=(
        "Counted in the live metrics and logged like ingested events. An optional "
        "`event_id` makes a retried call count once. 409 when the stream is not live."
    ),
)
async def viewer_event(
    stream_id: int,
    body: ViewerActionIn,
    viewer: CurrentViewer,
    request: Request,
    uow: UowDep,
) -> JSONBody:
    outcome = await viewers_service.record_action(uow, stream_id, viewer.viewer_id, body)
    return JSONBody(
        {"accepted": outcome.accepted, "duplicates": outcome.duplicates}, status_code=202
    )
