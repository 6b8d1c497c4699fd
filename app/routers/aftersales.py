"""After-sales (售后): satisfaction surveys; shipments, returns and complaints per order."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.deps import CurrentUser, CurrentViewer, SessionDep, UowDep
from app.models import Complaint, ComplaintStatus
from app.routers._common import (
    AnalystControllerServiceStream,
    FormatQuery,
    attachment,
    download_responses,
)
from app.schemas.aftersales import (
    ComplaintIn,
    ComplaintOut,
    ComplaintPatch,
    ReturnIn,
    ReturnOut,
    ReturnPatch,
    ShipmentIn,
    ShipmentOut,
)
from app.schemas.review import (
    SurveyAnswerIn,
    SurveyIn,
    SurveyOut,
    SurveyResponseIn,
    SurveyResponseOut,
    SurveyResultsOut,
    ViewerSurveyOut,
)
from app.services import aftersales as aftersales_service
from app.services import exports

router = APIRouter(prefix="/api/v1/streams", tags=["after-sales"])

# Customer service runs after-sales; analysts and controllers read it for the review.
AfterSalesStream = AnalystControllerServiceStream
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
        "Customer service enters a viewer's answers (e.g. after a call); stored with "
        "`source` staff and `entered_by`. One answer per question (null = skipped). Wrong "
        "count or type → 422 with the bad indexes; an `order_id` that is not one of that "
        "viewer's orders on this stream → 422 `unknown_order`; a second response of the "
        "same viewer → 409 `already_answered`." + _ROLES
    ),
)
async def add_response(
    survey_id: int,
    body: SurveyResponseIn,
    stream: AfterSalesStream,
    session: SessionDep,
    user: CurrentUser,
) -> object:
    return await aftersales_service.add_response(
        session, stream.id, survey_id, body.viewer_id, body, entered_by=user
    )


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


# ----------------------------------------------------------------------------- watch page

_VIEWER = (
    " Viewer token of this stream (`POST /streams/{stream_id}/viewers`): a token of another "
    "stream → 403 `wrong_stream`, a staff token → 403 `viewer_only`, none → 401."
)


@router.get(
    "/{stream_id}/my-surveys",
    response_model=list[ViewerSurveyOut],
    tags=["watch page"],
    summary="The stream's satisfaction surveys, with my response if I answered (viewer)",
    description="What the watch page shows after the stream." + _VIEWER,
)
async def my_surveys(stream_id: int, viewer: CurrentViewer, session: SessionDep) -> object:
    return await aftersales_service.viewer_surveys(session, stream_id, viewer.viewer_id)


@router.post(
    "/{stream_id}/my-surveys/{survey_id}/response",
    response_model=SurveyResponseOut,
    status_code=201,
    tags=["watch page"],
    summary="Answer a satisfaction survey (viewer token; once per survey)",
    description=(
        "The respondent is the token's viewer; stored with `source` viewer. One answer per "
        "question (null = skipped): score questions 1–5, text up to 2000 characters; wrong "
        "count or type → 422 with the bad indexes. `order_id`, if given, must be one of "
        "my orders on this stream (422 `unknown_order`). A second answer → 409 "
        "`already_answered`; a survey of another stream → 404 `survey_not_found`." + _VIEWER
    ),
)
async def answer_survey(
    stream_id: int,
    survey_id: int,
    body: SurveyAnswerIn,
    viewer: CurrentViewer,
    session: SessionDep,
) -> object:
    return await aftersales_service.add_response(
        session, stream_id, survey_id, viewer.viewer_id, body
    )


# ----------------------------------------------------------------------------- shipments


@router.put(
    "/{stream_id}/orders/{order_id}/shipment",
    response_model=ShipmentOut,
    summary="Set an order's shipment: carrier and tracking number (发货)",
    description=(
        "Creates or updates the order's one shipment. Only a paid order ships (409 "
        "`order_not_paid`); an order of another stream is 404." + _ROLES
    ),
)
async def set_shipment(
    order_id: int,
    body: ShipmentIn,
    stream: AfterSalesStream,
    session: SessionDep,
    user: CurrentUser,
) -> object:
    return await aftersales_service.set_shipment(session, stream, order_id, body, user)


@router.get(
    "/{stream_id}/orders/{order_id}/shipment",
    response_model=ShipmentOut,
    summary="An order's shipment and tracking number",
    description="404 `no_shipment` before it is set." + _ROLES,
)
async def get_shipment(order_id: int, stream: AfterSalesStream, session: SessionDep) -> object:
    return await aftersales_service.get_shipment(session, stream.id, order_id)


@router.get(
    "/{stream_id}/shipments",
    response_model=list[ShipmentOut],
    summary="The stream's shipments",
    description=_ROLES,
)
async def list_shipments(stream: AfterSalesStream, session: SessionDep) -> object:
    return await aftersales_service.list_shipments(session, stream.id)


# ----------------------------------------------------------------------------- returns


@router.post(
    "/{stream_id}/orders/{order_id}/returns",
    response_model=ReturnOut,
    status_code=201,
    summary="Open a return or exchange request for an order (退换货)",
    description=(
        "Only for a paid order (409 `order_not_paid`); one open request per order (409 "
        "`request_open`)." + _ROLES
    ),
)
async def request_return(
    order_id: int,
    body: ReturnIn,
    stream: AfterSalesStream,
    session: SessionDep,
    user: CurrentUser,
) -> object:
    return await aftersales_service.request_return(session, stream, order_id, body, user)


@router.patch(
    "/{stream_id}/returns/{request_id}",
    response_model=ReturnOut,
    summary="Move a return/exchange request on (approved, rejected, received, completed)",
    description=(
        "requested → approved | rejected; approved → received | completed; received → "
        "completed. Anything else is 409 `bad_transition` with the allowed moves." + _ROLES
    ),
)
async def decide_return(
    request_id: int,
    body: ReturnPatch,
    stream: AfterSalesStream,
    uow: UowDep,
    user: CurrentUser,
) -> object:
    return await aftersales_service.decide_return(uow, stream, request_id, body, user)


@router.get(
    "/{stream_id}/returns",
    response_model=list[ReturnOut],
    summary="The stream's return and exchange requests",
    description=_ROLES,
)
async def list_returns(stream: AfterSalesStream, session: SessionDep) -> object:
    return await aftersales_service.list_returns(session, stream.id)


# ----------------------------------------------------------------------------- complaints


def _complaint_out(c: Complaint) -> ComplaintOut:
    out = ComplaintOut.model_validate(c)
    out.overdue = aftersales_service.complaint_overdue(c)
    return out


@router.post(
    "/{stream_id}/complaints",
    response_model=ComplaintOut,
    status_code=201,
    summary="Take in a complaint (quality / logistics / service) with a deadline",
    description="The deadline defaults to 48 hours from now." + _ROLES,
)
async def add_complaint(
    body: ComplaintIn, stream: AfterSalesStream, session: SessionDep, user: CurrentUser
) -> ComplaintOut:
    return _complaint_out(await aftersales_service.add_complaint(session, stream, body, user))


@router.patch(
    "/{stream_id}/complaints/{complaint_id}",
    response_model=ComplaintOut,
    summary="Work on a complaint: status, resolution (the feedback given), deadline",
    description="`resolved` needs a resolution (422)." + _ROLES,
)
async def update_complaint(
    complaint_id: int,
    body: ComplaintPatch,
    stream: AfterSalesStream,
    session: SessionDep,
    user: CurrentUser,
) -> ComplaintOut:
    c = await aftersales_service.update_complaint(session, stream, complaint_id, body, user)
    return _complaint_out(c)


@router.get(
    "/{stream_id}/complaints",
    response_model=list[ComplaintOut],
    summary="The stream's complaints, earliest deadline first, with `overdue`",
    description=_ROLES,
)
async def list_complaints(
    stream: AfterSalesStream, session: SessionDep, status: ComplaintStatus | None = None
) -> list[ComplaintOut]:
    rows = await aftersales_service.list_complaints(session, stream.id, status)
    return [_complaint_out(c) for c in rows]


# ----------------------------------------------------------------------------- export


@router.get(
    "/{stream_id}/exports/orders",
    summary="Download the order list as CSV or XLSX (with shipment and return status)",
    description="One row per order of the stream." + _ROLES,
    response_class=Response,
    responses=download_responses(),
)
async def export_orders(
    stream: AfterSalesStream,
    session: SessionDep,
    format: FormatQuery = "csv",
) -> Response:
    rows = await aftersales_service.order_rows(session, stream.id)
    columns = list(aftersales_service.ORDER_COLUMNS)
    table = [[exports.cell(v) for v in r] for r in rows]
    return attachment(format, [("Orders", columns, table)], f"orders-{stream.id}")
