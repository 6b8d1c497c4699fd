"""The service queue: merged questions and complaints, quick replies, FAQ, host cues."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import CurrentUser, SessionDep, UowDep
from app.models import ItemStatus, OrderRequest, QueueItem, Stream, User
from app.routers._common import ControllerServiceStream, ControllerStream
from app.schemas.orders import OrderRequestOut
from app.schemas.queue import (
    AnswerIn,
    BoardOut,
    CueOut,
    DecisionIn,
    FaqIn,
    FaqOut,
    QueueItemDetail,
    QueueItemOut,
    QueueSettingsIn,
    QueueSettingsOut,
    ReplyIn,
    ReplyOut,
)
from app.services import order_requests
from app.services import queue as queue_service
from app.services.uow import UnitOfWork

router = APIRouter(prefix="/api/v1/streams/{stream_id}", tags=["service queue"])

Agent = ControllerServiceStream
Lead = ControllerStream

_CONFLICT = "409 with `status` and `claimed_by` when the item changed under you."

# claim, release, dismiss, reopen: (session, stream_id, item_id, user) -> the item
ItemMove = Callable[[AsyncSession, int, int, User], Awaitable[QueueItem]]
# approve, reject: (unit of work, stream_id, request_id, user, note) -> the request
RequestDecision = Callable[[UnitOfWork, int, int, User, str], Awaitable[OrderRequest]]


async def _moved(
    move: ItemMove, session: AsyncSession, stream: Stream, item_id: int, user: User
) -> dict[str, Any]:
    """Move one item on and return it as the queue shows it."""
    return queue_service.item_payload(await move(session, stream.id, item_id, user))


async def _decided(
    decide: RequestDecision,
    uow: UnitOfWork,
    stream: Stream,
    request_id: int,
    user: User,
    body: DecisionIn | None,
) -> OrderRequestOut:
    """Decide an order request (the note is optional) and return it."""
    req = await decide(uow, stream.id, request_id, user, body.note if body else "")
    return OrderRequestOut.model_validate(req)


@router.get(
    "/queue",
    response_model=list[QueueItemOut],
    summary="The queue, ranked (service, controller)",
    description=(
        "Merged questions and complaints, highest `score` first (askers, waiting time, "
        "negativity; overdue items jump up). Default: open and claimed items."
    ),
)
async def list_queue(
    stream: Agent,
    session: SessionDep,
    status: Annotated[list[ItemStatus] | None, Query()] = None,
) -> object:
    return await queue_service.list_items(session, stream.id, status)


@router.get(
    "/queue-settings",
    response_model=QueueSettingsOut,
    summary="The stream's service-queue settings: SLA and host-cue threshold (service, controller)",
    description=(
        "Defaults (120 s, 10 askers) until set. The SLA drives each item's SLA clock "
        "(`sla_due_at`, `overdue`), the ranking's boost for overdue items, the order "
        "requests' `overdue` and the `question_wait` alert unless the alert thresholds set "
        "their own; the cue threshold is when an item cues the host by itself."
    ),
)
async def get_queue_settings(stream: Agent, session: SessionDep) -> object:
    return await queue_service.settings_view(session, stream.id)


@router.put(
    "/queue-settings",
    response_model=QueueSettingsOut,
    summary="Set the stream's SLA and/or host-cue threshold (controller, admin)",
    description=(
        "A field left out keeps its value; an empty body → 422. A new SLA moves the SLA "
        "clock of the items still waiting by the difference and applies to new items at "
        "once; consoles get a `queue.settings` event. Service agents may read but not "
        "change them."
    ),
)
async def put_queue_settings(
    body: QueueSettingsIn, stream: Lead, session: SessionDep, user: CurrentUser
) -> object:
    row = await queue_service.set_settings(
        session,
        stream.id,
        user,
        sla_seconds=body.sla_seconds,
        cue_threshold=body.cue_threshold,
    )
    return queue_service.settings_payload(stream.id, row)


@router.get(
    "/queue/board",
    response_model=BoardOut,
    summary="The service console's board: ranked items and pending order requests",
    description=(
        "`items` as in GET /queue; `order_requests` are viewers' cancellation and "
        "address-change requests waiting for a decision, oldest first, as their own item "
        "type. Decide them with POST /queue/order-requests/{id}/approve or /reject."
    ),
)
async def board(stream: Agent, session: SessionDep) -> object:
    return {
        "items": await queue_service.list_items(session, stream.id),
        "order_requests": await queue_service.order_request_items(session, stream.id),
    }


@router.post(
    "/queue/order-requests/{request_id}/approve",
    response_model=OrderRequestOut,
    summary="Approve an order request from the queue (cancel/refund with stock back, or "
    "change the address)",
    description="Done by the orders service, in this request's transaction. 409 when "
    "already decided or the order can no longer change.",
)
async def approve_order_request(
    request_id: int,
    stream: Agent,
    uow: UowDep,
    user: CurrentUser,
    body: DecisionIn | None = None,
) -> object:
    return await _decided(order_requests.approve_request, uow, stream, request_id, user, body)


@router.post(
    "/queue/order-requests/{request_id}/reject",
    response_model=OrderRequestOut,
    summary="Reject an order request from the queue (the order stays as it is)",
)
async def reject_order_request(
    request_id: int,
    stream: Agent,
    uow: UowDep,
    user: CurrentUser,
    body: DecisionIn | None = None,
) -> object:
    return await _decided(order_requests.reject_request, uow, stream, request_id, user, body)


@router.get(
    "/queue/{item_id}",
    response_model=QueueItemDetail,
    summary="One item with its askers, FAQ suggestions and quick replies (service, controller)",
)
async def get_queue_item(item_id: int, stream: Agent, session: SessionDep) -> object:
    item = await queue_service.get_item(session, stream.id, item_id)
    return {
        **queue_service.item_payload(item),
        "askers": await queue_service.askers(session, item.id),
        "suggestions": await queue_service.suggestions(session, item),
        "quick_replies": await queue_service.list_replies(session, stream.id, item.product_id),
    }


@router.post(
    "/queue/{item_id}/claim",
    response_model=QueueItemOut,
    summary="Claim an open item (one agent at a time)",
    description="A conditional UPDATE: of two agents clicking at once, one wins. " + _CONFLICT,
)
async def claim_item(item_id: int, stream: Agent, session: SessionDep, user: CurrentUser) -> object:
    return await _moved(queue_service.claim, session, stream, item_id, user)


@router.post(
    "/queue/{item_id}/release",
    response_model=QueueItemOut,
    summary="Give a claimed item back to the queue",
    description=_CONFLICT,
)
async def release_item(
    item_id: int, stream: Agent, session: SessionDep, user: CurrentUser
) -> object:
    return await _moved(queue_service.release, session, stream, item_id, user)


@router.post(
    "/queue/{item_id}/answer",
    response_model=QueueItemOut,
    summary="Answer an item: privately to its askers, or publicly (pinned on the watch page)",
    description=(
        "Records who answered and when. An agent answers items they hold or nobody holds; "
        "a controller may answer any. " + _CONFLICT
    ),
)
async def answer_item(
    item_id: int, body: AnswerIn, stream: Agent, session: SessionDep, user: CurrentUser
) -> object:
    item = await queue_service.answer(session, stream, item_id, user, body.text, body.public)
    return queue_service.item_payload(item)


@router.post(
    "/queue/{item_id}/dismiss",
    response_model=QueueItemOut,
    summary="Dismiss an item (nothing to answer)",
    description=_CONFLICT,
)
async def dismiss_item(
    item_id: int, stream: Agent, session: SessionDep, user: CurrentUser
) -> object:
    return await _moved(queue_service.dismiss, session, stream, item_id, user)


@router.post(
    "/queue/{item_id}/reopen",
    response_model=QueueItemOut,
    summary="Reopen an answered or dismissed item",
    description="Back to open, unclaimed, with a fresh SLA clock. " + _CONFLICT,
)
async def reopen_item(
    item_id: int, stream: Agent, session: SessionDep, user: CurrentUser
) -> object:
    return await _moved(queue_service.reopen, session, stream, item_id, user)


@router.post(
    "/queue/{item_id}/cue",
    response_model=CueOut,
    status_code=201,
    summary="Cue the host: 「N 位观众在问：…」 (one click)",
    description="Sent to the teleprompter as a `cue` event. 409 when the stream is not live.",
)
async def cue_host(item_id: int, stream: Agent, session: SessionDep, user: CurrentUser) -> object:
    return await queue_service.cue_host(session, stream, item_id, user)


@router.get(
    "/quick-replies",
    response_model=list[ReplyOut],
    summary="Quick replies of the stream (and of a product), rendered (service, controller)",
    description="{product}, {price} and {stock} are filled from the stream's lineup.",
)
async def list_replies(
    stream: Agent,
    session: SessionDep,
    product_id: Annotated[int | None, Query()] = None,
) -> object:
    return await queue_service.list_replies(session, stream.id, product_id)


@router.post(
    "/quick-replies",
    response_model=ReplyOut,
    status_code=201,
    summary="Add a quick reply for the stream or one product (service, controller)",
)
async def create_reply(
    body: ReplyIn, stream: Agent, session: SessionDep, user: CurrentUser
) -> object:
    reply = await queue_service.create_reply(
        session, stream.id, user, title=body.title, body=body.body, product_id=body.product_id
    )
    rendered = await queue_service.list_replies(session, stream.id, reply.product_id)
    return next(r for r in rendered if r["id"] == reply.id)


@router.delete("/quick-replies/{reply_id}", status_code=204, summary="Delete a quick reply")
async def delete_reply(reply_id: int, stream: Agent, session: SessionDep) -> Response:
    await queue_service.delete_reply(session, stream.id, reply_id)
    return Response(status_code=204)


@router.get("/faq", response_model=list[FaqOut], summary="The stream's FAQ (service, controller)")
async def list_faq(stream: Agent, session: SessionDep) -> object:
    return await queue_service.list_faq(session, stream.id)


@router.post(
    "/faq",
    response_model=FaqOut,
    status_code=201,
    summary="Add an FAQ entry (its answer is suggested for similar questions)",
)
async def create_faq(body: FaqIn, stream: Agent, session: SessionDep, user: CurrentUser) -> object:
    return await queue_service.create_faq(
        session,
        stream.id,
        user,
        question=body.question,
        answer_text=body.answer,
        product_id=body.product_id,
        keywords_=body.keywords,
    )


@router.delete("/faq/{faq_id}", status_code=204, summary="Delete an FAQ entry")
async def delete_faq(faq_id: int, stream: Agent, session: SessionDep) -> Response:
    await queue_service.delete_faq(session, stream.id, faq_id)
    return Response(status_code=204)
