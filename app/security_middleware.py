"""The outermost HTTP layer: security headers, the body limit, control characters in
the URL (issue #19).

* Every HTTP response gets a strict Content-Security-Policy (the consoles are one
  same-origin bundle: no inline script, no third-party origin; the API docs page,
  which loads Swagger UI from its CDN, gets a looser one), `frame-ancestors 'none'` and
  `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff`, a `Referrer-Policy`, and no
  `server` banner.
* A body larger than `MAX_BODY_BYTES` (`INGEST_MAX_BODY_BYTES` for ingest batches) is
  refused with 413 before it is read: at once when
  `Content-Length` says so, else as soon as the chunks received pass the limit.
* A path or query string holding a NUL or another control character (percent-encoded)
  is answered 422 naming the parameter: such text cannot be stored (app/bounds.py).

It is a plain ASGI middleware (no per-request task or frame beyond one `send` wrapper),
outermost so that the flash-sale fast path's answers get the headers too.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.bounds import text_problem

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# /docs and /redoc: FastAPI's pages load Swagger UI / ReDoc from jsDelivr with an
# inline bootstrap script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_INGEST = re.compile(r"^/api/v1/streams/[0-9]+/events$")
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})


def _headers(csp: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    ]


SECURITY_HEADERS = _headers(CSP)
DOCS_HEADERS = _headers(DOCS_CSP)
_OURS = frozenset(name for name, _ in SECURITY_HEADERS) | {b"server"}


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, ingest_max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.ingest_max_body_bytes = ingest_max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = DOCS_HEADERS if scope["path"] in DOCS_PATHS else SECURITY_HEADERS
        started = refused = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if refused:
                return  # our 413 went out instead
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", ()) if k not in _OURS]
                message = {**message, "headers": [*headers, *extra]}
            await send(message)

        problem = _url_problem(scope)
        if problem is not None:
            await _answer(send_with_headers, 422, problem)
            return
        limit = self.max_body_bytes
        if _INGEST.match(scope["path"]):
            limit = max(limit, self.ingest_max_body_bytes)
        length = _content_length(scope)
        if length is not None and length > limit:
            await _too_large(send_with_headers, limit)
            return
        received = 0

        async def limited_receive() -> Message:
            # A body without Content-Length is counted as it comes; past the limit the
            # 413 is sent at once and the app sees the client gone.
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not started:
                    await _too_large(send_with_headers, limit)
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except Exception:
            if not refused:
                raise


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _url_problem(scope: Scope) -> dict[str, object] | None:
    raw_path = scope.get("raw_path") or b""
    query = scope.get("query_string") or b""
    if b"%" in raw_path or any(c < 0x20 for c in raw_path):
        problem = text_problem(scope["path"])
        if problem is not None:
            return _problem(["path"], "path", problem)
    if b"%" in query or any(c < 0x20 for c in query):
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            for text in (name, value):
                problem = text_problem(text)
                if problem is not None:
                    return _problem(["query", name], name, problem)
    return None


def _problem(loc: list[str], field: str, msg: str) -> dict[str, object]:
    return {
        "detail": [{"loc": loc, "field": field, "msg": msg, "type": "control_character"}],
        "code": "validation_error",
    }


async def _too_large(send: Send, limit: int) -> None:
    await _answer(
        send,
        413,
        {"detail": f"request body larger than {limit} bytes", "code": "body_too_large"},
    )


async def _answer(send: Send, status: int, body: dict[str, object]) -> None:
    payload = orjson.dumps(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if status == 413:  # the rest of the body is not read: end the connection
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
