"""Alerts for the control console: a pure evaluator, and episode persistence.

`evaluate(prev, metrics, state, thresholds)` is a pure function: given the previous and
the current metrics point, the evaluator's state (short histories and the set of
conditions that are currently true) and the stream's thresholds, it returns the alerts
to raise, the conditions that stopped, and the next state. An alert fires once per
*episode*: when its condition becomes true; it is resolved when the condition stops;
it fires again only when the condition starts anew.

Persistence makes that hold across instances too: at most one open alert per stream
and condition key (a partial unique index), so two instances that evaluate the same
stream raise it once. The ticker calls `AlertEngine.observe`; actions that change
stock call `check_stock` inside their own transaction.

Rules (set a threshold to 0 to turn its rule off):

* `online_drop` — online viewers fell by ≥ `online_drop_pct` % from the peak of the
  last `online_drop_window_seconds`, when that peak was ≥ `online_drop_min_online`.
* `click_spike:<product>` — while a product is explained, its clicks in the last
  `click_window_seconds` are ≥ `click_spike_min_clicks` and their rate is ≥
  `click_spike_factor` × its rate over the minute before (时机: extend, add an offer).
* `stock_low:<product>` — a listed product's stock left ≤ `stock_low_units` or ≤
  `stock_low_pct` % of its allotment; `sold_out:<product>` — none left.
* `negative_spike` — ≥ `negative_spike_count` negative comments within
  `negative_window_seconds` (the count comes from the incremental per-stream counter
  that comment intake keeps, the `CommentCounts` port of app/realtime/ports.py).
* `question_wait` — the oldest unanswered question has waited ≥ `question_wait_seconds`,
  or, while that is unset (None), ≥ the stream's service-queue SLA.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import dialect_insert, utcnow
from app.i18n import lang_of
from app.models import (
    Alert,
    AlertLevel,
    AlertThresholds,
    LineupItem,
    ListingStatus,
)
from app.realtime.outbox import PendingEvent, queue_event
from app.realtime.snapshot import SnapshotContext, as_response
from app.realtime.state import Live
from app.schemas.alerts import AlertOut
from app.services.alert_views import alert_views
from app.services.queue_state import alert_inputs
from app.services.stream_rows import get_in_stream
from app.services.uow import UnitOfWork

CONSOLE_ROLES = frozenset({"admin", "controller"})
WITH_HOST = CONSOLE_ROLES | {"host"}
CLICK_BASELINE_SECONDS = 60.0
DEFAULT_QUESTION_WAIT_SECONDS = 120  # when neither the thresholds nor an SLA say

# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Thresholds:
    """A stream's thresholds; the defaults are those of a stream that set none."""

    enabled: bool = True
    online_drop_pct: int = 30
    online_drop_window_seconds: int = 60
    online_drop_min_online: int = 20
    click_spike_factor: float = 3.0
    click_spike_min_clicks: int = 20
    click_window_seconds: int = 10
    stock_low_units: int = 10
    stock_low_pct: int = 10
    negative_spike_count: int = 10
    negative_window_seconds: int = 60
    question_wait_seconds: int | None = None  # None: the stream's service-queue SLA

    @classmethod
    def from_row(cls, row: AlertThresholds | None) -> Thresholds:
        if row is None:
            return cls()
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class StockLevel:
    left: int
    allotted: int


@dataclass(frozen=True)
class Metrics:
    """One observation of a live stream, as the evaluator needs it."""

    ts: float  # seconds (any monotonic origin, same for the whole sequence)
    online: int = 0
    explaining_product_id: int | None = None
    product_clicks: Mapping[int, int] = field(default_factory=dict)  # cumulative
    stock: Mapping[int, StockLevel] = field(default_factory=dict)  # listed products
    negative_comments: int = 0  # cumulative
    oldest_question_wait_seconds: float | None = None
    question_sla_seconds: int | None = None  # the stream's service-queue SLA


@dataclass(frozen=True)
class AlertState:
    online_history: tuple[tuple[float, int], ...] = ()
    click_product: int | None = None
    click_history: tuple[tuple[float, int], ...] = ()
    negative_history: tuple[tuple[float, int], ...] = ()
    active: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RaisedAlert:
    key: str
    kind: str
    level: AlertLevel
    message: str
    data: dict[str, Any]
    roles: frozenset[str] = CONSOLE_ROLES


@dataclass(frozen=True)
class Evaluation:
    raised: list[RaisedAlert]
    cleared: list[str]
    state: AlertState


# ----------------------------------------------------------------------------- evaluator


def _trim(
    history: tuple[tuple[float, int], ...], now: float, keep: float
) -> tuple[tuple[float, int], ...]:
    """The samples of the last `keep` seconds, plus the one just before (to interpolate)."""
    cutoff = now - keep
    first = 0
    for i, (ts, _) in enumerate(history):
        if ts < cutoff:
            first = i
        else:
            break
    return history[first:]


def _value_at(history: tuple[tuple[float, int], ...], t: float) -> float:
    """A cumulative value at time t, interpolated between the samples around it.

    Ticks are not evenly spaced (a slow tick, a restart), so a rate over a window is
    taken from interpolated values at its ends rather than from the nearest samples.
    """
    if t <= history[0][0]:
        return float(history[0][1])
    for (t0, v0), (t1, v1) in itertools.pairwise(history):
        if t0 <= t <= t1:
            return v0 + (v1 - v0) * ((t - t0) / (t1 - t0)) if t1 > t0 else float(v1)
    return float(history[-1][1])


def _online_drop(
    history: tuple[tuple[float, int], ...], m: Metrics, th: Thresholds
) -> RaisedAlert | None:
    window = [v for ts, v in history if ts >= m.ts - th.online_drop_window_seconds]
    if th.online_drop_pct <= 0 or not window:
        return None
    peak = max(window)
    if peak < max(th.online_drop_min_online, 1):
        return None
    drop_pct = (peak - m.online) * 100 / peak
    if drop_pct < th.online_drop_pct:
        return None
    return RaisedAlert(
        key="online_drop",
        kind="online_drop",
        level=AlertLevel.warning,
        message=(f"在线人数下降 {drop_pct:.0f}%（{peak} → {m.online}）：考虑发福利或切换话题"),
        data={"peak": peak, "online": m.online, "drop_pct": round(drop_pct, 1)},
        roles=WITH_HOST,
    )


def _click_spike(
    history: tuple[tuple[float, int], ...], m: Metrics, th: Thresholds
) -> RaisedAlert | None:
    product = m.explaining_product_id
    if product is None or th.click_spike_factor <= 0 or len(history) < 2:
        return None
    window = float(max(th.click_window_seconds, 1))
    recent = round(history[-1][1] - _value_at(history, m.ts - window))
    if recent < max(th.click_spike_min_clicks, 1):
        return None
    base_start = max(history[0][0], m.ts - window - CLICK_BASELINE_SECONDS)
    base_span = (m.ts - window) - base_start
    baseline_rate = 0.0
    if base_span > 0:
        baseline = _value_at(history, m.ts - window) - _value_at(history, base_start)
        baseline_rate = baseline / base_span
    recent_rate = recent / window
    if recent_rate < th.click_spike_factor * baseline_rate:
        return None
    return RaisedAlert(
        key=f"click_spike:{product}",
        kind="click_spike",
        level=AlertLevel.info,
        message=f"讲解中商品点击激增：{int(window)} 秒内 {recent} 次点击，可延长讲解并加码优惠",
        data={
            "product_id": product,
            "clicks": recent,
            "window_seconds": int(window),
            "baseline_per_minute": round(baseline_rate * 60, 1),
        },
        roles=WITH_HOST,
    )


def stock_alerts(product_id: int, level: StockLevel, th: Thresholds) -> list[RaisedAlert]:
    """Stock conditions of one product (also used on stock events, without a ticker)."""
    out = []
    low = level.left <= th.stock_low_units or (
        th.stock_low_pct > 0 and level.left * 100 <= th.stock_low_pct * level.allotted
    )
    data = {"product_id": product_id, "stock_left": level.left, "allotted": level.allotted}
    if low:
        out.append(
            RaisedAlert(
                key=f"stock_low:{product_id}",
                kind="stock_low",
                level=AlertLevel.warning,
                message=f"库存紧张：商品 {product_id} 仅剩 {level.left} 件",
                data=data,
                roles=WITH_HOST,
            )
        )
    if level.left <= 0:
        out.append(
            RaisedAlert(
                key=f"sold_out:{product_id}",
                kind="sold_out",
                level=AlertLevel.critical,
                message=f"已售罄：商品 {product_id}，考虑下架或补货",
                data=data,
                roles=WITH_HOST,
            )
        )
    return out


def _negative_spike(
    history: tuple[tuple[float, int], ...], m: Metrics, th: Thresholds
) -> RaisedAlert | None:
    if th.negative_spike_count <= 0 or not history:
        return None
    count = round(m.negative_comments - _value_at(history, m.ts - th.negative_window_seconds))
    if count < th.negative_spike_count:
        return None
    return RaisedAlert(
        key="negative_spike",
        kind="negative_spike",
        level=AlertLevel.warning,
        message=f"负面评论激增：{th.negative_window_seconds} 秒内 {count} 条，注意舆情引导",
        data={"count": count, "window_seconds": th.negative_window_seconds},
    )


def _question_wait(m: Metrics, th: Thresholds) -> RaisedAlert | None:
    wait = m.oldest_question_wait_seconds
    limit = th.question_wait_seconds
    if limit is None:
        limit = m.question_sla_seconds or DEFAULT_QUESTION_WAIT_SECONDS
    if limit <= 0 or wait is None or wait < limit:
        return None
    return RaisedAlert(
        key="question_wait",
        kind="question_wait",
        level=AlertLevel.warning,
        message=f"有观众问题已等待 {int(wait)} 秒未回复",
        data={"waiting_seconds": int(wait), "limit_seconds": limit},
    )


def evaluate(
    prev: Metrics | None, metrics: Metrics, state: AlertState, thresholds: Thresholds
) -> Evaluation:
    """Alerts whose condition starts now, conditions that stopped, and the next state."""
    m, th = metrics, thresholds
    if prev is not None and m.ts < prev.ts:
        return Evaluation([], [], state)  # out-of-order point: ignore it
    online_history = _trim(
        (*state.online_history, (m.ts, m.online)), m.ts, th.online_drop_window_seconds
    )
    keep_clicks = th.click_window_seconds + CLICK_BASELINE_SECONDS
    click_product = m.explaining_product_id
    click_history: tuple[tuple[float, int], ...] = ()
    if click_product is not None:
        previous = state.click_history if state.click_product == click_product else ()
        clicks = m.product_clicks.get(click_product, 0)
        click_history = _trim((*previous, (m.ts, clicks)), m.ts, keep_clicks)
    negative_history = _trim(
        (*state.negative_history, (m.ts, m.negative_comments)),
        m.ts,
        th.negative_window_seconds + 1,
    )
    new_state = AlertState(online_history, click_product, click_history, negative_history)
    if not th.enabled:
        return Evaluation([], sorted(state.active), new_state)

    current: list[RaisedAlert] = []
    for candidate in (
        _online_drop(online_history, m, th),
        _click_spike(click_history, m, th),
        _negative_spike(negative_history, m, th),
        _question_wait(m, th),
    ):
        if candidate is not None:
            current.append(candidate)
    for product_id, level in sorted(m.stock.items()):
        current.extend(stock_alerts(product_id, level, th))

    keys = frozenset(a.key for a in current)
    raised = [a for a in current if a.key not in state.active]
    cleared = sorted(state.active - keys)
    return Evaluation(raised, cleared, replace(new_state, active=keys))


# ----------------------------------------------------------------------------- persistence


async def get_thresholds(session: AsyncSession, stream_id: int) -> Thresholds:
    return Thresholds.from_row(await session.get(AlertThresholds, stream_id))


def alert_payload(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "key": alert.key,
        "level": str(alert.level),
        "message": alert.message,
        "code": f"alert.{alert.kind}",
        "params": alert.data,
        "data": alert.data,
        "created_at": alert.created_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
    }


async def persist(
    session: AsyncSession, stream_id: int, raised: Iterable[RaisedAlert], cleared: Iterable[str]
) -> list[PendingEvent]:
    """Open the raised episodes and close the cleared ones; return what to announce.

    An episode already open (raised by another instance, or by a stock event) is left
    alone and not announced again.
    """
    out: list[PendingEvent] = []
    now = utcnow()
    for alert in raised:
        stmt = (
            dialect_insert(session, Alert)
            .values(
                stream_id=stream_id,
                kind=alert.kind,
                key=alert.key,
                level=alert.level,
                message=alert.message,
                data=alert.data,
                created_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=["stream_id", "key"], index_where=text("resolved_at IS NULL")
            )
            .returning(Alert.id)
        )
        alert_id = (await session.execute(stmt)).scalar_one_or_none()
        if alert_id is None:
            continue
        row = await session.get(Alert, alert_id)
        assert row is not None
        out.append(PendingEvent(stream_id, "alert", alert_payload(row), alert.roles))
    keys = list(cleared)
    if keys:
        result = await session.execute(
            update(Alert)
            .where(Alert.stream_id == stream_id, Alert.key.in_(keys), Alert.resolved_at.is_(None))
            .values(resolved_at=now)
            .returning(Alert.id, Alert.key, Alert.kind)
        )
        for alert_id, key, kind in result.all():
            data = {
                "id": alert_id,
                "key": key,
                "kind": kind,
                "code": f"alert.{kind}",
                "resolved_at": now.isoformat(),
            }
            out.append(PendingEvent(stream_id, "alert.resolved", data, CONSOLE_ROLES | {"host"}))
    await session.flush()
    return out


async def check_stock(session: AsyncSession, stream_id: int, item: LineupItem) -> None:
    """Evaluate one product's stock alerts now (after a stock change or an order).

    Stateless: the open episodes in the database are the state, so this agrees with
    the ticker's evaluation whichever runs first.
    """
    th = await get_thresholds(session, stream_id)
    current: list[RaisedAlert] = []
    if th.enabled and item.status == ListingStatus.listed:
        level = StockLevel(item.allotted_stock - item.sold_units, item.allotted_stock)
        current = stock_alerts(item.product_id, level, th)
    keys = {f"stock_low:{item.product_id}", f"sold_out:{item.product_id}"}
    still = {a.key for a in current}
    for event in await persist(session, stream_id, current, sorted(keys - still)):
        queue_event(session, event.stream_id, event.type, event.data, event.roles)


async def list_alerts(session: AsyncSession, stream_id: int, *, open_only: bool) -> list[Alert]:
    query = select(Alert).where(Alert.stream_id == stream_id)
    if open_only:
        query = query.where(Alert.resolved_at.is_(None))
    return list((await session.scalars(query.order_by(Alert.id.desc()).limit(500))).all())


# ----------------------------------------------------------------------------- engine


@dataclass
class _StreamState:
    prev: Metrics | None = None
    state: AlertState = field(default_factory=AlertState)
    thresholds: Thresholds = field(default_factory=Thresholds)
    thresholds_at: float = -1e9


class AlertEngine:
    """Runs `evaluate` for each live stream from the ticker and persists the result.

    One per process; its state is only the short histories. Duplicate raises from
    several processes are absorbed by the open-episode index.
    """

    def __init__(self, thresholds_ttl: float = 2.0) -> None:
        self._streams: dict[int, _StreamState] = {}
        self._ttl = thresholds_ttl

    def forget(self, stream_id: int) -> None:
        self._streams.pop(stream_id, None)

    async def observe(
        self,
        maker: async_sessionmaker[AsyncSession],
        live: Live,
        stream_id: int,
        metrics: Metrics,
    ) -> list[PendingEvent]:
        """Evaluate one metrics point; commit and announce what it raised or resolved."""
        st = self._streams.setdefault(stream_id, _StreamState())
        if time.monotonic() - st.thresholds_at > self._ttl:
            async with maker() as session:
                st.thresholds = await get_thresholds(session, stream_id)
            st.thresholds_at = time.monotonic()
        result = evaluate(st.prev, metrics, st.state, st.thresholds)
        st.prev, st.state = metrics, result.state
        if not result.raised and not result.cleared:
            return []
        async with UnitOfWork.begin(maker, live) as uow:
            events = await persist(uow.session, stream_id, result.raised, result.cleared)
            for e in events:
                uow.emit(e.stream_id, e.type, e.data, e.roles)
        return events


async def stock_levels(session: AsyncSession, stream_id: int) -> dict[int, StockLevel]:
    """Stock of the listed products, for building a `Metrics` point from the database."""
    rows = await session.execute(
        select(LineupItem.product_id, LineupItem.allotted_stock, LineupItem.sold_units).where(
            LineupItem.stream_id == stream_id, LineupItem.status == ListingStatus.listed
        )
    )
    return {pid: StockLevel(allotted - sold, allotted) for pid, allotted, sold in rows.all()}


async def set_thresholds(
    session: AsyncSession, stream_id: int, values: dict[str, Any], actor_id: int
) -> AlertThresholds:
    row = await session.get(AlertThresholds, stream_id)
    if row is None:
        row = AlertThresholds(stream_id=stream_id)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_by = actor_id
    row.updated_at = utcnow()
    await session.flush()
    return row


async def ack_alert(session: AsyncSession, stream_id: int, alert_id: int, actor_id: int) -> Alert:
    alert = await get_in_stream(session, Alert, stream_id, alert_id, "alert")
    if alert.acked_at is None:
        alert.acked_at = utcnow()
        alert.acked_by = actor_id
        await session.flush()
    return alert


# ----------------------------------------------------------------------------- from the ticker


async def metrics_point(
    session: AsyncSession,
    live: Live,
    stream_id: int,
    metrics: Mapping[str, Any],
    ts: float,
) -> Metrics:
    """A `Metrics` point from the contract's live `metrics` object plus the lineup."""
    rows = await session.execute(
        select(
            LineupItem.product_id,
            LineupItem.status,
            LineupItem.explaining,
            LineupItem.allotted_stock,
            LineupItem.sold_units,
        ).where(LineupItem.stream_id == stream_id)
    )
    products = {int(p["product_id"]): p for p in metrics.get("products", [])}
    explaining = None
    stock: dict[int, StockLevel] = {}
    for pid, status, is_explaining, allotted, sold in rows.all():
        if is_explaining:
            explaining = pid
        if status == ListingStatus.listed:
            left = products.get(pid, {}).get("stock_left")
            stock[pid] = StockLevel(int(left) if left is not None else allotted - sold, allotted)
    # What the live metrics do not carry: negative comments, the oldest question's wait.
    extras = await alert_inputs(session, live, stream_id)
    return Metrics(
        ts=ts,
        online=int(metrics.get("online", 0)),
        explaining_product_id=explaining,
        product_clicks={pid: int(p.get("clicks", 0)) for pid, p in products.items()},
        stock=stock,
        negative_comments=int(extras.get("negative_comments", 0)),
        oldest_question_wait_seconds=extras.get("oldest_question_wait_seconds"),
        question_sla_seconds=extras.get("question_sla_seconds"),
    )


async def observe_live_metrics(
    engine: AlertEngine,
    maker: async_sessionmaker[AsyncSession],
    live: Live,
    stream_id: int,
    metrics: Mapping[str, Any],
    ts: float | None = None,
) -> list[PendingEvent]:
    """What the ticker calls (about once a second): evaluate and announce alerts."""
    async with maker() as session:
        point = await metrics_point(
            session, live, stream_id, metrics, time.monotonic() if ts is None else ts
        )
    return await engine.observe(maker, live, stream_id, point)


async def alerts_part(ctx: SnapshotContext) -> Any:
    """The open alerts as GET /alerts?open=true answers them (the teleprompter seeds that
    query with it), for every role: the host's REST list has every kind too. Worded in
    the default language (the snapshot is shared); the consoles word alerts by `code`."""
    rows = await list_alerts(ctx.session, ctx.stream.id, open_only=True)
    return as_response(list[AlertOut], await alert_views(ctx.session, rows, lang_of(None)))
