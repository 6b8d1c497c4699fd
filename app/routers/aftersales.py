"""After-sales (售后): satisfaction surveys; shipments, returns and complaints per order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.deps import CurrentUser, SessionDep, stream_access
from app.models import Role, Stream
from app.schemas.review import (
    SurveyIn,
    SurveyOut,
    SurveyResponseIn,
    SurveyResponseOut,
    SurveyResultsOut,
)
from app.services import aftersales as aftersales_service

router = APIRouter(prefix="/api/v1/streams", tags=["after-sales"])

# Customer service runs after-sales; analysts and controllers read it for the review.
AfterSalesStream = Annotated[
    Stream, Depends(stream_access(Role.service, Role.analyst, Role.controller))
]
_ROLES = " Allowed: admin, or the stream's service, analyst or controller."


@router.post(
    "/{stream_id}/surveys",
    response_model=SurveyOut,
    status_code=201,
    summary="Create a satisfaction survey (满意度调查)",
    description="Questions are `score` (answered 1–5) or `text`." + _ROLES,
)
async def create_survey(
    body: SurveyIn, stream: AfterSalesStream, session: SessionDep, user: CurrentUser
) -> object:
    return await aftersales_service.create_survey(session, stream, body, user)


@router.get(
    "/{stream_id}/surveys",
    response_model=list[SurveyOut],
    summary="The stream's surveys",
    description=_ROLES,
)
async def list_surveys(stream: AfterSalesStream, session: SessionDep) -> object:
    return await aftersales_service.list_surveys(session, stream.id)


@router.post(
    "/{stream_id}/surveys/{survey_id}/responses",
    response_model=SurveyResponseOut,
    status_code=201,
    summary="Record one respondent's answers",
    description=(
        "One answer per question (null = skipped). Wrong count or type → 422 with the bad "
        "indexes; a second response of the same viewer → 409 `already_answered`." + _ROLES
    ),
)
async def add_response(
    survey_id: int, body: SurveyResponseIn, stream: AfterSalesStream, session: SessionDep
) -> object:
    return await aftersales_service.add_response(session, stream, survey_id, body)


@router.get(
    "/{stream_id}/surveys/{survey_id}/responses",
    response_model=list[SurveyResponseOut],
    summary="The survey's responses",
    description=_ROLES,
)
async def list_responses(survey_id: int, stream: AfterSalesStream, session: SessionDep) -> object:
    return await aftersales_service.list_responses(session, stream.id, survey_id)


@router.get(
    "/{stream_id}/surveys/{survey_id}/results",
    response_model=SurveyResultsOut,
    summary="Survey results: responses, average score per question and overall",
    description="Averages are means of the 1–5 answers, rounded half-up to 2 places." + _ROLES,
)
async def survey_results(survey_id: int, stream: AfterSalesStream, session: SessionDep) -> object:
    return await aftersales_service.survey_results(session, stream.id, survey_id)
