"""The watch page's private answers: what the service team answered to my questions.

(Posting a comment from the watch page is `POST /streams/{id}/comments` in
app/routers/storefront.py, which calls `comments.intake_comments`.)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.deps import SessionDep, SettingsDep, Viewer, viewer_from_token
from app.schemas.queue import ViewerAnswerOut
from app.services import queue as queue_service

router = APIRouter(prefix="/api/v1/streams/{stream_id}", tags=["watch page"])

_viewer_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ViewerToken",
    description="Viewer token from POST /api/v1/streams/{stream_id}/viewers",
)


async def current_viewer(
    stream_id: int,
    settings: SettingsDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_viewer_bearer)],
) -> Viewer:
    return viewer_from_token(settings, creds.credentials if creds else None, stream_id)


WatchViewer = Annotated[Viewer, Depends(current_viewer)]


@router.get(
    "/my-answers",
    response_model=list[ViewerAnswerOut],
    summary="Answers to the questions I asked (viewer token)",
    description="Private answers are only readable here, by the viewers who asked.",
)
async def my_answers(stream_id: int, viewer: WatchViewer, session: SessionDep) -> object:
    return await queue_service.answers_for_viewer(session, stream_id, viewer.viewer_id)
