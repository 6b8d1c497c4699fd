"""The sold-out answer of a flash sale, before everything else in the app.

In a flash sale (秒杀) almost every attempt is refused: 20,000 viewers for 500 units
means 19,500 `409 sold_out`. Through FastAPI each refusal costs ~4 ms of CPU (routing
over ~200 routes, dependency resolution, a database session that is opened and rolled
back, pydantic), while the decision itself is one stock-book call (one Redis script in
production). This ASGI middleware, the outermost of the app's own, answers exactly those
requests itself:

* `POST /api/v1/streams/{id}/orders` with a viewer token of that stream (or the
  stream's `X-Ingest-Key`, believed when verified within the last
  `INGEST_KEY_CACHE_SECONDS`, else verified here with one query per key at a time
  that holds no request's connection, and a `viewer_id` in the body), an `Idempotency-Key`
  and a plain body (`product_id`, `quantity`, optional `flash_sale_id`, each valid as
  `OrderCreate` would check it);
* the read-only `PEEK` script says the order would be `sold_out` (or its flash sale is
  over) — it answers `go` for a key it already knows, so a retry of a placed order
  still gets its order back from the full path. Concurrent peeks share one script call
  (`StockBook.peek`; in Redis one PEEK script call).

When PEEK says `go`, the order goes to the full path, but no more of them at a time
per product than the units PEEK saw left: the rest wait at the door (holding no
database connection) until one of those inside is answered or `GATE_POLL_SECONDS`
pass, and peek again. In a burst of 200 for the last 50 units, 50 go in and the other
150 are refused here once the 50 have taken the stock, instead of each costing the
full path several times a fast refusal's CPU to be refused there. While a product has
no stock-book mirror yet (the first order after a start builds it), one order goes in
at a time. After `GATE_WAIT_SECONDS` a waiting order goes in regardless (the full path
still decides every order).

Then it sends the same 409 body the full path sends, with the same `X-Request-ID`
(echoed or made up), and counts and logs it as `RequestContextMiddleware` does (same
Prometheus series and log line) plus `lcr_order_fast_refusals_total`. A refusal costs
the server ~110 µs of CPU in all, uvicorn's ~25 µs included (BENCHMARKS.md; inside the
request-id middleware, with a PyJWT decode and an EVALSHA each, it was ~360 µs).

Anything else (wrong ingest keys, staff tokens, coupons, addresses, bad input,
a Redis error) goes on to the request-id middleware and the ordinary endpoint
untouched, body included; its viewer token is then verified again from the token cache
(app/security.py). It never takes stock, so the no-oversell guarantees are the full
path's alone.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.deps import ingest_key_for_fast_path, viewer_from_token
from app.observability import HTTP_LATENCY, HTTP_REQUESTS
from app.realtime.ports import StockBook
from app.schemas.orders import MAX_UNITS_PER_ORDER
from app.services.orders import sold_out

_PATH = re.compile(r"^/api/v1/streams/([1-9][0-9]{0,17})/orders$")
_FIELDS = frozenset({"product_id", "quantity", "flash_sale_id"})
_INGEST_FIELDS = _FIELDS | {"viewer_id"}
MAX_BODY = 4096
GATE_POLL_SECONDS = 0.05  # a waiting order peeks again after this long at most
GATE_WAIT_SECONDS = 2.0  # then it goes to the full path regardless
ROUTE = "/api/v1/streams/{stream_id}/orders"  # the endpoint's route, as metrics label it

FAST_REFUSALS = Counter(
    "lcr_order_fast_refusals_total",
    "Orders refused as sold out before FastAPI's routing (flash-sale fast path)",
)
_REQUESTS_409 = HTTP_REQUESTS.labels("POST", ROUTE, "409")
_LATENCY = HTTP_LATENCY.labels("POST", ROUTE)


def _answer(detail: str | None) -> tuple[bytes, bytes]:
    """The full path's 409 body for this refusal, and its Content-Length."""
    error = sold_out() if detail is None else sold_out(detail)
    body = orjson.dumps({"detail": error.detail, "code": error.code, **error.extra})
    return body, str(len(body)).encode()


_ANSWERS = {"sold_out": _answer(None), "flash_over": _answer("this flash sale is over")}
_CONTENT_TYPE = (b"content-type", b"application/json")


def _positive_int(value: Any) -> bool:
    return type(value) is int and value > 0


@dataclass(slots=True)
class _Ask:
    """An order the fast path may answer: its stock script and what it asks."""

    rs: StockBook
    stream_id: int
    product_id: int
    key: str
    quantity: int
    flash_id: int | None


class _Door:
    """The orders of one product that PEEK let through and the full path is deciding."""

    __slots__ = ("changed", "inside", "waiting")

    def __init__(self) -> None:
        self.inside = 0  # units asked by the orders inside
        self.waiting = 0
        self.changed: asyncio.Future[None] | None = None  # resolved when one leaves


class OrderFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = structlog.get_logger("http")
        self._doors: dict[tuple[int, int], _Door] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = _PATH.match(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        # Read the body once; whatever we decide, the endpoint may still need it.
        chunks: list[bytes] = []
        size = 0
        more = True
        disconnect: Message | None = None
        while more:
            message = await receive()
            if message["type"] != "http.request":
                disconnect = message
                break
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = bool(message.get("more_body", False))
            if size > MAX_BODY:
                break
        body = b"".join(chunks)
        if disconnect is None and not more:
            headers = dict(scope["headers"])
            ask = await self._ask(scope, headers, int(match.group(1)), body)
            outcome = None if ask is None else await self._decide(ask)
            if outcome in _ANSWERS:
                assert isinstance(outcome, str)
                await self._refuse(scope, headers, send, outcome, start)
                return
            if isinstance(outcome, tuple):  # let in: the full path decides
                try:
                    await self.app(scope, _replay(body, more, disconnect, receive), send)
                finally:
                    self._leave(outcome, ask.quantity if ask is not None else 0)
                return
        await self.app(scope, _replay(body, more, disconnect, receive), send)

    async def _decide(self, ask: _Ask) -> str | tuple[int, int] | None:
        """'sold_out' / 'flash_over' to refuse; the door's key once let in through it;
        None for the full path without the door (PEEK could not tell, or failed)."""
        door_key = (ask.stream_id, ask.product_id)
        deadline = 0.0
        while True:
            try:
                outcome, left = await ask.rs.peek_left(
                    ask.stream_id, ask.product_id, ask.key, ask.quantity, ask.flash_id
                )
            except Exception:
                return None  # the full path gives the proper answer (Redis errors)
            if outcome in _ANSWERS:
                return outcome
            if left == -2:  # no mirror yet: one order at a time builds it
                left = ask.quantity
            elif left < 0:
                return None  # a known key, an unlisted product, ...: the full path decides
            door = self._doors.get(door_key)
            if door is None:
                door = self._doors[door_key] = _Door()
            now = time.monotonic()
            if not deadline:
                deadline = now + GATE_WAIT_SECONDS
            if door.inside + ask.quantity <= left or now >= deadline:
                door.inside += ask.quantity
                return door_key
            if door.changed is None:
                door.changed = asyncio.get_running_loop().create_future()
            door.waiting += 1
            try:
                await asyncio.wait({door.changed}, timeout=GATE_POLL_SECONDS)
            finally:
                door.waiting -= 1
                if door.inside == 0 and door.waiting == 0:
                    self._doors.pop(door_key, None)

    def _leave(self, door_key: tuple[int, int], quantity: int) -> None:
        door = self._doors.get(door_key)
        if door is None:  # pragma: no cover - a door stays while anyone is inside
            return
        door.inside -= quantity
        if door.changed is not None:
            door.changed.set_result(None)
            door.changed = None
        if door.inside <= 0 and door.waiting == 0:
            del self._doors[door_key]

    async def _refuse(
        self, scope: Scope, headers: dict[bytes, bytes], send: Send, outcome: str, start: float
    ) -> None:
        incoming = headers.get(b"x-request-id", b"").decode()  # as RequestContextMiddleware
        request_id = incoming[:64] if incoming else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        body, length = _ANSWERS[outcome]
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 409,
                    "headers": [
                        (b"content-length", length),
                        _CONTENT_TYPE,
                        (b"x-request-id", request_id.encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            elapsed = time.perf_counter() - start
            FAST_REFUSALS.inc()
            _REQUESTS_409.inc()
            _LATENCY.observe(elapsed)
            self.log.info(
                "request",
                request_id=request_id,
                method="POST",
                path=scope["path"],
                status=409,
                ms=round(elapsed * 1000, 1),
            )

    async def _ask(
        self, scope: Scope, headers: dict[bytes, bytes], stream_id: int, body: bytes
    ) -> _Ask | None:
        """The order, when it is one the fast path may answer (a plain body, a verified
        buyer, Redis stock); None: the full path's."""
        auth = headers.get(b"authorization", b"").decode("latin-1")
        key = headers.get(b"idempotency-key", b"").decode("latin-1")
        ingest_key = headers.get(b"x-ingest-key", b"").decode("latin-1")
        if not key or len(key) > 128:
            return None
        if not ingest_key and not auth.startswith("Bearer "):
            return None
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        if ingest_key:  # a merchant backend: the body names the buyer
            if not data.keys() <= _INGEST_FIELDS:
                return None
            viewer_id = data.get("viewer_id")
            if not (isinstance(viewer_id, str) and 0 < len(viewer_id) <= 128):
                return None
        elif not data.keys() <= _FIELDS:
            return None
        product_id, quantity = data.get("product_id"), data.get("quantity")
        flash_id = data.get("flash_sale_id")
        if not (_positive_int(product_id) and _positive_int(quantity)):
            return None
        if not (flash_id is None or _positive_int(flash_id)):
            return None
        assert isinstance(product_id, int) and isinstance(quantity, int)
        if quantity > MAX_UNITS_PER_ORDER:
            return None
        app = scope["app"]
        rs = app.state.live.stock
        try:
            if ingest_key:
                # A key believed or verified now, without a request's database
                # connection (app/deps.py); a wrong key goes to the full path (401).
                if not await ingest_key_for_fast_path(app, stream_id, ingest_key):
                    return None
            else:
                viewer_from_token(app.state.settings, auth[7:], stream_id)
        except Exception:
            return None  # the full path gives the proper answer (401/403, database errors)
        return _Ask(rs, stream_id, product_id, key, quantity, flash_id)


def _replay(body: bytes, more: bool, disconnect: Message | None, receive: Receive) -> Receive:
    """The endpoint's `receive`: the body read so far, then the rest from the client."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if disconnect is not None and not body:
                return disconnect
            return {"type": "http.request", "body": body, "more_body": more}
        if disconnect is not None:
            return disconnect
        return await receive()

    return replay
