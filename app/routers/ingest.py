"""Ingest (platform connectors), ingest keys, and the live metrics over REST."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Request

from app.bounds import INT_MAX
from app.deps import CurrentUser, SessionDep, UowDep, forget_ingest_keys, stream_access
from app.errors import JSONBody, Unprocessable
from app.models import Role, Stream
from app.realtime.outbox import after_commit
from app.schemas.events import (
    EVENT_TYPES,
    MAX_BATCH,
    MAX_QUANTITY,
    SOURCES,
    BatchError,
    IngestKeyCreate,
    IngestKeyCreated,
    IngestKeyOut,
    IngestResult,
    MetricsOut,
    MinuteMetrics,
    parse_batch,
)
from app.services import event_batches
from app.services import ingest as ingest_service
from app.services import metrics as metrics_service

router = APIRouter(prefix="/api/v1/streams", tags=["live data"])

KeyManager = Annotated[Stream, Depends(stream_access(Role.controller))]
TeamStream = Annotated[Stream, Depends(stream_access())]

_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "user_id"],
    "properties": {
        "type": {"type": "string", "enum": sorted(EVENT_TYPES)},
        "user_id": {"type": "string", "maxLength": 128},
        "event_id": {"type": "string", "maxLength": 128, "description": "De-duplication key"},
        "ts": {"type": "string", "format": "date-time", "description": "Default: now"},
        "product_id": {
            "type": "integer",
            "minimum": 1,
            "maximum": INT_MAX,
            "description": "Required for clicks and carts",
        },
        "text": {"type": "string", "description": "Required for comments"},
        "quantity": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_QUANTITY,
            "description": "Units; default 1",
        },
        "amount": {
            "type": "string",
            "example": "59.90",
            "description": "Money; required for order_paid and order_refunded",
        },
        "source": {"type": "string", "enum": sorted(SOURCES), "description": "viewer_join only"},
        "order_id": {
            "type": "string",
            "maxLength": 128,
            "description": "The platform's order id (order events): the sale is an order "
            "in the order book, idempotent on (stream, source, order_id). An order event "
            "without it is counted in the funnel figures but is no order and holds no stock",
        },
    },
}
_BATCH_SCHEMA = {
    "type": "object",
    "required": ["events"],
    "properties": {
        "events": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": _EVENT_SCHEMA}
    },
}


@router.post(
    "/{stream_id}/events",
    status_code=202,
    response_model=IngestResult,
    summary="Ingest a batch of viewer events (platform connectors, X-Ingest-Key)",
    description=(
        "1 to 1000 events. The whole batch is validated first: any bad event → 422 "
        'listing `{"index", "reason"}` for each, and nothing is applied. An `event_id` '
        "seen before (in this batch, an earlier one, on any instance) counts once and is "
        "reported in `duplicates`. 202 is answered only once the events are durable and "
        "counted in the live metrics; comments then reach moderation and the service "
        "queue, and the events the review's rollups, as the log is folded (before the "
        "202 when no other batch of the stream is being folded, else within a second). "
        "401 for a missing/wrong/revoked key, 409 when the stream is not live. An "
        "`order_paid` whose `event_id` is `order:<id>:paid` for an order of this stream "
        "(as placed through `POST /orders`) marks that order paid, like the pay step; its "
        "user_id, product_id, quantity and amount must match the order (else 422). Any "
        "other `order_paid` is counted as an external payment. Order events that carry "
        "`order_id` (the platform's order id, ≤ 128 characters) are a connector's sales: "
        "each is an order in the stream's order book (source `connector`), idempotent on "
        "(stream, source, order_id); `order_created` takes its units of the allotment "
        "like any order (what is left, if fewer), `order_paid` pays it, "
        "`order_cancelled` / `order_refunded` give its units back. A repeat is a "
        "duplicate; a contradiction (another buyer, product, quantity or amount; a "
        "refund of an order never reported) → 422. Order events without `order_id` "
        "(other than an `order:<id>:paid` payment) name no order: they are counted in the "
        "funnel figures (orders, paid orders, GMV) but are not in the order book and hold "
        "no stock."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BATCH_SCHEMA}},
        }
    },
    responses={
        401: {"description": "Missing or invalid ingest key"},
        409: {"description": "Stream not live"},
        422: {"description": "Invalid batch: each bad index and reason"},
    },
)
async def ingest_events(
    stream_id: int,
    request: Request,
    uow: UowDep,
    x_ingest_key: Annotated[str | None, Header(description="The stream's ingest key")] = None,
) -> JSONBody:
    await ingest_service.stream_for_key(uow.session, stream_id, x_ingest_key)
    try:
        events = parse_batch(orjson.loads(await request.body()))
    except orjson.JSONDecodeError as exc:
        raise Unprocessable(
            [{"index": -1, "reason": f"body is not valid JSON: {exc}"}], code="invalid_batch"
        ) from exc
    except BatchError as exc:
        raise Unprocessable(exc.errors, code="invalid_batch") from exc
    outcome = await event_batches.accept_batch(uow, stream_id, events)
    return JSONBody(
        {"accepted": outcome.accepted, "duplicates": outcome.duplicates}, status_code=202
    )


@router.post(
    "/{stream_id}/ingest-keys",
    status_code=201,
    response_model=IngestKeyCreated,
    summary="Create an ingest key for the stream (admin, controller); the key is shown once",
)
async def create_ingest_key(
    stream: KeyManager, user: CurrentUser, session: SessionDep, body: IngestKeyCreate | None = None
) -> object:
    row, key = await ingest_service.create_key(session, stream, user, body.label if body else "")
    return IngestKeyCreated(id=row.id, key=key, prefix=row.prefix)


@router.get(
    "/{stream_id}/ingest-keys",
    response_model=list[IngestKeyOut],
    summary="The stream's ingest keys, without the keys themselves (admin, controller)",
)
async def list_ingest_keys(stream: KeyManager, session: SessionDep) -> object:
    return await ingest_service.list_keys(session, stream.id)


@router.delete(
    "/{stream_id}/ingest-keys/{key_id}",
    response_model=IngestKeyOut,
    summary="Revoke an ingest key (admin, controller); later batches with it get 401",
)
async def revoke_ingest_key(
    key_id: int, stream: KeyManager, session: SessionDep, request: Request
) -> object:
    row = await ingest_service.revoke_key(session, stream.id, key_id)
    stream_id, app = stream.id, request.app

    async def _forget() -> None:  # this instance stops believing its verified keys now
        forget_ingest_keys(app, stream_id)

    after_commit(session, _forget)
    return row


@router.get(
    "/{stream_id}/metrics",
    response_model=MetricsOut,
    summary="Live metrics: the same object the websocket pushes (any team member)",
)
async def get_metrics(stream: TeamStream, request: Request, session: SessionDep) -> JSONBody:
    metrics = await metrics_service.stream_metrics(request.app.state.live, session, stream.id)
    return JSONBody(metrics)


@router.get(
    "/{stream_id}/metrics/minutes",
    response_model=list[MinuteMetrics],
    summary="Live per-minute series for the charts (by event time; any team member)",
)
async def get_minute_metrics(stream: TeamStream, request: Request) -> JSONBody:
    return JSONBody(await metrics_service.minute_series(request.app.state.live, stream.id))
