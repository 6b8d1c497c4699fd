"""One error model: domain exceptions carry a status and a machine-readable code.

Every error body is `{"detail": str | list, "code": str, ...extra}`. Validation errors
list each problem with its location; unexpected errors are logged with the request id
and answered with a generic 500 that leaks no stack trace.
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)


class JSONBody(JSONResponse):
    """A JSON response rendered with orjson (handles datetimes, Decimals via str)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=str)


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, detail: Any = None, *, code: str | None = None, **extra: Any) -> None:
        self.detail = detail if detail is not None else self.code.replace("_", " ")
        if code is not None:
            self.code = code
        self.extra = extra
        super().__init__(str(self.detail))


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Unprocessable(AppError):
    """Semantic validation that pydantic cannot express (e.g. a bad CSV row)."""

    status_code = 422
    code = "validation_error"


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"


def _jsonable_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        out.append(
            {
                "loc": loc,
                "field": ".".join(p for p in loc if p not in ("body", "query", "path")),
                "msg": err.get("msg", ""),
                "type": err.get("type", ""),
            }
        )
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONBody:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if "retry_after" in exc.extra:  # security (issue #19): rate limits say when
            headers = {"Retry-After": str(exc.extra["retry_after"])}
        body = {"detail": exc.detail, "code": exc.code, **exc.extra}
        _localize_body(request, body, exc.status_code, exc.extra)
        return JSONBody(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONBody:
        body = {"detail": _jsonable_errors(exc.errors()), "code": "validation_error"}
        _localize_validation(request, body, exc.errors())
        return JSONBody(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONBody:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "http_error"
        )
        return JSONBody(
            {"detail": exc.detail, "code": code},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(PoolTimeout)
    async def _busy(request: Request, exc: PoolTimeout) -> JSONBody:
        # Every database connection stayed busy for DB_POOL_TIMEOUT seconds (a burst
        # bigger than the pool): nothing was done; the client may retry the same request.
        log.warning("db_pool_exhausted", path=request.url.path)
        return JSONBody(
            {"detail": "the server is busy; retry shortly", "code": "busy"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONBody:
        log.exception("unhandled_error", path=request.url.path)
        return JSONBody(
            {
                "detail": "internal server error",
                "code": "internal_error",
                "request_id": getattr(request.state, "request_id", None),
            },
            status_code=500,
        )


# ---------------------------------------------------------------- localised messages (#16)
# Every error body also carries `message` (for people, in the `Accept-Language` of the
# request, zh-CN by default) and `params` (what a console needs to word it itself by
# `code`); each validation problem carries its own `code` ("validation.<type>"),
# `params` and `message`. The catalogue is app/i18n.py.


def _localize_body(request: Request, body: dict[str, Any], status: int, extra: Any) -> None:
    from app.i18n import error_message, lang_of, localize_findings

    params = {k: v for k, v in dict(extra).items() if isinstance(v, str | int | float)}
    body.setdefault("params", params)
    lang = lang_of(request.headers.get("accept-language"))
    body.setdefault("message", error_message(str(body.get("code")), status, params, lang))
    if isinstance(body.get("findings"), list):  # 409 not_ready: readiness findings
        body["findings"] = localize_findings(body["findings"], lang)


def _localize_validation(request: Request, body: dict[str, Any], errors: Any) -> None:
    from app.i18n import lang_of, localize, validation_problem

    lang = lang_of(request.headers.get("accept-language"))
    items = body.get("detail")
    if not isinstance(items, list):
        return
    for item, err in zip(items, errors, strict=False):
        if not isinstance(item, dict):
            continue
        field = item.get("field") or ".".join(item.get("loc", [])) or "body"
        code, params = validation_problem(err if isinstance(err, dict) else {}, field)
        item.setdefault("code", code)
        item.setdefault("params", params)
        item.setdefault("message", localize(code, params, lang))
    first = next((i.get("message") for i in items if isinstance(i, dict)), None)
    body.setdefault("params", {})
    body.setdefault("message", first or localize("error.validation_error", None, lang))
