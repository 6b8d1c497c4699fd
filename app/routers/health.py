from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import text

from app.errors import JSONBody
from app.observability import metrics_payload

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: 200 while the process runs")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: 200 only when the database (and Redis, when configured) answer",
    responses={503: {"description": "A dependency does not answer"}},
)
async def readyz(request: Request) -> JSONBody:
    checks: dict[str, bool] = {}
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception:
        checks["database"] = False
    checks.update(await request.app.state.live.ping())
    ok = all(checks.values())
    return JSONBody(
        {"status": "ok" if ok else "unavailable", "checks": checks},
        status_code=200 if ok else 503,
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    body, content_type = metrics_payload()
    return Response(body, media_type=content_type)
