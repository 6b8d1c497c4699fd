"""A batch of platform events, one path for `POST /events`, the platform connectors
(app/services/connectors) and rehearsal replays: the order book (connector orders and
payments of our own orders), then the log and the counters (app/services/ingest.py),
then the projection after commit."""

from __future__ import annotations

from collections.abc import Sequence

from app.realtime.outbox import after_commit
from app.schemas.events import EventIn
from app.services import connector_orders, order_payment, projection
from app.services.ingest import IngestOutcome, record_events
from app.services.uow import UnitOfWork


async def accept_batch(
    uow: UnitOfWork,
    stream_id: int,
    events: Sequence[EventIn],
    channel: str | None = None,
) -> IngestOutcome:
    """What `POST /events` does with a validated batch, shared with the platform
    connectors (app/services/connectors): one path for the order book, the log, the
    counters and the projection. Raises Unprocessable (422 `invalid_batch`) when a
    connector order event contradicts the order recorded; the caller's transaction then
    must roll back. `channel`: the connector's name when a configured connector sent
    the batch (kept on the orders it makes)."""
    session, live, maker = uow.session, uow.live, uow.maker
    # A connector's sales (order events with `order_id`) are orders in the order book.
    connector = await connector_orders.apply_connector_orders(uow, stream_id, events, channel)
    # Payments of our own orders (event id `order:<id>:paid`) mark the order paid.
    payments = await order_payment.pay_from_ingest(uow, stream_id, connector.rest)
    outcome = await record_events(
        uow, stream_id, [*connector.log, *payments.external], wake_projection=False
    )
    if outcome.accepted:

        async def _fold() -> None:
            # The rollups and the comment intake (moderation, classification, the
            # service queue), from the committed log; skipped if another request or
            # instance is folding this stream (it folds these rows too).
            await projection.fold_after_commit(maker, live, stream_id)

        after_commit(session, _fold)
    # The connector's order events count as the events they are (one each), whether
    # their order's own log rows were new or not.
    return IngestOutcome(
        accepted=outcome.accepted - len(connector.log) + connector.applied + payments.paid,
        duplicates=outcome.duplicates + connector.duplicates + payments.duplicates,
    )
