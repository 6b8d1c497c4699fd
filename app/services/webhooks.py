"""Outbound action webhooks: every control action and public event of a stream, signed,
to the endpoints the stream registered — durable, retried, in order, at least once.

How an event becomes a delivery (the one hook, `_capture` below): when a session
commits, the events it queued for the consoles (`app.realtime.outbox.queue_event`) and
the control actions it logged (`app.services.controls.log_action`) are written as
`webhook_deliveries` rows *in the same transaction* — a rolled-back request sends
nothing, a committed one cannot lose its deliveries. Each endpoint's row is locked while
its deliveries are numbered, so `seq` follows commit order.

The dispatcher (one per server) posts each endpoint's deliveries in `seq` order: the
next one waits until the one before is delivered or dead. A failure (non-2xx, timeout,
connection error) is retried after `webhook_backoff_seconds × 2^(tries-1)` (capped at
10 minutes); after `webhook_max_tries` it is dead (dead letter) and the queue moves on.
The same delivery keeps its id (`X-LCR-Delivery`) across retries: receivers de-duplicate
by it (at-least-once).

Signature recipe (receivers verify it):

    signed  = X-LCR-Timestamp + "." + raw request body
    X-LCR-Signature = "sha256=" + hex(HMAC-SHA256(webhook secret, signed))

Reject a request whose timestamp is more than 300 seconds from your clock
(`REPLAY_WINDOW_SECONDS`) and remember delivery ids for at least that long.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import structlog
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import Unprocessable
from app.models import (
    ControlAction,
    DeliveryStatus,
    LineupItem,
    Stream,
    User,
    Webhook,
    WebhookDelivery,
)
from app.realtime.outbox import OUTBOX_KEY, PendingEvent
from app.services.metrics import left_of
from app.services.stream_rows import get_in_stream
from app.services.woken import run_woken

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-LCR-Signature"
TIMESTAMP_HEADER = "X-LCR-Timestamp"
DELIVERY_HEADER = "X-LCR-Delivery"
EVENT_HEADER = "X-LCR-Event"
REPLAY_WINDOW_SECONDS = 300
MAX_BACKOFF_SECONDS = 600.0
NEW_ACTIONS_KEY = "lcr_new_actions"
STOCK_KEY = "lcr_webhooks_stock"
_CAPTURED_KEY = "lcr_webhooks_captured"
_KICK_KEY = "lcr_webhooks_kick"

# What an endpoint may subscribe to: `action.<name>` for each control action (the
# `control_actions` log), and the events a platform would mirror.
ACTIONS = (
    "list",
    "delist",
    "explain",
    "stock",
    "segment",
    "cue",
    "cue_ack",
    "incident",
    "incident_resolve",
    "lottery",
    "lottery_draw",
    "lottery_cancel",
    "flash_sale",
    "flash_sale_stop",
    "coupon",
    "pin",
    "unpin",
    "mute",
    "unmute",
)
PLATFORM_EVENTS = frozenset(
    {
        "product.listed",
        "product.delisted",
        "product.explaining",
        "flash_sale.scheduled",
        "flash_sale.started",
        "flash_sale.ended",
        "coupon.issued",
        "lottery.started",
        "lottery.drawn",
        "lottery.cancelled",
        "pin.changed",
        "viewer.muted",
        "viewer.unmuted",
        "stream.status",
        "comment.new",
        "comment.hidden",
        "comment.shown",
        "stock.changed",
    }
)
KNOWN_EVENTS = frozenset({"*", "action.*"} | {f"action.{a}" for a in ACTIONS} | PLATFORM_EVENTS)


def deliverable(event: PendingEvent) -> bool:
    """A public event (the watch page may see it) or one a platform mirrors."""
    if event.type == "lottery.drawn":
        # Announced twice (issue #19): to the staff with the winners' ids, to viewers
        # masked. The platform hands out the prizes: it gets the staff's.
        return event.roles is None or "viewer" not in event.roles
    if event.type in PLATFORM_EVENTS:
        # comment.new goes out twice (public, and blocked ones to moderators): only
        # the public one is for the platform.
        return event.roles is None or "viewer" in event.roles or event.type != "comment.new"
    return event.roles is not None and "viewer" in event.roles


def wants(subscribed: Iterable[str], event_type: str) -> bool:
    for name in subscribed:
        if name == "*" or name == event_type:
            return True
        if name == "action.*" and event_type.startswith("action."):
            return True
    return False


# --------------------------------------------------------------------------- signing


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The X-LCR-Signature value of `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    now: float | None = None,
    window: int = REPLAY_WINDOW_SECONDS,
) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > window:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


# --------------------------------------------------------------------------- SSRF guard


class UrlRefused(ValueError):
    pass


def _address_refused(addr: str) -> bool:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(addr.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # Loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (cloud
    # metadata at 169.254.169.254), shared (100.64/10), multicast, reserved, unspecified.
    return not ip.is_global or ip.is_multicast


async def check_url(url: str, allow_private: bool) -> None:
    """Refuse what is not http(s), and (unless allowed) any host that resolves to a
    loopback, private, link-local or otherwise internal address (SSRF). Checked when
    the endpoint is registered and again before every delivery (DNS may change)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("url must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise UrlRefused("url must not carry credentials")
    if allow_private:
        return
    host = parts.hostname
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"host {host!r} does not resolve") from exc
    for info in infos:
        addr = str(info[4][0])
        if _address_refused(addr):
            raise UrlRefused(
                f"host {host!r} resolves to {addr}, a loopback/private address "
                "(set WEBHOOK_ALLOW_PRIVATE=true to allow)"
            )


# --------------------------------------------------------------------------- endpoints


async def create_webhook(
    session: AsyncSession,
    stream: Stream,
    user: User,
    url: str,
    events: Sequence[str],
    description: str,
    allow_private: bool,
) -> Webhook:
    unknown = sorted(set(events) - KNOWN_EVENTS)
    if unknown:
        raise Unprocessable(
            f"unknown event type(s): {', '.join(unknown)}; use '*', 'action.*', "
            f"'action.<name>' or one of {', '.join(sorted(PLATFORM_EVENTS))}",
            code="unknown_event_type",
        )
    try:
        await check_url(url, allow_private)
    except UrlRefused as exc:
        raise Unprocessable(str(exc), code="webhook_url_refused") from exc
    row = Webhook(
        stream_id=stream.id,
        url=url,
        events=sorted(set(events)),
        secret="whsec_" + secrets.token_urlsafe(32),
        description=description,
        created_by=user.id,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return row


async def get_webhook(session: AsyncSession, stream_id: int, webhook_id: int) -> Webhook:
    return await get_in_stream(session, Webhook, stream_id, webhook_id, "webhook")


async def delete_webhook(session: AsyncSession, stream_id: int, webhook_id: int) -> None:
    row = await get_webhook(session, stream_id, webhook_id)
    await session.delete(row)
    await session.flush()


async def list_webhooks(session: AsyncSession, stream_id: int) -> list[dict[str, Any]]:
    """The stream's endpoints with their delivery figures (never the secret)."""
    hooks = (
        await session.scalars(
            select(Webhook).where(Webhook.stream_id == stream_id).order_by(Webhook.id)
        )
    ).all()
    figures: dict[int, dict[str, Any]] = {
        h.id: {"pending": 0, "delivered": 0, "dead": 0, "avg_latency_ms": None} for h in hooks
    }
    if hooks:
        rows = await session.execute(
            select(
                WebhookDelivery.webhook_id,
                WebhookDelivery.status,
                func.count(),
                func.avg(WebhookDelivery.latency_ms),
                func.max(WebhookDelivery.delivered_at),
            )
            .where(WebhookDelivery.webhook_id.in_(figures))
            .group_by(WebhookDelivery.webhook_id, WebhookDelivery.status)
        )
        for wid, status, count, avg, last in rows:
            fig = figures[wid]
            fig[str(status)] = int(count)
            if status == DeliveryStatus.delivered:
                fig["avg_latency_ms"] = round(float(avg)) if avg is not None else None
                fig["last_delivered_at"] = last
    return [
        {
            "id": h.id,
            "url": h.url,
            "events": h.events,
            "description": h.description,
            "created_at": h.created_at,
            "deliveries": figures[h.id],
        }
        for h in hooks
    ]


async def list_deliveries(
    session: AsyncSession,
    stream_id: int,
    webhook_id: int | None = None,
    status: DeliveryStatus | None = None,
    limit: int = 100,
) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.stream_id == stream_id)
    if webhook_id is not None:
        query = query.where(WebhookDelivery.webhook_id == webhook_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    rows = await session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit))
    return list(rows.all())


async def retry_delivery(
    session: AsyncSession, stream_id: int, delivery_id: int
) -> WebhookDelivery:
    """Give a dead delivery a fresh set of tries (it goes out again, same id)."""
    row = await get_in_stream(session, WebhookDelivery, stream_id, delivery_id, "delivery")
    if row.status != DeliveryStatus.dead:
        raise Unprocessable(
            f"delivery {delivery_id} is {row.status}; only a dead one can be retried",
            code="delivery_not_dead",
        )
    row.status = DeliveryStatus.pending
    row.tries = 0
    row.next_attempt_at = utcnow()
    await session.flush()
    session.info[_KICK_KEY] = True
    return row


# --------------------------------------------------------------------------- capture


def note_action(session: AsyncSession | Session, action: ControlAction) -> None:
    """Called by `log_action`: this control action goes out with the commit."""
    session.info.setdefault(NEW_ACTIONS_KEY, []).append(action)


def note_stock(session: AsyncSession | Session, stream_id: int, product_ids: Iterable[int]) -> None:
    """Called by `record_events`: orders moved these products' held units in this
    transaction (an ingested or connector order, a cancellation). The consoles hear
    `stock.changed` after the commit (app/services/ingest.announce_stock); endpoints get
    it from `_capture`, read inside the transaction, so it is numbered in commit order
    like every other delivery and a rolled-back order sends nothing."""
    touched: dict[int, set[int]] = session.info.setdefault(STOCK_KEY, {})
    touched.setdefault(stream_id, set()).update(product_ids)


def _stock_items(
    session: Session, stream_id: int, product_ids: set[int]
) -> list[tuple[int, str, dict[str, Any], int | None]]:
    """`stock.changed` of each touched lineup product, as this transaction sees it (its
    own order rows hold the lineup rows' locks, so the figures are the committed ones)."""
    rows = session.execute(
        select(LineupItem.product_id, LineupItem.allotted_stock, LineupItem.sold_units)
        .where(LineupItem.stream_id == stream_id, LineupItem.product_id.in_(product_ids))
        .order_by(LineupItem.position, LineupItem.id)
    ).all()
    out: list[tuple[int, str, dict[str, Any], int | None]] = []
    for product_id, allotted, sold in rows:
        left = left_of(allotted, sold)
        data = {
            "product_id": product_id,
            "stock_left": left,
            "allotted_stock": allotted,
            "sold_units": allotted - left,
        }
        out.append((stream_id, "stock.changed", data, None))
    return out


def action_body(action: ControlAction) -> dict[str, Any]:
    return {
        "action_id": action.id,
        "action": action.action,
        "product_id": action.product_id,
        "actor_id": action.actor_id,
        "detail": action.detail,
        "created_at": action.created_at.isoformat(),
    }


def _capture(session: Session) -> None:
    """Before a commit: the deliveries of what this transaction queued and logged."""
    queued: list[PendingEvent] = session.info.get(OUTBOX_KEY) or []
    actions: list[ControlAction] = session.info.pop(NEW_ACTIONS_KEY, None) or []
    captured: set[int] = session.info.setdefault(_CAPTURED_KEY, set())
    stock: dict[int, set[int]] = session.info.pop(STOCK_KEY, None) or {}
    events = [e for e in queued if id(e) not in captured and deliverable(e)]
    captured.update(id(e) for e in queued)
    if not events and not actions and not stock:
        return
    if actions:
        session.flush()  # the actions' ids
    items: list[tuple[int, str, dict[str, Any], int | None]] = []
    for a in actions:
        items.append((a.stream_id, f"action.{a.action}", action_body(a), a.id))
    for e in events:
        items.append((e.stream_id, e.type, e.data, None))
    stream_ids = sorted({i[0] for i in items} | set(stock))
    hooks = session.execute(
        select(Webhook.id, Webhook.stream_id, Webhook.events)
        .where(Webhook.stream_id.in_(stream_ids))
        .order_by(Webhook.id)
    ).all()
    if not hooks:
        return
    for stream_id, product_ids in sorted(stock.items()):
        if any(sid == stream_id and wants(sub, "stock.changed") for _, sid, sub in hooks):
            items.extend(_stock_items(session, stream_id, product_ids))
    now = utcnow()
    rows: list[dict[str, Any]] = []
    pending_actions: set[int] = set()
    for hook_id, stream_id, subscribed in hooks:
        mine = [i for i in items if i[0] == stream_id and wants(subscribed, i[1])]
        if not mine:
            continue
        # Locks the endpoint's row until commit: numbering follows commit order.
        last = session.execute(
            update(Webhook)
            .where(Webhook.id == hook_id)
            .values(next_seq=Webhook.next_seq + len(mine))
            .returning(Webhook.next_seq)
        ).scalar_one()
        first = last - len(mine) + 1
        for n, (sid, kind, data, action_id) in enumerate(mine):
            uid = uuid.uuid4().hex
            rows.append(
                {
                    "uid": uid,
                    "webhook_id": hook_id,
                    "stream_id": sid,
                    "seq": first + n,
                    "event_type": kind,
                    "body": {
                        "id": uid,
                        "type": kind,
                        "stream_id": sid,
                        "ts": now.isoformat(),
                        "data": data,
                    },
                    "action_id": action_id,
                    "status": DeliveryStatus.pending,
                    "tries": 0,
                    "last_error": "",
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
            if action_id is not None:
                pending_actions.add(action_id)
    if rows:
        session.execute(insert(WebhookDelivery), rows)
        session.info[_KICK_KEY] = True
    if pending_actions:
        session.execute(
            update(ControlAction)
            .where(ControlAction.id.in_(pending_actions), ControlAction.platform_status.is_(None))
            .values(platform_status="pending")
            .execution_options(synchronize_session=False)
        )


_dispatchers: set[WebhookDispatcher] = set()


def _after_commit(session: Session) -> None:
    session.info.pop(_CAPTURED_KEY, None)
    if session.info.pop(_KICK_KEY, False):
        for dispatcher in list(_dispatchers):
            dispatcher.kick()


def _after_rollback(session: Session) -> None:
    for key in (_CAPTURED_KEY, _KICK_KEY, NEW_ACTIONS_KEY, STOCK_KEY):
        session.info.pop(key, None)


def _after_soft_rollback(session: Session, previous: Any) -> None:
    if not previous.nested:  # a savepoint's rollback keeps the outer transaction's work
        _after_rollback(session)


_SESSION_HOOKS = (
    ("before_commit", _capture),
    ("after_commit", _after_commit),
    ("after_soft_rollback", _after_soft_rollback),
)


def install_session_hooks() -> None:
    """Capture every committed transaction's events and actions as deliveries. Called
    once at start-up by whatever writes to the database (the app's lifespan, the CLI
    commands that change streams), not at import time; calling it again changes nothing."""
    for name, fn in _SESSION_HOOKS:
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)


# --------------------------------------------------------------------------- results


async def record_result(
    session: AsyncSession, stream_id: int, action_id: int, status: str, message: str
) -> ControlAction:
    """A receiver reports whether the platform really did the action."""
    action = await get_in_stream(
        session, ControlAction, stream_id, action_id, "action", for_update=True
    )
    action.platform_status = status
    action.platform_message = message
    action.platform_result_at = utcnow()
    await session.flush()
    return action


# --------------------------------------------------------------------------- dispatcher


@dataclass(frozen=True)
class DispatchSettings:
    allow_private: bool = False
    timeout: float = 5.0
    max_tries: int = 8
    backoff: float = 5.0
    poll: float = 1.0
    lease: float = 60.0


def backoff_after(tries: int, base: float) -> float:
    return float(min(MAX_BACKOFF_SECONDS, base * 2 ** max(0, tries - 1)))


class WebhookDispatcher:
    """Delivers the due deliveries of every endpoint; safe with several servers (an
    endpoint is claimed for a lease while one server works through its queue)."""

    def __init__(self, maker: async_sessionmaker[AsyncSession], conf: DispatchSettings) -> None:
        self.maker = maker
        self.conf = conf
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: dict[int, asyncio.Task[None]] = {}
        self._owner = uuid.uuid4().hex
        self._client: httpx.AsyncClient | None = None

    def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.conf.timeout, follow_redirects=False)
        self._task = asyncio.create_task(self._loop(), name="webhook-dispatcher")
        _dispatchers.add(self)

    def kick(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        _dispatchers.discard(self)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    async def _loop(self) -> None:
        await run_woken(self._wake, self.conf.poll, self.run_once, "webhook_dispatch_failed")

    async def run_once(self) -> None:
        """Start a worker for each endpoint that has a due delivery (and none running)."""
        now = utcnow()
        async with self.maker() as session:
            due = (
                await session.scalars(
                    select(WebhookDelivery.webhook_id)
                    .where(
                        WebhookDelivery.status == DeliveryStatus.pending,
                        WebhookDelivery.next_attempt_at <= now,
                    )
                    .distinct()
                    .limit(200)
                )
            ).all()
        for webhook_id in due:
            if webhook_id in self._running:
                continue
            task = asyncio.create_task(self._drain(webhook_id))
            self._running[webhook_id] = task
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        for webhook_id, running in list(self._running.items()):
            if running is task:
                del self._running[webhook_id]

    async def _claim(self, webhook_id: int, release: bool = False) -> bool:
        now = utcnow()
        async with self.maker() as session:
            if release:
                await session.execute(
                    update(Webhook).where(Webhook.id == webhook_id).values(claimed_until=None)
                )
                await session.commit()
                return True
            result = await session.execute(
                update(Webhook)
                .where(
                    Webhook.id == webhook_id,
                    (Webhook.claimed_until.is_(None)) | (Webhook.claimed_until < now),
                )
                .values(claimed_until=now + timedelta(seconds=self.conf.lease))
            )
            await session.commit()
            return bool(getattr(result, "rowcount", 0))

    async def _drain(self, webhook_id: int) -> None:
        if not await self._claim(webhook_id):
            return
        started = time.monotonic()
        try:
            while time.monotonic() - started < self.conf.lease / 2:
                async with self.maker() as session:
                    hook = await session.get(Webhook, webhook_id)
                    head = await session.scalar(
                        select(WebhookDelivery)
                        .where(
                            WebhookDelivery.webhook_id == webhook_id,
                            WebhookDelivery.status == DeliveryStatus.pending,
                        )
                        .order_by(WebhookDelivery.seq)
                        .limit(1)
                    )
                if hook is None or head is None or head.next_attempt_at > utcnow():
                    return
                ok = await self._attempt(hook, head)
                if not ok:
                    return  # the rest wait behind it: order per endpoint
        finally:
            await self._claim(webhook_id, release=True)
            # Deliveries that became due meanwhile (a retry) are picked up by the loop.
            self.kick()

    async def _attempt(self, hook: Webhook, delivery: WebhookDelivery) -> bool:
        """POST one delivery; record the outcome. True when the queue may move on."""
        body = orjson.dumps(delivery.body)
        ts = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "LiveControlRoom-Webhooks/1",
            DELIVERY_HEADER: delivery.uid,
            TIMESTAMP_HEADER: str(ts),
            SIGNATURE_HEADER: sign(hook.secret, ts, body),
            EVENT_HEADER: delivery.event_type,
        }
        error = ""
        code: int | None = None
        t0 = time.monotonic()
        try:
            await check_url(hook.url, self.conf.allow_private)
            assert self._client is not None
            response = await self._client.post(hook.url, content=body, headers=headers)
            code = response.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}"
        except UrlRefused as exc:
            error = f"refused: {exc}"
        except httpx.TimeoutException:
            error = f"timed out after {self.conf.timeout:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        latency = round((time.monotonic() - t0) * 1000)
        tries = delivery.tries + 1
        now = utcnow()
        values: dict[str, Any] = {
            "tries": tries,
            "last_status_code": code,
            "latency_ms": latency,
            "last_error": error[:500],
        }
        if not error:
            values.update(status=DeliveryStatus.delivered, delivered_at=now)
        elif tries >= self.conf.max_tries or error.startswith("refused"):
            values.update(status=DeliveryStatus.dead)
        else:
            values.update(
                next_attempt_at=now + timedelta(seconds=backoff_after(tries, self.conf.backoff))
            )
        async with self.maker() as session:
            await session.execute(
                update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values)
            )
            await session.commit()
        if error:
            log.info(
                "webhook_delivery_failed",
                webhook_id=hook.id,
                delivery=delivery.uid,
                tries=tries,
                error=error,
                dead=values.get("status") == DeliveryStatus.dead,
            )
        return values.get("status") is not None


def dispatch_settings(settings: Any) -> DispatchSettings:
    return DispatchSettings(
        allow_private=settings.webhook_allow_private,
        timeout=settings.webhook_timeout_seconds,
        max_tries=settings.webhook_max_tries,
        backoff=settings.webhook_backoff_seconds,
        poll=settings.webhook_poll_seconds,
    )
