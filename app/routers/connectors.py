"""Inbound connectors (issue 18): platform webhooks mapped to our events, their status
and the payloads kept for inspection."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from app.deps import CurrentUser, SessionDep, UowDep
from app.errors import JSONBody
from app.models import PayloadOutcome
from app.routers._common import ControllerHostStream, ControllerStream
from app.services.connectors import service
from app.services.connectors.mapping import required_params

router = APIRouter(prefix="/api/v1", tags=["connect: connectors"])


class ConnectorIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="e.g. 抖店主店")
    mapping: str = Field(description="A shipped mapping's name (GET /connector-mappings)")
    secret: str = Field(
        default="",
        max_length=200,
        description="The platform's signing secret (app secret); empty: a random one",
    )
    params: dict[str, str] = Field(
        default_factory=dict, description="Values the signature recipe names ({param.X})"
    )


class ConnectorCreated(BaseModel):
    id: int
    name: str
    mapping: str
    inbound_path: str = Field(description="Give the platform this URL (on your host)")
    ingest_key_id: int
    ingest_key_prefix: str


class ConnectorStatus(BaseModel):
    id: int
    name: str
    mapping: str
    mapping_version: int | None
    inbound_path: str
    ingest_key_prefix: str | None
    ingest_key_revoked: bool
    last_received_at: datetime | None
    last_event_at: datetime | None
    lag_ms: int | None = Field(
        description="Receipt time minus the latest event's own time, last batch (ms); "
        "corrected by clock_skew_ms when the platform's clock is ahead of ours"
    )
    clock_skew_ms: int | None = Field(
        description="The platform's clock is ahead of ours by at least this much (ms): its "
        "events came stamped later than we received them (more than 2 s), seen in the "
        "last 15 min; null when not seen"
    )
    received_15m: int
    errors_15m: int
    error_rate: float = Field(description="Payloads not turned into events ÷ received, 15 min")
    last_error: str
    state: str = Field(
        description="ok | waiting | stale (nothing for 60 s while live) | "
        "failing (≥ 50 % errors) | key_revoked"
    )


class MappingOut(BaseModel):
    name: str
    version: int
    platform: str
    docs: list[str]
    signature_header: str | None
    params: list[str] = Field(
        description="Connector params the mapping needs (signed with the body), e.g. app_key"
    )


class PayloadOut(BaseModel):
    id: int
    received_at: datetime
    outcome: PayloadOutcome
    events: int
    reason: str
    headers: dict[str, str]
    body: str | None


@router.get(
    "/connector-mappings",
    response_model=list[MappingOut],
    summary="The shipped platform mappings (any signed-in user)",
)
async def list_mappings(_user: CurrentUser) -> list[MappingOut]:
    return [
        MappingOut(
            name=m.name,
            version=m.version,
            platform=m.platform,
            docs=m.docs,
            signature_header=m.signature.header if m.signature else None,
            params=required_params(m),
        )
        for m in service.mappings().values()
    ]


@router.post(
    "/streams/{stream_id}/connectors",
    status_code=201,
    response_model=ConnectorCreated,
    summary="Connect a platform feed to the stream (admin, controller)",
    description="Makes an ingest key of its own (label `connector:<name>`): revoking it "
    "stops the connector.",
    responses={422: {"description": "Unknown mapping, or a param it needs is missing"}},
)
async def create_connector(
    body: ConnectorIn, stream: ControllerStream, user: CurrentUser, session: SessionDep
) -> ConnectorCreated:
    row, key = await service.create_connector(
        session, stream, user, body.name, body.mapping, body.secret, body.params
    )
    return ConnectorCreated(
        id=row.id,
        name=row.name,
        mapping=row.mapping,
        inbound_path=service.inbound_path(row),
        ingest_key_id=key.id,
        ingest_key_prefix=key.prefix,
    )


@router.get(
    "/streams/{stream_id}/connectors",
    response_model=list[ConnectorStatus],
    summary="Each connector's status: last event, lag, error rate, ingest key "
    "(admin, controller, host)",
)
async def connector_status(stream: ControllerHostStream, session: SessionDep) -> Any:
    return await service.status(session, stream.id)


@router.delete(
    "/streams/{stream_id}/connectors/{connector_id}",
    status_code=204,
    summary="Remove a connector and revoke its ingest key (admin, controller)",
)
async def delete_connector(
    connector_id: int, stream: ControllerStream, session: SessionDep
) -> Response:
    await service.delete_connector(session, stream.id, connector_id)
    return Response(status_code=204)


@router.get(
    "/streams/{stream_id}/connectors/{connector_id}/payloads",
    response_model=list[PayloadOut],
    summary="What the connector received, newest first; bodies of the payloads that did "
    "not become events are kept (admin, controller)",
)
async def list_payloads(
    connector_id: int,
    stream: ControllerStream,
    session: SessionDep,
    outcome: PayloadOutcome | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    return await service.list_payloads(session, stream.id, connector_id, outcome, limit)


@router.post(
    "/streams/{stream_id}/connectors/{connector_id}/inbound",
    summary="A platform's webhook, as the platform sends it (signed by the platform)",
    description=(
        "Authenticated by the platform's signature (the mapping names the header and the "
        "recipe; the connector holds the secret). Answers 200 with the events made, "
        "200 for a payload no rule maps (kept as `unmapped`), 401 for a bad signature or "
        "a revoked key, 400 for a body that is not JSON, 409 when the stream is not "
        "live, 422 when the mapped events are invalid; every payload that did not "
        "become events is kept (GET .../payloads)."
    ),
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}}
    },
)
async def inbound(stream_id: int, connector_id: int, request: Request, uow: UowDep) -> JSONBody:
    result = await service.receive(
        uow,
        stream_id,
        connector_id,
        await request.body(),
        dict(request.headers),
    )
    return JSONBody(result.body, status_code=result.status_code)
