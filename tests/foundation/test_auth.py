from __future__ import annotations

import httpx

from tests.conftest import TEST_PASSWORD, bearer, login


async def test_admin_logs_in_and_reads_itself(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": TEST_PASSWORD}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["user"]["role"] == "admin"
    me = await client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["username"] == "admin"


async def test_wrong_password_is_401_with_json_detail(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/auth/login", json={"username": "admin", "password": "nope"})
    assert r.status_code == 401
    assert r.json()["code"] == "bad_credentials"
    r = await client.post("/api/v1/auth/login", json={"username": "ghost", "password": "nope"})
    assert r.status_code == 401


async def test_missing_forged_and_expired_tokens_are_401(client: httpx.AsyncClient) -> None:
    import jwt

    assert (await client.get("/api/v1/auth/me")).status_code == 401
    forged = jwt.encode({"sub": "1", "typ": "access", "exp": 4102444800}, "other-key", "HS256")
    assert (await client.get("/api/v1/auth/me", headers=bearer(forged))).status_code == 401
    expired = jwt.encode(
        {"sub": "1", "typ": "access", "exp": 1000},
        "test-secret-key-0123456789abcdef",
        "HS256",
    )
    r = await client.get("/api/v1/auth/me", headers=bearer(expired))
    assert r.status_code == 401 and r.json()["detail"]


async def test_login_body_validation_is_readable_422(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/auth/login", json={"username": "admin"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_error"
    assert body["detail"][0]["field"] == "password"


async def test_disabled_user_cannot_use_its_token(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    r = await client.post(
        "/api/v1/users",
        json={"username": "temp", "password": TEST_PASSWORD, "role": "host"},
        headers=admin_headers,
    )
    uid = r.json()["id"]
    token = await login(client, "temp")
    r = await client.patch(f"/api/v1/users/{uid}", json={"is_active": False}, headers=admin_headers)
    assert r.status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401
