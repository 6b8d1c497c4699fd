"""The durable event log: batch writes with de-duplication, rollups, and recomputation.

`write_events` stores a batch in the caller's transaction and returns the events that
were new (not already logged under their `event_id`). On PostgreSQL it is one
`INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING RETURNING` (never one INSERT
per event); on SQLite a multi-row INSERT with the same semantics. It writes nothing
else: the rollups (`stream_viewers`, `stream_minutes`, the review's) and the comment
intake are derived from the committed log by app/services/projection.py, which calls
`fold_rollups` with each log row exactly once.

Log order is commit order per stream: on PostgreSQL a writer takes the stream's log
lock (a transaction-scoped advisory lock) just before it inserts and keeps it to
commit, so a stream's rows become visible in id order and a reader that follows the
log by id never misses a row that commits later with a smaller id. SQLite has one
writer at a time and needs no lock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, func, literal, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.effects import (
    LIVE_PRODUCT,
    MINUTE_ROLLUP,
    TOTALS,
    VIEWER_ROLLUP,
    ZERO,
    fold,
    plan,
)
from app.models import StreamEvent, StreamMinute, StreamViewer
from app.realtime.counters import CounterState, cents
from app.realtime.ports import Counters
from app.schemas.events import EventIn
from app.services.rollups import apply_review_rollups, pg_fold_review_sums, pg_fold_statement

_PG_INSERT_EVENTS = text(
    """
    INSERT INTO stream_events
        (stream_id, event_id, type, viewer_id, ts, received_at,
         product_id, quantity, amount, text, source)
    SELECT :sid, u.eid, u.typ, u.vid, u.ts, :now, u.pid, u.qty, u.amt, u.txt, u.src
    FROM unnest(
        CAST(:eid AS VARCHAR[]), CAST(:typ AS VARCHAR[]), CAST(:vid AS VARCHAR[]),
        CAST(:ts AS TIMESTAMPTZ[]), CAST(:pid AS INTEGER[]), CAST(:qty AS INTEGER[]),
        CAST(:amt AS NUMERIC[]), CAST(:txt AS TEXT[]), CAST(:src AS VARCHAR[])
    ) AS u(eid, typ, vid, ts, pid, qty, amt, txt, src)
    ON CONFLICT (stream_id, event_id) DO NOTHING
    RETURNING event_id
    """
)

_VIEWERS, _MINUTES = plan(VIEWER_ROLLUP), plan(MINUTE_ROLLUP)
_LOG_TOTALS, _LOG_PRODUCT = plan(TOTALS), plan(LIVE_PRODUCT)


def unique_in_batch(events: Sequence[EventIn]) -> list[EventIn]:
    """The batch without repeats of an event_id inside it (the first one wins)."""
    seen: set[str] = set()
    out: list[EventIn] = []
    for ev in events:
        if ev.event_id is not None:
            if ev.event_id in seen:
                continue
            seen.add(ev.event_id)
        out.append(ev)
    return out


def _viewer_rollup(events: Sequence[EventIn]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for ev in events:
        row = rows.get(ev.user_id)
        if row is None:
            row = rows[ev.user_id] = {
                "source": None,
                "first_seen": ev.ts,
                "last_seen": ev.ts,
                **_VIEWERS.zero(ZERO),
            }
        row["first_seen"] = min(row["first_seen"], ev.ts)
        row["last_seen"] = max(row["last_seen"], ev.ts)
        if ev.source is not None and row["source"] is None:
            row["source"] = ev.source
        _VIEWERS.add(row, ev.type, 1, ev.units, ev.amount or ZERO)
    return rows


def _minute_rollup(events: Sequence[EventIn]) -> dict[datetime, dict[str, Any]]:
    return fold(events, _MINUTES, lambda ev: ev.ts.replace(second=0, microsecond=0))


# pg_advisory_xact_lock(namespace, stream_id): the stream's log lock (see the module doc).
LOG_LOCK_NAMESPACE = 4507
_PG_LOCK_LOG = text("SELECT pg_advisory_xact_lock(:ns, :sid)")


async def write_events(
    session: AsyncSession, stream_id: int, events: Sequence[EventIn]
) -> list[EventIn]:
    """Log the events in the session's transaction; return those that were new.

    On PostgreSQL this takes the stream's log lock until your transaction ends: log
    last, then commit. Take no other lock after it (every transaction that logs takes
    its row and advisory locks first, the log lock last, so none can deadlock on it)."""
    batch = unique_in_batch(events)
    if not batch:
        return []
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_PG_LOCK_LOG, {"ns": LOG_LOCK_NAMESPACE, "sid": stream_id})
        return await _write_pg(session, stream_id, batch)
    return await _write_generic(session, stream_id, batch)


async def fold_rollups(session: AsyncSession, stream_id: int, events: Sequence[EventIn]) -> None:
    """Add logged events to every rollup (viewers, minutes, the review's), in log order,
    summed in Python: the projection's SQLite path, once per log row (on PostgreSQL it
    folds a range of ids with `pg_fold_range`, summed by the server)."""
    if events:
        await _write_rollups(session, stream_id, events)
        await apply_review_rollups(session, stream_id, events)


_VIEWER_EXTRA = (
    (
        "source",
        "(array_agg(source ORDER BY id) FILTER (WHERE source IS NOT NULL))[1]",
        "COALESCE(stream_viewers.source, EXCLUDED.source)",
    ),
    ("first_seen", "min(ts)", "LEAST(stream_viewers.first_seen, EXCLUDED.first_seen)"),
    ("last_seen", "max(ts)", "GREATEST(stream_viewers.last_seen, EXCLUDED.last_seen)"),
)


async def pg_fold_range(session: AsyncSession, stream_id: int, after: int, upto: int) -> None:
    """Every rollup but the presence replay, for log ids (after, upto], summed by
    PostgreSQL from the log rows (see `rollups.pg_fold_statement`)."""
    params = {"sid": stream_id, "after": after, "upto": upto}
    viewers = pg_fold_statement(
        "stream_viewers", (("viewer_id", "viewer_id"),), _VIEWERS, _VIEWER_EXTRA
    )
    minutes = pg_fold_statement(
        "stream_minutes", (("minute", "date_trunc('minute', ts)"),), _MINUTES
    )
    await session.execute(viewers, params)
    await session.execute(minutes, params)
    await pg_fold_review_sums(session, stream_id, after, upto)


_PG_RANGE = text(
    """
    SELECT count(*), max(id) FROM (
        SELECT id FROM stream_events WHERE stream_id = :sid AND id > :after
        ORDER BY id LIMIT :n
    ) AS next_rows
    """
)


async def pg_next_range(
    session: AsyncSession, stream_id: int, after: int, limit: int
) -> tuple[int, int]:
    """(how many, last id) of the stream's next `limit` log rows after `after`."""
    n, upto = (
        await session.execute(_PG_RANGE, {"sid": stream_id, "after": after, "n": limit})
    ).one()
    return int(n), int(upto or after)


async def _write_pg(session: AsyncSession, stream_id: int, batch: list[EventIn]) -> list[EventIn]:
    params = {
        "sid": stream_id,
        "now": datetime.now(UTC),
        "eid": [e.event_id for e in batch],
        "typ": [e.type for e in batch],
        "vid": [e.user_id for e in batch],
        "ts": [e.ts for e in batch],
        "pid": [e.product_id for e in batch],
        "qty": [e.quantity for e in batch],
        "amt": [e.amount for e in batch],
        "txt": [e.text for e in batch],
        "src": [e.source for e in batch],
    }
    result = await session.execute(_PG_INSERT_EVENTS, params)
    stored = {row[0] for row in result}
    return [e for e in batch if e.event_id is None or e.event_id in stored]


async def _write_generic(
    session: AsyncSession, stream_id: int, batch: list[EventIn]
) -> list[EventIn]:
    now = datetime.now(UTC)
    rows = [
        {
            "stream_id": stream_id,
            "event_id": e.event_id,
            "type": e.type,
            "viewer_id": e.user_id,
            "ts": e.ts,
            "received_at": now,
            "product_id": e.product_id,
            "quantity": e.quantity,
            "amount": e.amount,
            "text": e.text,
            "source": e.source,
        }
        for e in batch
    ]
    stored: set[str | None] = set()
    # SQLite caps bound parameters per statement; 11 columns x 500 rows stays under it.
    for start in range(0, len(rows), 500):
        stmt = (
            sqlite_insert(StreamEvent)
            .values(rows[start : start + 500])
            .on_conflict_do_nothing(index_elements=["stream_id", "event_id"])
            .returning(StreamEvent.event_id)
        )
        stored.update((await session.execute(stmt)).scalars())
    return [e for e in batch if e.event_id is None or e.event_id in stored]


async def _write_rollups(session: AsyncSession, stream_id: int, new: Sequence[EventIn]) -> None:
    """The viewer and minute rollups of `new`, folded in Python (SQLite)."""
    viewers = _viewer_rollup(new)
    minutes = _minute_rollup(new)
    v_ins = sqlite_insert(StreamViewer)
    v_stmt = v_ins.on_conflict_do_update(
        index_elements=["stream_id", "viewer_id"],
        set_={
            "source": func.coalesce(StreamViewer.source, v_ins.excluded.source),
            "first_seen": func.min(StreamViewer.first_seen, v_ins.excluded.first_seen),
            "last_seen": func.max(StreamViewer.last_seen, v_ins.excluded.last_seen),
            **{c: getattr(StreamViewer, c) + getattr(v_ins.excluded, c) for c in _VIEWERS.columns},
        },
    )
    await session.execute(
        v_stmt,
        [{"stream_id": stream_id, "viewer_id": k, **v} for k, v in sorted(viewers.items())],
    )
    m_ins = sqlite_insert(StreamMinute)
    m_stmt = m_ins.on_conflict_do_update(
        index_elements=["stream_id", "minute"],
        set_={c: getattr(StreamMinute, c) + getattr(m_ins.excluded, c) for c in _MINUTES.columns},
    )
    await session.execute(
        m_stmt, [{"stream_id": stream_id, "minute": k, **v} for k, v in sorted(minutes.items())]
    )


# --------------------------------------------------------------------------- recompute


def _log_columns(with_text: bool) -> tuple[Any, ...]:
    e = StreamEvent
    return (
        e.id,
        e.type,
        e.viewer_id,
        e.event_id,
        e.ts,
        e.product_id,
        e.text if with_text else literal(None, Text).label("text"),
        e.quantity,
        e.amount,
        e.source,
    )


async def logged_after(
    session: AsyncSession,
    stream_id: int,
    after_id: int,
    limit: int,
    *,
    with_text: bool = False,
    upto: int | None = None,
    types: Sequence[str] | None = None,
) -> tuple[list[EventIn], int]:
    """Up to `limit` of the stream's logged events with ids above `after_id` (and at most
    `upto`, of `types` if given), in log order, and the id of the last one (`after_id`
    if none). Comment texts only if asked."""
    query = select(*_log_columns(with_text)).where(
        StreamEvent.stream_id == stream_id, StreamEvent.id > after_id
    )
    if upto is not None:
        query = query.where(StreamEvent.id <= upto)
    if types is not None:
        query = query.where(StreamEvent.type.in_(types))
    rows = (await session.execute(query.order_by(StreamEvent.id).limit(limit))).all()
    events = [
        EventIn(
            r.type,
            r.viewer_id,
            r.event_id,
            r.ts,
            r.product_id,
            r.text,
            r.quantity,
            r.amount,
            r.source,
        )
        for r in rows
    ]
    return events, (rows[-1].id if rows else after_id)


async def iter_logged_events(session: AsyncSession, stream_id: int, chunk: int = 5000) -> Any:
    """The stream's logged events in arrival order, in chunks (an async generator)."""
    last_id = 0
    while True:
        events, last_id = await logged_after(session, stream_id, last_id, chunk)
        if not events:
            return
        yield events


async def rebuild_counters(
    counters: Counters,
    session: AsyncSession,
    stream_id: int,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Recount a stream from its log (embedded mode after a restart, a lost Redis, or
    `controlroom rebuild-counters`); returns the number of logged events replayed.
    `progress(n)` is called after each chunk of n events.

    Events counted live while this runs are not lost (the counters de-duplicate by
    `event_id`), but one without an `event_id` that is logged during the rebuild may be
    counted twice: rebuild a stream that is not receiving events, or accept that."""
    await counters.reset(stream_id)
    replayed = 0
    async for events in iter_logged_events(session, stream_id):
        await counters.apply(stream_id, events)
        replayed += len(events)
        if progress is not None:
            progress(len(events))
    return replayed


async def count_logged_events(session: AsyncSession, stream_id: int) -> int:
    total = await session.scalar(
        select(func.count()).select_from(StreamEvent).where(StreamEvent.stream_id == stream_id)
    )
    return int(total or 0)


async def log_totals(session: AsyncSession, stream_id: int) -> CounterState:
    """The counters recomputed from the durable log with SQL aggregates.

    Independent of the live counters (it shares only the definitions), so comparing
    the two checks the invariant "counters agree with the log".
    """
    state = CounterState()
    e = StreamEvent
    where = e.stream_id == stream_id
    by_type = await session.execute(
        select(
            e.type,
            func.count(),
            func.coalesce(func.sum(func.coalesce(e.quantity, 1)), 0),
            func.coalesce(func.sum(e.amount), 0),
        )
        .where(where)
        .group_by(e.type)
    )
    for kind, n, units, amount in by_type:
        _LOG_TOTALS.add(state.totals, kind, int(n), int(units), cents(Decimal(str(amount))))
    state.viewers = int(
        await session.scalar(select(func.count(func.distinct(e.viewer_id))).where(where)) or 0
    )
    by_product = await session.execute(
        select(
            e.product_id,
            e.type,
            func.count(),
            func.coalesce(func.sum(func.coalesce(e.quantity, 1)), 0),
            func.coalesce(func.sum(e.amount), 0),
        )
        .where(where, e.product_id.is_not(None), e.type.in_(_LOG_PRODUCT.types))
        .group_by(e.product_id, e.type)
    )
    for pid, kind, n, units, amount in by_product:
        p = state.products.setdefault(int(str(pid)), _LOG_PRODUCT.zero())
        _LOG_PRODUCT.add(p, kind, int(n), int(units), cents(Decimal(str(amount))))
    # Presence depends on arrival order: replay joins and leaves in log order.
    online: set[str] = set()
    peak = 0
    presence = await session.stream(
        select(e.type, e.viewer_id)
        .where(where, e.type.in_(("viewer_join", "viewer_leave")))
        .order_by(e.id)
    )
    async for kind, viewer in presence:
        if kind == "viewer_join":
            online.add(viewer)
            peak = max(peak, len(online))
        else:
            online.discard(viewer)
    state.online = len(online)
    state.totals["peak_online"] = peak
    return state


async def viewer_watch_seconds(
    session: AsyncSession, stream_id: int, until: datetime
) -> dict[str, float]:
    """Watch time per viewer from join→leave sessions in the log (by `ts`).

    A join while already present does not restart the session; a leave without a
    join is ignored; a session still open is closed at `until` (e.g. the stream's end).
    """
    rows = await session.stream(
        select(StreamEvent.viewer_id, StreamEvent.type, StreamEvent.ts)
        .where(
            StreamEvent.stream_id == stream_id,
            StreamEvent.type.in_(("viewer_join", "viewer_leave")),
        )
        .order_by(StreamEvent.viewer_id, StreamEvent.ts, StreamEvent.id)
    )
    watch: defaultdict[str, float] = defaultdict(float)
    open_since: dict[str, datetime] = {}
    async for viewer, kind, ts in rows:
        watch[viewer] += 0.0
        if kind == "viewer_join":
            open_since.setdefault(viewer, ts)
        elif viewer in open_since:
            watch[viewer] += max(0.0, (ts - open_since.pop(viewer)).total_seconds())
    for viewer, since in open_since.items():
        watch[viewer] += max(0.0, (until - since).total_seconds())
    return dict(watch)
