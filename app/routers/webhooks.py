"""Outbound action webhooks (issue 18): endpoints, their delivery log, and the receivers'
report of what the platform did with an action."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, Field

from app.deps import (
    CurrentUser,
    SessionDep,
    authorize_stream,
    user_from_token,
    verify_ingest_key,
)
from app.errors import Unauthorized
from app.models import DeliveryStatus, Role
from app.realtime.outbox import queue_event
from app.routers._common import ControllerStream
from app.services import webhooks as service

router = APIRouter(prefix="/api/v1/streams", tags=["connect: webhooks"])

_RECIPE = (
    "Each delivery is a JSON POST `{id, type, stream_id, ts, data}` with headers "
    "`X-LCR-Delivery` (same id on every retry: de-duplicate by it), `X-LCR-Event`, "
    "`X-LCR-Timestamp` (unix seconds) and `X-LCR-Signature: sha256=<hex HMAC-SHA256("
    'secret, timestamp + "." + raw body)>`. Refuse timestamps more than 300 s from your '
    "clock. Answer 2xx within the timeout; anything else is retried with backoff, in "
    "order, until the delivery is dead (dead letter)."
)


class WebhookIn(BaseModel):
    url: str = Field(max_length=2000, description="http(s) URL; no loopback/private address")
    events: list[str] = Field(
        min_length=1,
        max_length=50,
        description="`*`, `action.*`, `action.<name>` or event types such as product.listed",
    )
    description: str = Field(default="", max_length=200)


class DeliveryFigures(BaseModel):
    pending: int
    delivered: int
    dead: int
    avg_latency_ms: int | None = None
    last_delivered_at: datetime | None = None


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    description: str
    created_at: datetime
    deliveries: DeliveryFigures | None = None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Signs every delivery; shown this once")


class DeliveryOut(BaseModel):
    id: int
    uid: str
    webhook_id: int
    seq: int
    event_type: str
    action_id: int | None
    status: DeliveryStatus
    tries: int
    last_error: str
    last_status_code: int | None
    latency_ms: int | None
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None


class ActionResultIn(BaseModel):
    status: Literal["done", "failed"]
    message: str = Field(default="", max_length=500)


class ActionResultOut(BaseModel):
    id: int
    platform_status: str | None
    platform_message: str
    platform_result_at: datetime | None


@router.post(
    "/{stream_id}/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    summary="Register an outbound webhook (admin, controller); the secret is shown once",
    description=_RECIPE,
    responses={422: {"description": "Unknown event type, or a refused URL (SSRF guard)"}},
)
async def create_webhook(
    body: WebhookIn,
    stream: ControllerStream,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
) -> WebhookCreated:
    row = await service.create_webhook(
        session,
        stream,
        user,
        body.url,
        body.events,
        body.description,
        request.app.state.settings.webhook_allow_private,
    )
    return WebhookCreated(
        id=row.id,
        url=row.url,
        events=row.events,
        description=row.description,
        created_at=row.created_at,
        secret=row.secret,
        deliveries=DeliveryFigures(pending=0, delivered=0, dead=0),
    )


@router.get(
    "/{stream_id}/webhooks",
    response_model=list[WebhookOut],
    summary="The stream's webhooks with their delivery figures (admin, controller)",
)
async def list_webhooks(stream: ControllerStream, session: SessionDep) -> list[dict[str, Any]]:
    return await service.list_webhooks(session, stream.id)


@router.delete(
    "/{stream_id}/webhooks/{webhook_id}",
    status_code=204,
    summary="Remove a webhook and its delivery log (admin, controller)",
)
async def delete_webhook(
    webhook_id: int, stream: ControllerStream, session: SessionDep
) -> Response:
    await service.delete_webhook(session, stream.id, webhook_id)
    return Response(status_code=204)


@router.get(
    "/{stream_id}/webhook-deliveries",
    response_model=list[DeliveryOut],
    summary="The delivery log, newest first: status, tries, error, latency (admin, controller)",
)
async def list_deliveries(
    stream: ControllerStream,
    session: SessionDep,
    webhook_id: int | None = None,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    return await service.list_deliveries(session, stream.id, webhook_id, status, limit)


@router.post(
    "/{stream_id}/webhook-deliveries/{delivery_id}/retry",
    response_model=DeliveryOut,
    summary="Send a dead delivery again, same id, fresh tries (admin, controller)",
)
async def retry_delivery(delivery_id: int, stream: ControllerStream, session: SessionDep) -> Any:
    return await service.retry_delivery(session, stream.id, delivery_id)


@router.post(
    "/{stream_id}/actions/{action_id}/result",
    response_model=ActionResultOut,
    summary="Report whether the platform did a control action (receiver or controller)",
    description=(
        "The receiver of an `action.*` delivery reports back with the stream's "
        "`X-Ingest-Key` (or a controller's bearer token): `done` or `failed` with a "
        "message. The control console shows it beside the action (pending → done / "
        "failed). A later report replaces an earlier one."
    ),
    responses={401: {"description": "No valid ingest key or token"}},
)
async def action_result(
    stream_id: int,
    action_id: int,
    body: ActionResultIn,
    request: Request,
    session: SessionDep,
    x_ingest_key: Annotated[str | None, Header(description="The stream's ingest key")] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> ActionResultOut:
    if x_ingest_key:
        if not await verify_ingest_key(session, stream_id, x_ingest_key):
            raise Unauthorized("invalid or revoked ingest key", code="ingest_key_invalid")
    elif authorization and authorization.lower().startswith("bearer "):
        user = await user_from_token(session, request.app.state.settings, authorization[7:])
        await authorize_stream(session, user, stream_id, frozenset({Role.controller}))
    else:
        raise Unauthorized("send X-Ingest-Key or a bearer token", code="not_authenticated")
    action = await service.record_result(session, stream_id, action_id, body.status, body.message)
    out = ActionResultOut(
        id=action.id,
        platform_status=action.platform_status,
        platform_message=action.platform_message,
        platform_result_at=action.platform_result_at,
    )
    queue_event(
        session,
        stream_id,
        "action.result",
        out.model_dump(mode="json"),
        roles=frozenset({"admin", "controller", "host"}),
    )
    return out
