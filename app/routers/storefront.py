"""The public storefront of a stream, read by the viewers' watch page (no login)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from app.deps import SessionDep, SettingsDep, UowDep, Viewer, _viewer_bearer, viewer_from_token
from app.routers._common import rate_limiter
from app.schemas.storefront import StorefrontOut, WatchCommentIn, WatchCommentOut
from app.services import storefront as storefront_service

router = APIRouter(prefix="/api/v1/streams", tags=["watch page"])


@router.get(
    "/{stream_id}/storefront",
    response_model=StorefrontOut,
    summary="What viewers see on sale: listed products with live price and stock (public)",
    description=(
        "No login: this is what the watch page shows everyone. Only products that are "
        "listed (上架), the one being explained first; `stock_left` is allotted stock minus "
        "units held by orders that are not cancelled. A draft stream is not public (404)."
    ),
    responses={404: {"description": "No such stream, or still a draft"}},
)
async def get_storefront(stream_id: int, session: SessionDep) -> object:
    return await storefront_service.storefront(session, stream_id)


async def watch_viewer(
    stream_id: int,
    settings: SettingsDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_viewer_bearer)],
) -> Viewer:
    return viewer_from_token(settings, creds.credentials if creds else None, stream_id)


@router.post(
    "/{stream_id}/comments",
    response_model=WatchCommentOut,
    status_code=202,
    summary="Send a comment from the watch page (viewer token)",
    description=(
        "Moderated and classified like ingested comments; questions and complaints reach "
        "the service queue. A blocked comment is accepted but shown only to moderators. "
        "409 `stream_not_live` when the stream is not live, 403 `muted` for a muted viewer, "
        "401 without a viewer token. Counted like an ingested `comment` event (live "
        "`comments` metric, event log, per-minute figures). A repeated `event_id` from the "
        "same viewer counts once; `event_id`s are scoped per viewer. 429 `rate_limited` "
        "(with `Retry-After`) past `COMMENTS_PER_MINUTE` comments of one viewer; 404 on a "
        "draft stream."
    ),
)
async def post_watch_comment(
    stream_id: int,
    body: WatchCommentIn,
    request: Request,
    uow: UowDep,
    settings: SettingsDep,
    viewer: Annotated[Viewer, Depends(watch_viewer)],
) -> WatchCommentOut:
    await rate_limiter(request).check(
        "comments", f"{stream_id}:{viewer.viewer_id}", settings.comments_per_minute, "comments"
    )
    accepted, duplicates = await storefront_service.post_comment(
        uow, stream_id, viewer.viewer_id, body.text, body.event_id
    )
    return WatchCommentOut(accepted=accepted, duplicates=duplicates)
