"""Corrections of comment labels (the team teaches the classifier) and the claims
checker with a team's own terms (issue #14)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import PlainTextResponse

from app.deps import ALL_STAFF, CurrentUser, SessionDep, authorize_stream, require_roles
from app.errors import JSONBody
from app.i18n import lang_of
from app.models import Role, Stream, User
from app.schemas.text_learning import (
    CheckIn,
    CheckOut,
    CorrectionIn,
    CorrectionOut,
    TermOut,
    TermsIn,
)
from app.services import text_learning
from app.text.compliance import check_texts

router = APIRouter(tags=["text"])
STREAMS = "/api/v1/streams/{stream_id}"


async def _corrector(stream_id: int, session: SessionDep, user: CurrentUser) -> Stream:
    return await authorize_stream(
        session, user, stream_id, frozenset({Role.service, Role.controller})
    )


async def _team(stream_id: int, session: SessionDep, user: CurrentUser) -> Stream:
    return await authorize_stream(session, user, stream_id)


async def _writer(stream_id: int, session: SessionDep, user: CurrentUser) -> Stream:
    return await authorize_stream(session, user, stream_id, frozenset({Role.controller, Role.host}))


Corrector = Annotated[Stream, Depends(_corrector)]
TeamStream = Annotated[Stream, Depends(_team)]
TermWriter = Annotated[Stream, Depends(_writer)]
Staff = Annotated[User, Depends(require_roles(*ALL_STAFF))]


@router.post(
    STREAMS + "/comments/{comment_id}/correction",
    response_model=CorrectionOut,
    status_code=201,
    summary="Correct a comment's labels or block/unblock it (service, controller, admin)",
    description=(
        "Any of `kind`, `topic`, `sentiment`, `blocked`. The comment takes the new labels "
        "(a question or complaint it becomes joins the service queue); the correction is "
        "stored with who and when, and from the next comment on the stream's classification "
        "gives a comment with the same normalised text the corrected labels (other streams "
        "are not affected). Changing the kind to chitchat or spam sets the topic to none; "
        "to question or complaint without a topic, product. An empty body → 422 "
        "`nothing_to_correct`; labels equal to the current ones → 409 `nothing_changed`; "
        "a question/complaint with topic none → 422 `topic_required`."
    ),
)
async def correct_comment(
    comment_id: int, body: CorrectionIn, stream: Corrector, session: SessionDep, user: CurrentUser
) -> JSONBody:
    correction = await text_learning.correct(
        session,
        stream.id,
        comment_id,
        text_learning.CorrectionIn(body.kind, body.topic, body.sentiment, body.blocked),
        user,
    )
    return JSONBody(text_learning.correction_payload(correction), status_code=201)


@router.get(
    STREAMS + "/comment-corrections",
    response_model=list[CorrectionOut],
    summary="The stream's corrections, oldest first (team)",
)
async def list_corrections(stream: TeamStream, session: SessionDep) -> JSONBody:
    rows = await text_learning.list_corrections(session, stream.id)
    return JSONBody([text_learning.correction_payload(c) for c in rows])


@router.get(
    STREAMS + "/comment-corrections/export",
    summary="The stream's corrections as training data (team)",
    description=(
        "One row per corrected text (its newest correction): `text, kind, topic, sentiment, "
        "blocked` — the format of the labelled comments the classifier is trained on — "
        "plus `corrected_by` and `corrected_at`. `format=jsonl` (default) or `csv`."
    ),
    responses={
        200: {"content": {"application/x-ndjson": {}, "text/csv": {}}},
    },
)
async def export_corrections(
    stream: TeamStream,
    session: SessionDep,
    format: Annotated[str, Query(pattern="^(jsonl|csv)$")] = "jsonl",
) -> Response:
    rows = text_learning.export_rows(await text_learning.list_corrections(session, stream.id))
    name = f"stream-{stream.id}-corrections.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        return PlainTextResponse(text_learning.to_csv(rows), media_type="text/csv", headers=headers)
    body = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    return Response(body, media_type="application/x-ndjson", headers=headers)


@router.post(
    "/api/v1/compliance/check",
    response_model=CheckOut,
    summary="Check script and product copy for claims that must not be said (staff)",
    description=(
        "Per text, its findings: `phrase` (as written, with `start`/`end` offsets for "
        "underlining), `category` (absolute: 广告法 第九条 最高级/国家级 terms; medical: "
        "disease and treatment claims for non-medical products; efficacy: cosmetics and "
        "diet efficacy that needs a registration, or guarantees; price: unsupported price "
        "claims and comparisons; platform: off-site contact, paid reviews; team: the "
        "stream team's own terms), `severity` (block: must not be said; warn: only with "
        "proof), the `rule` it breaks and a `suggestion` — worded in the Accept-Language "
        "(zh-CN default, or English), and by code in `rule_code` / `suggestion_code`. "
        "Ordinary words in harmless use "
        "(最近, 第一次, 最后一件, 最好先…) are not flagged. With `stream_id`, that team's "
        "terms are checked too (you must be on its team). Up to 500 texts."
    ),
)
async def check(body: CheckIn, user: Staff, session: SessionDep, request: Request) -> JSONBody:
    checker = None
    if body.stream_id is not None:
        await authorize_stream(session, user, body.stream_id)
        checker = await text_learning.stream_checker(session, body.stream_id)
    results = check_texts(body.texts, checker, lang_of(request.headers.get("accept-language")))
    return JSONBody({"results": [{"findings": [f.as_dict() for f in r]} for r in results]})


@router.get(
    STREAMS + "/compliance-terms",
    response_model=list[TermOut],
    summary="The team's own compliance terms (team)",
)
async def list_terms(stream: TeamStream, session: SessionDep) -> object:
    return await text_learning.terms(session, stream.id)


@router.post(
    STREAMS + "/compliance-terms",
    response_model=list[TermOut],
    status_code=201,
    summary="Add terms the team does not want said (controller, host, admin)",
    description=(
        "Checked from now on in readiness and in /compliance/check with this stream, "
        "through disguises (full-width, traditional characters, spaces). Phrases already "
        "there are skipped; the answer lists the ones added. A phrase without any letter "
        "or digit → 422 `term_unmatchable`."
    ),
)
async def add_terms(
    body: TermsIn, stream: TermWriter, session: SessionDep, user: CurrentUser
) -> object:
    added = await text_learning.add_terms(
        session, stream.id, body.phrases, body.severity, body.suggestion, user
    )
    return added


@router.delete(
    STREAMS + "/compliance-terms/{term_id}",
    status_code=204,
    summary="Remove one of the team's compliance terms (controller, host, admin)",
)
async def remove_term(term_id: int, stream: TermWriter, session: SessionDep) -> Response:
    await text_learning.remove_term(session, stream.id, term_id)
    return Response(status_code=204)
