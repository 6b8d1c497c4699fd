"""Text the stores cannot hold, security headers, the body limit, rate limits on
viewer tokens and comments, and a draft stream's viewer endpoints (PostgreSQL + Redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from app.models import StreamStatus
from tests.conftest import Staff
from tests.live.helpers import add_product, ingest_key, new_stream, set_status


async def _live(app: FastAPI, client: httpx.AsyncClient, staff: Staff) -> int:
    sid = await new_stream(client, staff.admin)
    await set_status(app, sid, StreamStatus.live)
    return sid


async def _viewer(client: httpx.AsyncClient, sid: int, address: str = "") -> dict[str, str]:
    headers = {"X-Forwarded-For": address} if address else {}
    r = await client.post(f"/api/v1/streams/{sid}/viewers", headers=headers)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['viewer_token']}"}


def _field(r: httpx.Response) -> str:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "validation_error"
    assert "control character" in body["detail"][0]["msg"], body
    return str(body["detail"][0]["field"])


@pytest.mark.parametrize("bad", ["\x00", "a\x00b", "\x07", "x\x1by"])
async def test_control_characters_are_422_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, staff: Staff, bad: str
) -> None:
    admin = staff.admin
    r = await client.post(
        "/api/v1/products",
        json={"sku": "NUL-1", "name": f"杯{bad}", "list_price": "9.90", "stock": 1},
        headers=admin,
    )
    assert _field(r) == "name"
    r = await client.get("/api/v1/products", headers=admin)
    assert all(p["sku"] != "NUL-1" for p in r.json())
    r = await client.patch(
        f"/api/v1/users/{(await client.get('/api/v1/auth/me', headers=admin)).json()['id']}",
        json={"display_name": f"管{bad}"},
        headers=admin,
    )
    assert _field(r) == "display_name"
    sid = await _live(app, client, staff)
    viewer = await _viewer(client, sid)
    r = await client.post(
        f"/api/v1/streams/{sid}/comments", json={"text": f"好{bad}"}, headers=viewer
    )
    assert _field(r) == "text"
    key = await ingest_key(client, admin, sid)
    r = await client.post(
        f"/api/v1/streams/{sid}/events",
        json={"events": [{"type": "comment", "user_id": "u1", "text": f"评{bad}"}]},
        headers={"X-Ingest-Key": key},
    )
    assert r.status_code == 422, r.text
    assert "text" in r.text and "control character" in r.text
    # in the query string and the path
    encoded = quote(bad)
    r = await client.get(f"/api/v1/streams/{sid}/orders?viewer_id=v{encoded}", headers=admin)
    assert _field(r) == "viewer_id"
    r = await client.get(f"/api/v1/streams/{sid}/segments/x{encoded}", headers=admin)
    assert _field(r) == "path"
    # tab and line breaks stay allowed
    r = await client.post(
        f"/api/v1/streams/{sid}/comments", json={"text": "第一行\n第二行\t好"}, headers=viewer
    )
    assert r.status_code == 202, r.text


async def test_security_headers_on_every_response(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for method, url, headers in (
        ("get", "/healthz", {}),
        ("get", "/api/v1/auth/me", admin_headers),
        ("get", "/api/v1/auth/me", {}),  # 401
        ("get", "/api/v1/nothing-here", {}),  # 404
        ("post", "/api/v1/auth/login", {}),  # 422
        ("get", "/openapi.json", {}),
    ):
        r = await client.request(method, url, headers=headers)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp, url
        assert "unsafe-eval" not in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "server" not in r.headers
    docs = await client.get("/docs")
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]


async def test_body_limit(app: FastAPI, client: httpx.AsyncClient) -> None:
    app_limit = app.state.settings.max_body_bytes
    big = b'{"username": "admin", "password": "' + b"x" * app_limit + b'"}'
    r = await client.post(
        "/api/v1/auth/login", content=big, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        yield b'{"username": "admin", "password": "'
        for _ in range(app_limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    r = await client.post(
        "/api/v1/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"


async def test_a_full_ingest_batch_fits(
    app: FastAPI, client: httpx.AsyncClient, staff: Staff
) -> None:
    sid = await _live(app, client, staff)
    key = await ingest_key(client, staff.admin, sid)
    text = "这款围巾是真丝的吗？" * 200  # 2,000 characters
    events = [
        {"type": "comment", "user_id": f"viewer-{i:06d}", "event_id": f"e-{i}", "text": text}
        for i in range(1000)
    ]
    r = await client.post(
        f"/api/v1/streams/{sid}/events", json={"events": events}, headers={"X-Ingest-Key": key}
    )
    assert r.status_code == 202, r.text[:300]
    assert r.json()["accepted"] == 1000


@pytest.fixture
def behind_proxy(app: FastAPI) -> FastAPI:
    app.state.settings.trusted_proxy_header = "X-Forwarded-For"
    return app


async def test_viewer_tokens_are_rate_limited_per_address(
    behind_proxy: FastAPI, client: httpx.AsyncClient, staff: Staff
) -> None:
    behind_proxy.state.settings.viewer_tokens_per_minute = 20
    sid = await _live(behind_proxy, client, staff)
    codes = []
    for _ in range(25):
        r = await client.post(
            f"/api/v1/streams/{sid}/viewers", headers={"X-Forwarded-For": "198.51.100.5"}
        )
        codes.append(r.status_code)
    assert codes == [201] * 20 + [429] * 5
    assert r.json()["code"] == "rate_limited" and 1 <= int(r.headers["Retry-After"]) <= 60
    await _viewer(client, sid, "198.51.100.6")  # another address is unaffected


async def test_comments_are_rate_limited_per_viewer(
    app: FastAPI, client: httpx.AsyncClient, staff: Staff
) -> None:
    app.state.settings.comments_per_minute = 10
    sid = await _live(app, client, staff)
    flooder, other = await _viewer(client, sid), await _viewer(client, sid)
    codes = []
    for i in range(30):
        r = await client.post(
            f"/api/v1/streams/{sid}/comments", json={"text": f"刷屏 {i}"}, headers=flooder
        )
        codes.append(r.status_code)
    assert codes == [202] * 10 + [429] * 20
    assert r.json()["code"] == "rate_limited" and r.headers["Retry-After"]
    r = await client.post(f"/api/v1/streams/{sid}/comments", json={"text": "你好"}, headers=other)
    assert r.status_code == 202
    r = await client.get(f"/api/v1/streams/{sid}/comments?limit=500", headers=staff.admin)
    assert r.status_code == 200, r.text
    texts = (
        [c["text"] for c in r.json()["items"]]
        if isinstance(r.json(), dict)
        else [c["text"] for c in r.json()]
    )
    assert sum(t.startswith("刷屏") for t in texts) == 10


async def test_a_draft_streams_viewer_endpoints_answer_404(
    app: FastAPI, client: httpx.AsyncClient, staff: Staff
) -> None:
    draft = await new_stream(client, staff.admin)
    missing = draft + 100_000
    for sid in (draft, missing):
        r = await client.post(f"/api/v1/streams/{sid}/viewers")
        assert r.status_code == 404 and r.json()["code"] == "stream_not_found", r.text
        assert (await client.get(f"/api/v1/streams/{sid}/storefront")).status_code == 404
    # a token minted while it was scheduled, then set back to draft
    await set_status(app, draft, StreamStatus.scheduled)
    viewer = await _viewer(client, draft)
    await add_product(app, draft, f"D-{draft}", allotted=1)
    await set_status(app, draft, StreamStatus.draft)
    r = await client.post(
        f"/api/v1/streams/{draft}/comments", json={"text": "在吗"}, headers=viewer
    )
    assert r.status_code == 404, r.text
    r = await client.post(
        f"/api/v1/streams/{draft}/viewer-events", json={"type": "like"}, headers=viewer
    )
    assert r.status_code == 404, r.text
