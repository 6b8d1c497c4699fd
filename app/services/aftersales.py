"""After-sales (售后): satisfaction surveys; shipments, returns and complaints per order."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.models import Stream, User
from app.models.aftersales import Survey, SurveyResponse
from app.schemas.review import QuestionResult, SurveyIn, SurveyResponseIn, SurveyResultsOut


def mean2(values: list[int]) -> float | None:
    """Mean rounded half-up to 2 places (computed in Decimal, so 4.125 → 4.13)."""
    if not values:
        return None
    avg = Decimal(sum(values)) / Decimal(len(values))
    return float(avg.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


# ----------------------------------------------------------------------------- surveys


async def create_survey(
    session: AsyncSession, stream: Stream, data: SurveyIn, user: User
) -> Survey:
    survey = Survey(
        stream_id=stream.id,
        title=data.title,
        questions=[q.model_dump() for q in data.questions],
        created_by=user.id,
        created_at=utcnow(),
    )
    session.add(survey)
    await session.flush()
    return survey


async def list_surveys(session: AsyncSession, stream_id: int) -> list[Survey]:
    rows = await session.scalars(
        select(Survey).where(Survey.stream_id == stream_id).order_by(Survey.id)
    )
    return list(rows)


async def get_survey(session: AsyncSession, stream_id: int, survey_id: int) -> Survey:
    survey = await session.get(Survey, survey_id)
    if survey is None or survey.stream_id != stream_id:
        raise NotFound(f"survey {survey_id} not found", code="survey_not_found")
    return survey


def _check_answers(survey: Survey, answers: list[int | str | None]) -> list[int]:
    """Validate answers against the questions; return the score answers."""
    if len(answers) != len(survey.questions):
        raise Unprocessable(
            f"expected {len(survey.questions)} answers, got {len(answers)}",
            code="answer_count",
        )
    errors = []
    scores: list[int] = []
    for i, (question, answer) in enumerate(zip(survey.questions, answers, strict=True)):
        if answer is None:
            continue
        if question["kind"] == "score":
            if not isinstance(answer, int) or not 1 <= answer <= 5:
                errors.append({"index": i, "reason": "a score answer is an integer 1–5"})
            else:
                scores.append(answer)
        elif not isinstance(answer, str) or len(answer) > 2000:
            errors.append({"index": i, "reason": "a text answer is a string of ≤ 2000"})
    if errors:
        raise Unprocessable("invalid answers", code="invalid_answers", errors=errors)
    return scores


async def add_response(
    session: AsyncSession, stream: Stream, survey_id: int, data: SurveyResponseIn
) -> SurveyResponse:
    survey = await get_survey(session, stream.id, survey_id)
    scores = _check_answers(survey, data.answers)
    response = SurveyResponse(
        survey_id=survey.id,
        viewer_id=data.viewer_id,
        order_id=data.order_id,
        answers=list(data.answers),
        score=mean2(scores),
        created_at=utcnow(),
    )
    try:
        async with session.begin_nested():
            session.add(response)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"viewer {data.viewer_id} already answered this survey", code="already_answered"
        ) from exc
    return response


async def list_responses(
    session: AsyncSession, stream_id: int, survey_id: int
) -> list[SurveyResponse]:
    await get_survey(session, stream_id, survey_id)
    rows = await session.scalars(
        select(SurveyResponse)
        .where(SurveyResponse.survey_id == survey_id)
        .order_by(SurveyResponse.id)
    )
    return list(rows)


async def survey_results(session: AsyncSession, stream_id: int, survey_id: int) -> SurveyResultsOut:
    survey = await get_survey(session, stream_id, survey_id)
    responses = await list_responses(session, stream_id, survey_id)
    results: list[QuestionResult] = []
    all_scores: list[int] = []
    for i, question in enumerate(survey.questions):
        answers = [r.answers[i] for r in responses if i < len(r.answers)]
        answered = [a for a in answers if a is not None]
        if question["kind"] == "score":
            scores = [a for a in answered if isinstance(a, int)]
            all_scores += scores
            dist = {str(s): scores.count(s) for s in range(1, 6)}
            results.append(
                QuestionResult(
                    index=i,
                    text=question["text"],
                    kind="score",
                    responses=len(scores),
                    average=mean2(scores),
                    distribution=dist,
                )
            )
        else:
            results.append(
                QuestionResult(
                    index=i,
                    text=question["text"],
                    kind="text",
                    responses=len(answered),
                    average=None,
                    distribution=None,
                )
            )
    return SurveyResultsOut(
        survey_id=survey.id,
        title=survey.title,
        responses=len(responses),
        average_score=mean2(all_scores),
        questions=results,
    )
