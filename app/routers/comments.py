"""Comments: the classifier, the comment stream, and moderation (blocked words, mute,
hide, pin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from starlette.concurrency import run_in_threadpool

from app.deps import CurrentUser, SessionDep, require_roles, stream_access
from app.errors import JSONBody
from app.models import Role, Stream, User
from app.schemas.comments import (
    ClassifyIn,
    ClassifyOut,
    CommentOut,
    CurrentPinOut,
    MuteIn,
    MuteOut,
    PinOut,
    WordOut,
    WordsIn,
)
from app.services import comments as comments_service
from app.services import pins
from app.text import classify_many

router = APIRouter(tags=["comments"])

# Below this many texts the work (≈40 µs each) is cheaper than a thread hop.
_THREAD_THRESHOLD = 200
STREAMS = "/api/v1/streams/{stream_id}"

TeamStream = Annotated[Stream, Depends(stream_access())]
Moderator = Annotated[Stream, Depends(stream_access(Role.controller, Role.service))]
WordKeeper = Annotated[Stream, Depends(stream_access(Role.controller))]
Admin = Annotated[User, Depends(require_roles())]  # no role listed: admins only


@router.post(
    "/api/v1/comments/classify",
    response_model=ClassifyOut,
    summary="Classify comments: kind, topic, sentiment, blocked (any staff role)",
    description=(
        "Runs the service queue's text engine on up to 1000 texts and answers one result "
        "per text, in order. `kind` is question, complaint, purchase, praise, chitchat or "
        "spam; `topic` product, promo, logistics, after_sales, order or none; `sentiment` "
        "positive, neutral or negative; `blocked` says the global moderation filter would "
        "hide it (contact solicitation, links, phone numbers, ads, abuse, floods, and the "
        "admins' global blocked words; a stream's own words are not applied here). "
        "More than 1000 texts or a non-string item → 422."
    ),
)
async def classify_comments(body: ClassifyIn, _: CurrentUser, session: SessionDep) -> JSONBody:
    texts = body.texts
    moderator = await comments_service.global_moderator(session)
    if len(texts) > _THREAD_THRESHOLD:
        results = await run_in_threadpool(classify_many, texts, moderator)
    else:
        results = classify_many(texts, moderator)
    return JSONBody({"results": [r.as_dict() for r in results]})


@router.get(
    STREAMS + "/comments",
    response_model=list[CommentOut],
    summary="The stream's comments, newest first (team)",
    description=(
        "Controllers and admins also get blocked and hidden comments, marked "
        "(`blocked`, `block_reason`, `hidden`); other roles only see what the host sees. "
        "`after_id` returns only newer comments (polling); `kind` filters by class."
    ),
)
async def list_comments(
    stream: TeamStream,
    session: SessionDep,
    user: CurrentUser,
    after_id: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    kind: Annotated[list[str] | None, Query()] = None,
) -> object:
    from app.deps import stream_role

    role = await stream_role(session, user, stream.id)
    return await comments_service.list_comments(
        session,
        stream.id,
        include_blocked=role in (Role.admin, Role.controller),
        after_id=after_id,
        limit=limit,
        kinds=kind,
    )


@router.post(
    STREAMS + "/comments/{comment_id}/hide",
    response_model=CommentOut,
    summary="Hide a comment from the host and the watch page (controller, service)",
)
async def hide_comment(comment_id: int, stream: Moderator, session: SessionDep) -> object:
    return await comments_service.hide_comment(session, stream.id, comment_id, True)


@router.post(
    STREAMS + "/comments/{comment_id}/unhide",
    response_model=CommentOut,
    summary="Show a hidden comment again (controller, service)",
)
async def unhide_comment(comment_id: int, stream: Moderator, session: SessionDep) -> object:
    return await comments_service.hide_comment(session, stream.id, comment_id, False)


@router.post(
    STREAMS + "/comments/{comment_id}/pin",
    response_model=PinOut,
    summary="Pin a comment on the watch page (controller, service)",
    description="Replaces the current pin. Blocked or hidden comments → 409.",
)
async def pin_comment(
    comment_id: int, stream: Moderator, session: SessionDep, user: CurrentUser
) -> object:
    return await comments_service.pin_comment(session, stream.id, comment_id, user)


@router.get(
    STREAMS + "/pin",
    response_model=CurrentPinOut,
    summary="What the watch page shows pinned (public)",
    description="The pinned comment or public answer, or null. No token needed.",
)
async def get_pin(stream_id: int, session: SessionDep) -> object:
    return {"pin": await pins.current_pin(session, stream_id)}


@router.delete(
    STREAMS + "/pin",
    status_code=204,
    summary="Take the pin down (controller, service)",
)
async def delete_pin(stream: Moderator, session: SessionDep, user: CurrentUser) -> Response:
    await pins.unpin(session, stream.id, user)
    return Response(status_code=204)


@router.post(
    STREAMS + "/mutes",
    response_model=MuteOut,
    status_code=201,
    summary="Mute a viewer for N minutes (禁言; controller, service)",
    description="Their comments are refused (watch page) or kept blocked (ingest) until then.",
)
async def mute_viewer(
    body: MuteIn, stream: Moderator, session: SessionDep, user: CurrentUser
) -> object:
    return await comments_service.mute_viewer(
        session, stream, body.viewer_id, body.minutes, body.reason, user
    )


@router.get(
    STREAMS + "/mutes",
    response_model=list[MuteOut],
    summary="Viewers muted on the stream now (禁言名单; controller, service)",
    description=(
        "One row per viewer whose mute has not ended, with the time it ends (the latest, "
        "when a viewer was muted more than once) and its reason, soonest to end first. "
        "Lifted and expired mutes are not listed."
    ),
)
async def list_mutes(stream: Moderator, session: SessionDep) -> object:
    return await comments_service.active_mutes(session, stream.id)


@router.delete(
    STREAMS + "/mutes/{viewer_id}",
    status_code=204,
    summary="Lift a viewer's mute (controller, service)",
)
async def unmute_viewer(
    viewer_id: str, stream: Moderator, session: SessionDep, user: CurrentUser
) -> Response:
    await comments_service.unmute_viewer(session, stream, viewer_id, user)
    return Response(status_code=204)


@router.get(
    STREAMS + "/blocked-words",
    response_model=list[WordOut],
    summary="Blocked words of the stream and the global ones (controller)",
)
async def list_words(stream: WordKeeper, session: SessionDep) -> object:
    return await comments_service.list_words(session, stream.id)


@router.post(
    STREAMS + "/blocked-words",
    response_model=list[WordOut],
    status_code=201,
    summary="Add blocked words to the stream (controller)",
    description=(
        "Matched from the next comment on, through disguises (full-width, separators, "
        "traditional characters). Words already on the list are skipped; the answer lists "
        "the ones added."
    ),
)
async def add_words(
    body: WordsIn, stream: WordKeeper, session: SessionDep, user: CurrentUser
) -> object:
    return await comments_service.add_words(session, stream.id, body.words, user)


@router.delete(
    STREAMS + "/blocked-words/{word_id}",
    status_code=204,
    summary="Remove a blocked word of the stream (controller)",
)
async def remove_word(word_id: int, stream: WordKeeper, session: SessionDep) -> Response:
    await comments_service.remove_word(session, stream.id, word_id)
    return Response(status_code=204)


@router.get(
    "/api/v1/blocked-words",
    response_model=list[WordOut],
    summary="Global blocked words, applied on every stream (admin)",
    description=(
        "The words an admin blocked for every stream (`stream_id` null), oldest first; "
        "each stream adds its own (GET /streams/{id}/blocked-words lists both)."
    ),
)
async def list_global_words(_: Admin, session: SessionDep) -> object:
    return await comments_service.list_global_words(session)


@router.post(
    "/api/v1/blocked-words",
    response_model=list[WordOut],
    status_code=201,
    summary="Add global blocked words, applied on every stream (admin)",
    description=(
        "Matched, together with each stream's own words, from the next comment batch on, "
        "on every instance (the list is read from the database at intake), through "
        "disguises (full-width, separators, traditional characters). Words already on the "
        "global list are skipped; the answer lists the ones added. A word without any "
        "letter or digit → 422 `word_unmatchable`."
    ),
)
async def add_global_words(body: WordsIn, user: Admin, session: SessionDep) -> object:
    return await comments_service.add_words(session, None, body.words, user)


@router.delete(
    "/api/v1/blocked-words/{word_id}",
    status_code=204,
    summary="Remove a global blocked word (admin)",
    description="404 when no global word has this id (a stream's words are removed on the stream).",
)
async def remove_global_word(word_id: int, _: Admin, session: SessionDep) -> Response:
    await comments_service.remove_word(session, None, word_id)
    return Response(status_code=204)
