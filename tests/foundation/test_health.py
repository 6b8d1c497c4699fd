from __future__ import annotations

import gc

import httpx


async def test_health_ready_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": True, "redis": True}
    assert "x-request-id" in r.headers
    r = await client.get("/metrics")
    assert r.status_code == 200 and "controlroom_http_requests_total" in r.text


async def test_unknown_path_is_json_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nope")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


async def test_openapi_schema_documents_the_contract(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/auth/login",
        "/api/v1/users",
        "/api/v1/streams/{stream_id}/team/{user_id}",
    ):
        assert path in paths


def _full_collections(text: str) -> float:
    line = next(
        x
        for x in text.splitlines()
        if x.startswith('controlroom_gc_pause_seconds_count{generation="2"}')
    )
    return float(line.rsplit(" ", 1)[1])


async def test_metrics_count_the_collectors_full_pauses(client: httpx.AsyncClient) -> None:
    """A full collection stops every request in flight: /metrics times each one."""
    before = _full_collections((await client.get("/metrics")).text)
    gc.collect()
    gc.collect()
    assert _full_collections((await client.get("/metrics")).text) == before + 2
