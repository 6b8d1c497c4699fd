"""Connectors: a platform's webhooks into one stream, verified, mapped and ingested.

A connector names a shipped mapping (app/connectors/mappings/*.yaml), holds the
platform's signing secret and parameters, and records its events under an ingest key
of its own (made with it; revoking that key stops the connector). Every payload it
receives is noted in `connector_payloads` with what became of it; the body is kept
whenever it did not become events (unmapped, invalid, rejected), so nothing is dropped
silently and the mapping can be fixed against what really came.

The events go through `app.services.event_batches.accept_batch`, the path of `POST /events`:
order book, log, live counters and projection stay one path.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import AppError, NotFound, Unprocessable
from app.models import (
    Connector,
    ConnectorPayload,
    IngestKey,
    LineupItem,
    PayloadOutcome,
    Product,
    Stream,
    StreamStatus,
    User,
)
from app.schemas.events import MAX_BATCH, parse_event
from app.services import event_batches
from app.services import ingest as ingest_service
from app.services.connectors.mapping import (
    Mapping,
    PayloadError,
    apply_mapping,
    required_params,
    shipped_mappings,
    signature_ok,
    stale_reason,
)
from app.services.uow import UnitOfWork

STATUS_WINDOW = timedelta(minutes=15)
STALE_AFTER = timedelta(seconds=60)
# An event stamped up to this far after we received it is clock jitter (lag 0); more is
# the platform's clock being ahead of ours (see _measure_lag).
SKEW_TOLERANCE_MS = 2000
MAX_KEPT_BODY = 64 * 1024
# Headers worth keeping with a payload (never cookies or authorization).
_KEEP_HEADER_PREFIXES = ("x-", "msg-", "content-type", "user-agent")


@lru_cache(maxsize=1)
def mappings() -> dict[str, Mapping]:
    return shipped_mappings()


def mapping_for(name: str) -> Mapping:
    found = mappings().get(name)
    if found is None:
        raise Unprocessable(
            f"unknown mapping {name!r}; shipped: {', '.join(sorted(mappings()))}",
            code="unknown_mapping",
        )
    return found


# --------------------------------------------------------------------------- manage


async def create_connector(
    session: AsyncSession,
    stream: Stream,
    user: User,
    name: str,
    mapping: str,
    secret: str,
    params: dict[str, str],
) -> tuple[Connector, IngestKey]:
    missing = [p for p in required_params(mapping_for(mapping)) if not params.get(p)]
    if missing:
        raise Unprocessable(
            f"mapping {mapping!r} needs params: {', '.join(missing)}",
            code="mapping_params_missing",
            names=", ".join(missing),
        )
    key_row, _plain = await ingest_service.create_key(
        session, stream, user, f"connector:{name}"[:100]
    )
    row = Connector(
        stream_id=stream.id,
        name=name,
        mapping=mapping,
        secret=secret or secrets.token_urlsafe(24),
        params=params,
        ingest_key_id=key_row.id,
        created_by=user.id,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return row, key_row


async def get_connector(session: AsyncSession, stream_id: int, connector_id: int) -> Connector:
    row = await session.get(Connector, connector_id)
    if row is None or row.stream_id != stream_id:
        raise NotFound(f"connector {connector_id} not found", code="connector_not_found")
    return row


async def delete_connector(session: AsyncSession, stream_id: int, connector_id: int) -> None:
    row = await get_connector(session, stream_id, connector_id)
    if row.ingest_key_id is not None:
        await ingest_service.revoke_key(session, stream_id, row.ingest_key_id)
    await session.delete(row)
    await session.flush()


async def status(
    session: AsyncSession, stream_id: int, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Each connector's health: last event, lag, error rate (15 min), its ingest key."""
    now = now or utcnow()
    stream_live = (await session.scalar(select(Stream.status).where(Stream.id == stream_id))) == (
        StreamStatus.live
    )
    rows = (
        await session.execute(
            select(Connector, IngestKey.prefix, IngestKey.revoked_at)
            .outerjoin(IngestKey, IngestKey.id == Connector.ingest_key_id)
            .where(Connector.stream_id == stream_id)
            .order_by(Connector.id)
        )
    ).all()
    counts: dict[int, tuple[int, int]] = {}
    if rows:
        failed = case((ConnectorPayload.outcome != PayloadOutcome.mapped, 1), else_=0)
        for cid, total, bad in await session.execute(
            select(ConnectorPayload.connector_id, func.count(), func.sum(failed))
            .where(
                ConnectorPayload.connector_id.in_([c.id for c, _, _ in rows]),
                ConnectorPayload.received_at >= now - STATUS_WINDOW,
            )
            .group_by(ConnectorPayload.connector_id)
        ):
            counts[cid] = (int(total), int(bad or 0))
    out = []
    for conn, prefix, revoked_at in rows:
        total, bad = counts.get(conn.id, (0, 0))
        if prefix is None or revoked_at is not None:
            state = "key_revoked"
        elif total and bad / total >= 0.5:
            state = "failing"
        elif conn.last_received_at is None:
            state = "waiting"
        elif stream_live and now - conn.last_received_at > STALE_AFTER:
            state = "stale"
        else:
            state = "ok"
        out.append(
            {
                "id": conn.id,
                "name": conn.name,
                "mapping": conn.mapping,
                "mapping_version": mappings()[conn.mapping].version
                if conn.mapping in mappings()
                else None,
                "inbound_path": inbound_path(conn),
                "ingest_key_prefix": prefix,
                "ingest_key_revoked": revoked_at is not None,
                "last_received_at": conn.last_received_at,
                "last_event_at": conn.last_event_at,
                "lag_ms": conn.last_lag_ms,
                "clock_skew_ms": conn.clock_skew_ms
                if conn.clock_skew_at is not None and now - conn.clock_skew_at <= STATUS_WINDOW
                else None,
                "received_15m": total,
                "errors_15m": bad,
                "error_rate": round(bad / total, 4) if total else 0.0,
                "last_error": conn.last_error,
                "state": state,
            }
        )
    return out


def inbound_path(conn: Connector) -> str:
    return f"/api/v1/streams/{conn.stream_id}/connectors/{conn.id}/inbound"


async def list_payloads(
    session: AsyncSession,
    stream_id: int,
    connector_id: int,
    outcome: PayloadOutcome | None,
    limit: int,
) -> list[ConnectorPayload]:
    await get_connector(session, stream_id, connector_id)
    query = select(ConnectorPayload).where(ConnectorPayload.connector_id == connector_id)
    if outcome is not None:
        query = query.where(ConnectorPayload.outcome == outcome)
    rows = await session.scalars(query.order_by(ConnectorPayload.id.desc()).limit(limit))
    return list(rows.all())


# --------------------------------------------------------------------------- receive


@dataclass(frozen=True)
class Received:
    status_code: int
    body: dict[str, Any]


def _kept_headers(headers: dict[str, str]) -> dict[str, str]:
    return {
        k: v[:500]
        for k, v in headers.items()
        if k.lower().startswith(_KEEP_HEADER_PREFIXES) and k.lower() != "x-ingest-key"
    }


async def receive(
    uow: UnitOfWork,
    stream_id: int,
    connector_id: int,
    raw: bytes,
    headers: dict[str, str],
) -> Received:
    """One platform request: verify, map, ingest; note it either way. Never raises for
    what the platform sent (the outcome is kept and answered); 404 for no connector."""
    session = uow.session
    conn = await get_connector(session, stream_id, connector_id)
    mapping = mapping_for(conn.mapping)
    now = utcnow()

    async def keep(outcome: PayloadOutcome, code: int, reason: str, events: int = 0) -> Received:
        keep_body = outcome != PayloadOutcome.mapped
        session.add(
            ConnectorPayload(
                connector_id=conn.id,
                stream_id=stream_id,
                received_at=now,
                outcome=outcome,
                events=events,
                reason=reason[:500],
                headers=_kept_headers(headers) if keep_body else {},
                body=raw[:MAX_KEPT_BODY].decode("utf-8", "replace") if keep_body else None,
            )
        )
        conn.last_received_at = now
        if outcome != PayloadOutcome.mapped:
            conn.last_error = reason[:500]
        await session.flush()
        return Received(code, {"outcome": str(outcome), "reason": reason, "events": events})

    if not signature_ok(mapping, conn.secret, raw, headers, conn.params):
        return await keep(PayloadOutcome.rejected, 401, "signature missing or wrong")
    key = await session.get(IngestKey, conn.ingest_key_id) if conn.ingest_key_id else None
    if key is None or key.revoked_at is not None:
        return await keep(PayloadOutcome.rejected, 401, "the connector's ingest key is revoked")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return await keep(PayloadOutcome.rejected, 400, f"body is not valid JSON: {exc}")
    stale = stale_reason(mapping, payload, headers, now)
    if stale:
        return await keep(PayloadOutcome.rejected, 401, stale)
    try:
        mapped = apply_mapping(mapping, payload, headers)
    except PayloadError as exc:
        return await keep(PayloadOutcome.invalid, 422, str(exc))
    if mapped.rule is None:
        # Not the platform's fault: 200, so it does not retry; kept for inspection.
        return await keep(PayloadOutcome.unmapped, 200, "no rule of the mapping matched")
    if not mapped.events:
        # A challenge to answer, or a notice the mapping acknowledges and counts nowhere.
        noted = await keep(PayloadOutcome.mapped, 200, mapped.rule)
        return Received(200, mapped.reply) if mapped.reply is not None else noted
    stream_status = await session.scalar(select(Stream.status).where(Stream.id == stream_id))
    if stream_status != StreamStatus.live:
        return await keep(
            PayloadOutcome.rejected, 409, f"stream {stream_id} is not live ({stream_status})"
        )
    if len(mapped.events) > MAX_BATCH:
        return await keep(PayloadOutcome.invalid, 422, f"more than {MAX_BATCH} events")
    try:
        await _resolve_skus(session, stream_id, mapped.events)
        events = [parse_event(ev, now) for ev in mapped.events]
    except ValueError as exc:
        return await keep(PayloadOutcome.invalid, 422, f"{mapped.rule}: {exc}")
    try:
        outcome = await event_batches.accept_batch(uow, stream_id, events, conn.name)
    except AppError as exc:
        # A contradiction with the order book: nothing applied; keep the payload.
        await uow.rollback_now()
        conn = await get_connector(session, stream_id, connector_id)
        return await keep(PayloadOutcome.invalid, 422, f"{mapped.rule}: {exc.detail}")
    conn.last_event_at = now
    conn.last_lag_ms = _measure_lag(conn, max(ev.ts for ev in events), now)
    conn.last_error = ""
    result = await keep(PayloadOutcome.mapped, 200, mapped.rule, len(events))
    body = {
        **result.body,
        "accepted": outcome.accepted,
        "duplicates": outcome.duplicates,
    }
    return Received(200, mapped.reply or body)


def _measure_lag(conn: Connector, latest: datetime, now: datetime) -> int:
    """The lag of this batch: our receipt time − its latest event's own time, in ms.

    The event times come from the platform's clock. An event stamped more than
    SKEW_TOLERANCE after we received it cannot be early: the platform's clock is ahead
    of ours by at least that much. That lower bound of the skew (the largest seen in the
    status window) is kept on the connector, shown, and added to the measured lag, so a
    fast clock does not show as 0 lag. A platform clock that is behind looks like lag:
    without a time both clocks read, it cannot be told apart."""
    lead_ms = round((latest.astimezone(UTC) - now).total_seconds() * 1000)
    skew = conn.clock_skew_ms
    if skew is not None and (
        conn.clock_skew_at is None or now - conn.clock_skew_at > STATUS_WINDOW
    ):
        skew = None  # not seen for a while: the platform's clock was set right
    if lead_ms > SKEW_TOLERANCE_MS:
        skew = max(skew or 0, lead_ms)
        conn.clock_skew_at = now
    conn.clock_skew_ms = skew
    return max(0, (skew or 0) - lead_ms)


async def _resolve_skus(
    session: AsyncSession, stream_id: int, events: list[dict[str, Any]]
) -> None:
    """`product_sku` → our `product_id`: a product of the stream's lineup."""
    skus = {str(ev["product_sku"]) for ev in events if "product_sku" in ev}
    if not skus:
        return
    found = dict(
        (
            await session.execute(
                select(Product.sku, Product.id)
                .join(LineupItem, LineupItem.product_id == Product.id)
                .where(LineupItem.stream_id == stream_id, Product.sku.in_(skus))
            )
        ).all()
    )
    for ev in events:
        sku = ev.pop("product_sku", None)
        if sku is None:
            continue
        if sku not in found:
            raise ValueError(f"SKU {sku!r} is not in this stream's lineup")
        ev["product_id"] = found[sku]
