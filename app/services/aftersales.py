"""After-sales (售后): satisfaction surveys; shipments, returns and complaints per order."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.models import Order, OrderStatus, Product, Stream, User
from app.models.aftersales import (
    RETURN_TRANSITIONS,
    Complaint,
    ComplaintStatus,
    ReturnKind,
    ReturnRequest,
    ReturnStatus,
    Shipment,
    ShipmentStatus,
    Survey,
    SurveyResponse,
)
from app.schemas.aftersales import ComplaintIn, ComplaintPatch, ReturnIn, ReturnPatch, ShipmentIn
from app.schemas.common import format_money
from app.schemas.review import (
    QuestionResult,
    SurveyAnswerIn,
    SurveyIn,
    SurveyResponseOut,
    SurveyResultsOut,
    ViewerSurveyOut,
)
from app.services.stream_rows import get_in_stream, list_in_stream
from app.services.uow import UnitOfWork


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
    return await list_in_stream(session, Survey, stream_id, Survey.id)


async def get_survey(session: AsyncSession, stream_id: int, survey_id: int) -> Survey:
    return await get_in_stream(session, Survey, stream_id, survey_id, "survey")


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
            if isinstance(answer, bool) or not isinstance(answer, int) or not 1 <= answer <= 5:
                errors.append({"index": i, "reason": "a score answer is an integer 1–5"})
            else:
                scores.append(answer)
        elif not isinstance(answer, str) or len(answer) > 2000:
            errors.append({"index": i, "reason": "a text answer is a string of ≤ 2000"})
    if errors:
        raise Unprocessable("invalid answers", code="invalid_answers", errors=errors)
    return scores


async def _check_order(
    session: AsyncSession, stream_id: int, viewer_id: str, order_id: int | None
) -> None:
    if order_id is None:
        return
    order = await session.get(Order, order_id)
    if order is None or order.stream_id != stream_id or order.viewer_id != viewer_id:
        raise Unprocessable(
            f"order {order_id} is not an order of this viewer on this stream",
            code="unknown_order",
        )


async def add_response(
    session: AsyncSession,
    stream_id: int,
    survey_id: int,
    viewer_id: str,
    data: SurveyAnswerIn,
    entered_by: User | None = None,
) -> SurveyResponse:
    """Record a response: the viewer's own (`entered_by` None) or entered by staff.

    One per viewer per survey: the unique (survey_id, viewer_id) index decides, so two
    concurrent answers cannot both land (the second is a 409).
    """
    survey = await get_survey(session, stream_id, survey_id)
    scores = _check_answers(survey, data.answers)
    await _check_order(session, stream_id, viewer_id, data.order_id)
    response = SurveyResponse(
        survey_id=survey.id,
        viewer_id=viewer_id,
        order_id=data.order_id,
        answers=list(data.answers),
        score=mean2(scores),
        source="viewer" if entered_by is None else "staff",
        entered_by=entered_by.id if entered_by is not None else None,
        created_at=utcnow(),
    )
    try:
        async with session.begin_nested():
            session.add(response)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"viewer {viewer_id} already answered this survey", code="already_answered"
        ) from exc
    return response


async def viewer_surveys(
    session: AsyncSession, stream_id: int, viewer_id: str
) -> list[ViewerSurveyOut]:
    """The stream's surveys with this viewer's own response, if any."""
    surveys = await list_surveys(session, stream_id)
    mine = {
        r.survey_id: r
        for r in await session.scalars(
            select(SurveyResponse).where(
                SurveyResponse.survey_id.in_([s.id for s in surveys]),
                SurveyResponse.viewer_id == viewer_id,
            )
        )
    }
    return [
        ViewerSurveyOut(
            id=s.id,
            title=s.title,
            questions=s.questions,
            answered=s.id in mine,
            response=SurveyResponseOut.model_validate(mine[s.id]) if s.id in mine else None,
        )
        for s in surveys
    ]


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


# ----------------------------------------------------------------------------- orders

COMPLAINT_DEFAULT_HOURS = 48


async def get_order(session: AsyncSession, stream_id: int, order_id: int) -> Order:
    return await get_in_stream(session, Order, stream_id, order_id, "order")


async def set_shipment(
    session: AsyncSession, stream: Stream, order_id: int, data: ShipmentIn, user: User
) -> Shipment:
    order = await get_order(session, stream.id, order_id)
    if order.status != OrderStatus.paid:
        raise Conflict(
            f"only a paid order ships (this one is {order.status})", code="order_not_paid"
        )
    shipment = await session.scalar(select(Shipment).where(Shipment.order_id == order.id))
    now = utcnow()
    if shipment is None:
        shipment = Shipment(stream_id=stream.id, order_id=order.id, created_at=now)
        session.add(shipment)
    shipment.carrier = data.carrier
    shipment.tracking_number = data.tracking_number
    shipment.status = data.status
    shipment.updated_by = user.id
    shipment.updated_at = now
    if data.status in (ShipmentStatus.shipped, ShipmentStatus.delivered):
        shipment.shipped_at = shipment.shipped_at or now
    if data.status == ShipmentStatus.delivered:
        shipment.delivered_at = shipment.delivered_at or now
    await session.flush()
    return shipment


async def get_shipment(session: AsyncSession, stream_id: int, order_id: int) -> Shipment:
    await get_order(session, stream_id, order_id)
    shipment = await session.scalar(select(Shipment).where(Shipment.order_id == order_id))
    if shipment is None:
        raise NotFound(f"order {order_id} has no shipment yet", code="no_shipment")
    return shipment


async def list_shipments(session: AsyncSession, stream_id: int) -> list[Shipment]:
    return await list_in_stream(session, Shipment, stream_id, Shipment.order_id)


async def request_return(
    session: AsyncSession, stream: Stream, order_id: int, data: ReturnIn, user: User
) -> ReturnRequest:
    order = await get_order(session, stream.id, order_id)
    if order.status != OrderStatus.paid:
        raise Conflict(
            f"only a paid order can be returned or exchanged (this one is {order.status})",
            code="order_not_paid",
        )
    open_one = await session.scalar(
        select(ReturnRequest.id).where(
            ReturnRequest.order_id == order.id,
            ReturnRequest.status.in_(
                (ReturnStatus.requested, ReturnStatus.approved, ReturnStatus.received)
            ),
        )
    )
    if open_one is not None:
        raise Conflict(
            f"order {order.id} already has an open request ({open_one})", code="request_open"
        )
    now = utcnow()
    req = ReturnRequest(
        stream_id=stream.id,
        order_id=order.id,
        kind=data.kind,
        reason=data.reason,
        created_by=user.id,
        created_at=now,
        updated_at=now,
    )
    session.add(req)
    await session.flush()
    return req


async def decide_return(
    uow: UnitOfWork, stream: Stream, request_id: int, data: ReturnPatch, user: User
) -> ReturnRequest:
    session = uow.session
    req = await get_in_stream(
        session, ReturnRequest, stream.id, request_id, "request", for_update=True
    )
    if data.status not in RETURN_TRANSITIONS[req.status]:
        raise Conflict(
            f"a {req.status} request cannot become {data.status}",
            code="bad_transition",
            allowed=sorted(RETURN_TRANSITIONS[req.status]),
        )
    req.status = data.status
    if data.note:
        req.note = data.note
    req.decided_by = user.id
    req.updated_at = utcnow()
    await session.flush()
    if req.status == ReturnStatus.completed and req.kind == ReturnKind.return_:
        # 退货退款 done: the money goes back (order_refunded: amount, units) and the
        # units go back on sale where the item's return policy says so.
        from app.services import orders as orders_service

        order = await get_order(session, stream.id, req.order_id)
        if order.status == OrderStatus.paid:
            await orders_service.refund_order(uow, order)
    return req


async def list_returns(session: AsyncSession, stream_id: int) -> list[ReturnRequest]:
    return await list_in_stream(session, ReturnRequest, stream_id, ReturnRequest.id)


def complaint_overdue(c: Complaint, now: datetime | None = None) -> bool:
    return c.status != ComplaintStatus.resolved and c.deadline < (now or utcnow())


async def add_complaint(
    session: AsyncSession, stream: Stream, data: ComplaintIn, user: User
) -> Complaint:
    if data.order_id is not None:
        await get_order(session, stream.id, data.order_id)
    now = utcnow()
    complaint = Complaint(
        stream_id=stream.id,
        order_id=data.order_id,
        viewer_id=data.viewer_id,
        category=data.category,
        description=data.description,
        deadline=data.deadline or now + timedelta(hours=COMPLAINT_DEFAULT_HOURS),
        handled_by=user.id,
        created_at=now,
        updated_at=now,
    )
    session.add(complaint)
    await session.flush()
    return complaint


async def update_complaint(
    session: AsyncSession, stream: Stream, complaint_id: int, data: ComplaintPatch, user: User
) -> Complaint:
    c = await get_in_stream(
        session, Complaint, stream.id, complaint_id, "complaint", for_update=True
    )
    fields = data.model_fields_set
    if "resolution" in fields and data.resolution is not None:
        c.resolution = data.resolution
    if "deadline" in fields and data.deadline is not None:
        c.deadline = data.deadline
    if "status" in fields and data.status is not None:
        if data.status == ComplaintStatus.resolved and not c.resolution.strip():
            raise Unprocessable(
                "a resolved complaint needs a resolution", code="resolution_required"
            )
        c.resolved_at = utcnow() if data.status == ComplaintStatus.resolved else None
        c.status = data.status
    c.handled_by = user.id
    c.updated_at = utcnow()
    await session.flush()
    return c


async def list_complaints(
    session: AsyncSession, stream_id: int, status: ComplaintStatus | None = None
) -> list[Complaint]:
    query = select(Complaint).where(Complaint.stream_id == stream_id)
    if status is not None:
        query = query.where(Complaint.status == status)
    rows = await session.scalars(query.order_by(Complaint.deadline, Complaint.id))
    return list(rows)


ORDER_COLUMNS = (
    "order_id",
    "created_at",
    "paid_at",
    "status",
    "viewer_id",
    "product_id",
    "sku",
    "product_name",
    "quantity",
    "unit_price",
    "discount",
    "amount",
    "carrier",
    "tracking_number",
    "shipment_status",
    "return_status",
    "source",
    "external_order_id",
    "channel",
    "list_price",
    "live_price",
    "discounts",
    "gift",
)


async def order_rows(session: AsyncSession, stream_id: int) -> list[list[Any]]:
    """The order list with product, shipment and latest return status."""
    latest_return = (
        select(ReturnRequest.order_id, func.max(ReturnRequest.id).label("rid"))
        .where(ReturnRequest.stream_id == stream_id)
        .group_by(ReturnRequest.order_id)
        .subquery()
    )
    rows = await session.execute(
        select(Order, Product.sku, Product.name, Shipment, ReturnRequest.status)
        .join(Product, Product.id == Order.product_id)
        .outerjoin(Shipment, Shipment.order_id == Order.id)
        .outerjoin(latest_return, latest_return.c.order_id == Order.id)
        .outerjoin(ReturnRequest, ReturnRequest.id == latest_return.c.rid)
        .where(Order.stream_id == stream_id)
        .order_by(Order.id)
    )
    out: list[list[Any]] = []
    for order, sku, name, shipment, return_status in rows:
        out.append(
            [
                order.id,
                order.created_at,
                order.paid_at,
                str(order.status),
                order.viewer_id,
                order.product_id,
                sku,
                name,
                order.quantity,
                format_money(order.unit_price),
                format_money(order.discount),
                format_money(order.amount),
                shipment.carrier if shipment else "",
                shipment.tracking_number if shipment else "",
                str(shipment.status) if shipment else "",
                str(return_status) if return_status else "",
                order.source,
                order.external_id or "",
                order.channel or "",
                format_money(order.list_price) if order.list_price is not None else "",
                format_money(order.live_price) if order.live_price is not None else "",
                "; ".join(f"{d['label']} -{d['amount']}" for d in order.discounts or []),
                order.gift or "",
            ]
        )
    return out


async def review_section(session: AsyncSession, stream_id: int) -> dict[str, Any]:
    """After-sales beside the sales figures in the review (issue #13): returns and
    exchanges by status, refunds from completed returns, complaints by status (and
    overdue), and each survey's responses and average score."""
    returns = await list_returns(session, stream_id)
    by_status: dict[str, int] = {}
    for r in returns:
        key = f"{r.kind}:{r.status}"
        by_status[key] = by_status.get(key, 0) + 1
    refunded_ids = [
        r.order_id
        for r in returns
        if r.kind == ReturnKind.return_ and r.status == ReturnStatus.completed
    ]
    refunded = Decimal("0.00")
    units = 0
    if refunded_ids:
        rows = await session.execute(
            select(Order.amount, Order.quantity).where(
                Order.id.in_(refunded_ids), Order.status == OrderStatus.refunded
            )
        )
        for amount, quantity in rows:
            refunded += amount
            units += quantity
    complaints = await list_complaints(session, stream_id, None)
    now = utcnow()
    surveys = []
    for survey in await list_surveys(session, stream_id):
        res = await survey_results(session, stream_id, survey.id)
        surveys.append(
            {
                "survey_id": survey.id,
                "title": survey.title,
                "responses": res.responses,
                "average_score": res.average_score,
            }
        )
    return {
        "returns": sum(1 for r in returns if r.kind == ReturnKind.return_),
        "exchanges": sum(1 for r in returns if r.kind == ReturnKind.exchange),
        "returns_completed": len(refunded_ids),
        "returned_units": units,
        "returned_amount": format_money(refunded),
        "returns_by_status": dict(sorted(by_status.items())),
        "complaints": len(complaints),
        "complaints_open": sum(1 for c in complaints if c.status != ComplaintStatus.resolved),
        "complaints_overdue": sum(1 for c in complaints if complaint_overdue(c, now)),
        "surveys": surveys,
    }
