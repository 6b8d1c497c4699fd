"""Keep the review's rollups (app/models/rollups.py) as the log grows.

Used by the log's projection (app/services/projection.py) with each logged event
exactly once, in log order, one fold of a stream at a time, so the rollups agree with
the log: on PostgreSQL the sums are one `INSERT … SELECT … GROUP BY` per rollup over
the folded ids (`pg_fold_review_sums`), on SQLite they are folded in Python
(`apply_review_rollups`); the presence replay is Python on both (`apply_presence`).
Upserts are sorted by key, so writers lock rows in one order and cannot deadlock.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import UTCDateTime, dialect_insert
from app.domain.effects import (
    PRESENCE_TYPES,
    PRODUCT_ROLLUP,
    PRODUCT_SECOND_ROLLUP,
    SECOND_ROLLUP,
    Plan,
    fold,
    plan,
    sql_sum,
)
from app.domain.effects import (
    EventLike as Counted,
)
from app.models.rollups import (
    StreamOnlineMinute,
    StreamPresence,
    StreamProductMinute,
    StreamProductSecond,
    StreamSecond,
    StreamViewerPresence,
)

_PRODUCT_MINUTES = plan(PRODUCT_ROLLUP)
_PRODUCT_SECONDS = plan(PRODUCT_SECOND_ROLLUP)
_SECONDS = plan(SECOND_ROLLUP)
PRODUCT_SUMS = _PRODUCT_MINUTES.columns
# What script segments and explanation windows sum, per second (see second_of).
WINDOW_SUMS = _PRODUCT_SECONDS.columns
SECOND_SUMS = _SECONDS.columns


class EventLike(Counted, Protocol):
    """What the rollups read of an event (the event log's `EventIn` has it)."""

    @property
    def user_id(self) -> str: ...
    @property
    def ts(self) -> datetime: ...
    @property
    def product_id(self) -> int | None: ...


def elapsed_ms(since: datetime, until: datetime) -> int:
    """Whole milliseconds from `since` to `until` (floored; 0 if negative).

    Every watch-time figure uses this one rounding, in Python and in SQL
    (`floor(extract(epoch …) * 1000)`), so the figures add up exactly however they are
    summed.
    """
    return max(0, (until - since) // timedelta(milliseconds=1))


def minute_of(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def second_of(ts: datetime) -> datetime:
    """The second an event happened in: windows are attributed by it."""
    return ts.replace(microsecond=0)


def _greatest(session: AsyncSession, a: Any, b: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.greatest(a, b)
    return func.max(a, b)


async def lock_presence(session: AsyncSession, stream_id: int) -> Any:
    """Take the stream's presence row lock (creating the row) and return its figures."""
    await session.execute(
        dialect_insert(session, StreamPresence)
        .values(stream_id=stream_id, online=0, peak_online=0, watch_ms=0)
        .on_conflict_do_nothing(index_elements=["stream_id"])
    )
    return (
        await session.execute(
            select(
                StreamPresence.online,
                StreamPresence.peak_online,
                StreamPresence.peak_at,
                StreamPresence.watch_ms,
            )
            .where(StreamPresence.stream_id == stream_id)
            .with_for_update()
        )
    ).one()


async def apply_review_rollups(
    session: AsyncSession, stream_id: int, events: Sequence[EventLike]
) -> None:
    """Fold newly logged events into the review's rollups, in Python (SQLite)."""
    if not events:
        return
    await _apply_products(session, stream_id, events)
    await _apply_presence(session, stream_id, [e for e in events if e.type in PRESENCE_TYPES])


def _product_minute(ev: EventLike) -> tuple[Any, ...] | None:
    return None if ev.product_id is None else (ev.product_id, minute_of(ev.ts))


def _product_second(ev: EventLike) -> tuple[Any, ...] | None:
    return None if ev.product_id is None else (ev.product_id, second_of(ev.ts))


def _second(ev: EventLike) -> tuple[Any, ...]:
    return (second_of(ev.ts),)


async def _apply_products(
    session: AsyncSession, stream_id: int, events: Sequence[EventLike]
) -> None:
    """Per product per minute, per product per second, and per second."""
    for model, keys, p, key_of in (
        (StreamProductMinute, ("product_id", "minute"), _PRODUCT_MINUTES, _product_minute),
        (StreamProductSecond, ("product_id", "second"), _PRODUCT_SECONDS, _product_second),
        (StreamSecond, ("second",), _SECONDS, _second),
    ):
        rows = fold(events, p, key_of)
        if rows:
            await _add_sums(session, model, stream_id, keys, p.columns, rows)


async def _add_sums(
    session: AsyncSession,
    model: Any,
    stream_id: int,
    keys: tuple[str, ...],
    sums: Sequence[str],
    rows: dict[tuple[Any, ...], dict[str, Any]],
) -> None:
    """Add `rows` to the rollup `model` (upsert: existing rows are summed into)."""
    ordered = sorted(rows)
    ins = dialect_insert(session, model)
    stmt = ins.on_conflict_do_update(
        index_elements=["stream_id", *keys],
        set_={c: getattr(model, c) + getattr(ins.excluded, c) for c in sums},
    )
    await session.execute(
        stmt,
        [
            {"stream_id": stream_id, **dict(zip(keys, key, strict=True)), **rows[key]}
            for key in ordered
        ],
    )


async def _apply_presence(
    session: AsyncSession, stream_id: int, events: Sequence[EventLike]
) -> None:
    if not events:
        return
    totals = await lock_presence(session, stream_id)
    online, peak, peak_at, watch_total = totals
    viewers = sorted({e.user_id for e in events})
    state: dict[str, list[Any]] = {}
    if session.get_bind().dialect.name == "postgresql":
        # One statement whatever the batch size (an IN list would be a new prepared
        # statement for every length).
        found = await session.execute(_PG_PRESENCE_OF, {"sid": stream_id, "vid": viewers})
        for vid, since, ms in found:
            state[vid] = [since, int(ms)]
    else:
        for start in range(0, len(viewers), 500):  # SQLite's bound-parameter limit
            chunk = viewers[start : start + 500]
            found = await session.execute(
                select(
                    StreamViewerPresence.viewer_id,
                    StreamViewerPresence.present_since,
                    StreamViewerPresence.watch_ms,
                ).where(
                    StreamViewerPresence.stream_id == stream_id,
                    StreamViewerPresence.viewer_id.in_(chunk),
                )
            )
            for vid, since, ms in found:
                state[vid] = [since, int(ms)]
    minutes: dict[datetime, list[int]] = {}
    for ev in events:
        st = state.setdefault(ev.user_id, [None, 0])
        if ev.type == "viewer_join":
            if st[0] is None:
                st[0] = ev.ts
                online += 1
                if online > peak:
                    peak, peak_at = online, ev.ts
        elif st[0] is not None:
            ms = elapsed_ms(st[0], ev.ts)
            st[1] += ms
            watch_total += ms
            st[0] = None
            online -= 1
        m = minutes.setdefault(minute_of(ev.ts), [online, online])
        m[0] = online
        m[1] = max(m[1], online)

    if session.get_bind().dialect.name == "postgresql":
        await _pg_presence_rows(session, stream_id, state, minutes)
    else:
        await _generic_presence_rows(session, stream_id, state, minutes)
    await session.execute(
        update(StreamPresence)
        .where(StreamPresence.stream_id == stream_id)
        .values(online=online, peak_online=peak, peak_at=peak_at, watch_ms=watch_total)
    )


_PG_PRESENCE_OF = text(
    """
    SELECT viewer_id, present_since, watch_ms FROM stream_viewer_presence
    WHERE stream_id = :sid AND viewer_id = ANY(CAST(:vid AS VARCHAR[]))
    """
).columns(present_since=UTCDateTime())
_PG_VIEWER_PRESENCE = text(
    """
    INSERT INTO stream_viewer_presence (stream_id, viewer_id, present_since, watch_ms)
    SELECT :sid, * FROM unnest(
        CAST(:vid AS VARCHAR[]), CAST(:since AS TIMESTAMPTZ[]), CAST(:ms AS BIGINT[]))
    ON CONFLICT (stream_id, viewer_id) DO UPDATE
    SET present_since = EXCLUDED.present_since, watch_ms = EXCLUDED.watch_ms
    """
)
_PG_ONLINE_MINUTES = text(
    """
    INSERT INTO stream_online_minutes (stream_id, minute, online_end, peak_online)
    SELECT :sid, * FROM unnest(
        CAST(:minute AS TIMESTAMPTZ[]), CAST(:online_end AS INTEGER[]),
        CAST(:peak AS INTEGER[]))
    ON CONFLICT (stream_id, minute) DO UPDATE
    SET online_end = EXCLUDED.online_end,
        peak_online = GREATEST(stream_online_minutes.peak_online, EXCLUDED.peak_online)
    """
)


async def _pg_presence_rows(
    session: AsyncSession,
    stream_id: int,
    state: dict[str, list[Any]],
    minutes: dict[datetime, list[int]],
) -> None:
    viewers = sorted(state)
    await session.execute(
        _PG_VIEWER_PRESENCE,
        {
            "sid": stream_id,
            "vid": viewers,
            "since": [state[v][0] for v in viewers],
            "ms": [state[v][1] for v in viewers],
        },
    )
    keys = sorted(minutes)
    await session.execute(
        _PG_ONLINE_MINUTES,
        {
            "sid": stream_id,
            "minute": keys,
            "online_end": [minutes[k][0] for k in keys],
            "peak": [minutes[k][1] for k in keys],
        },
    )


async def _generic_presence_rows(
    session: AsyncSession,
    stream_id: int,
    state: dict[str, list[Any]],
    minutes: dict[datetime, list[int]],
) -> None:
    v_ins = dialect_insert(session, StreamViewerPresence)
    await session.execute(
        v_ins.on_conflict_do_update(
            index_elements=["stream_id", "viewer_id"],
            set_={
                "present_since": v_ins.excluded.present_since,
                "watch_ms": v_ins.excluded.watch_ms,
            },
        ),
        [
            {"stream_id": stream_id, "viewer_id": vid, "present_since": st[0], "watch_ms": st[1]}
            for vid, st in sorted(state.items())
        ],
    )
    m_ins = dialect_insert(session, StreamOnlineMinute)
    await session.execute(
        m_ins.on_conflict_do_update(
            index_elements=["stream_id", "minute"],
            set_={
                "online_end": m_ins.excluded.online_end,
                "peak_online": _greatest(
                    session, StreamOnlineMinute.peak_online, m_ins.excluded.peak_online
                ),
            },
        ),
        [
            {"stream_id": stream_id, "minute": m, "online_end": v[0], "peak_online": v[1]}
            for m, v in sorted(minutes.items())
        ],
    )


# ----------------------------------------------------------- PostgreSQL: fold in SQL
#
# On PostgreSQL the projection folds a range of log ids with one `INSERT … SELECT …
# GROUP BY … ON CONFLICT DO UPDATE` per rollup, aggregated by the server from the log
# rows themselves: no event crosses into Python for these sums. The same definitions
# as the Python folds above and `eventlog._viewer_rollup` / `_minute_rollup`: a count
# per event type in its column; units (quantity, default 1) and GMV of paid orders;
# refunded amounts; the viewer's first non-null source in log order.

_RANGE = "stream_id = :sid AND id > :after AND id <= :upto"


@functools.cache
def pg_fold_statement(
    table: str,
    keys: tuple[tuple[str, str], ...],
    p: Plan,
    extra: tuple[tuple[str, str, str], ...] = (),
    product_only: bool = False,
) -> Any:
    """`INSERT INTO table … SELECT … FROM stream_events WHERE <range> GROUP BY keys
    ON CONFLICT DO UPDATE` adding the plan's columns; `keys` are (column, SQL
    expression), `extra` (column, aggregate, merge) further columns. Only events of
    the plan's types make rows."""
    names = [k for k, _ in keys] + [e[0] for e in extra] + list(p.columns)
    selects = [expr for _, expr in keys] + [e[1] for e in extra]
    selects += [sql_sum(metric) for metric in p.metrics]
    types = ", ".join(f"'{t}'" for t in p.types)
    where = f"{_RANGE} AND type IN ({types})"
    if product_only:
        where += " AND product_id IS NOT NULL"
    group = ", ".join(str(i + 2) for i in range(len(keys)))
    sets = [f"{e[0]} = {e[2]}" for e in extra]
    sets += [f"{c} = {table}.{c} + EXCLUDED.{c}" for c in p.columns]
    return text(
        f"INSERT INTO {table} (stream_id, {', '.join(names)}) "
        f"SELECT :sid, {', '.join(selects)} FROM stream_events WHERE {where} "
        f"GROUP BY {group} ORDER BY {group} "
        f"ON CONFLICT (stream_id, {', '.join(k for k, _ in keys)}) "
        f"DO UPDATE SET {', '.join(sets)}"
    )


_MINUTE = "date_trunc('minute', ts)"
_SECOND = "date_trunc('second', ts)"


async def pg_fold_review_sums(session: AsyncSession, stream_id: int, after: int, upto: int) -> None:
    """The per-product-minute, per-product-second and per-second rollups of log ids
    (after, upto], on PostgreSQL."""
    params = {"sid": stream_id, "after": after, "upto": upto}
    for table, keys, p, product_only in (
        (
            "stream_product_minutes",
            (("product_id", "product_id"), ("minute", _MINUTE)),
            _PRODUCT_MINUTES,
            True,
        ),
        (
            "stream_product_seconds",
            (("product_id", "product_id"), ("second", _SECOND)),
            _PRODUCT_SECONDS,
            True,
        ),
        ("stream_seconds", (("second", _SECOND),), _SECONDS, False),
    ):
        await session.execute(pg_fold_statement(table, keys, p, product_only=product_only), params)


async def apply_presence(
    session: AsyncSession, stream_id: int, events: Sequence[EventLike]
) -> None:
    """Replay joins and leaves (in log order) into the presence rollups."""
    await _apply_presence(session, stream_id, [e for e in events if e.type in PRESENCE_TYPES])
