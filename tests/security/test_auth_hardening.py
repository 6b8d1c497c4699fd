"""Logout, own password change, password policy, token versions and login throttling
(PostgreSQL + Redis)."""

from __future__ import annotations

import statistics
import time

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import TEST_PASSWORD, Staff, bearer, login

LOGIN = "/api/v1/auth/login"


async def test_logout_revokes_every_token_of_the_user(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    first = await staff.user("leaver", "host")
    second = bearer(await login(client, "leaver"))
    assert (await client.get("/api/v1/auth/me", headers=first)).status_code == 200
    r = await client.post("/api/v1/auth/logout", headers=first)
    assert r.status_code == 204
    for headers in (first, second):
        r = await client.get("/api/v1/auth/me", headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "token_revoked"
    assert (await client.post("/api/v1/auth/logout")).status_code == 401
    # signing in again works
    fresh = bearer(await login(client, "leaver"))
    assert (await client.get("/api/v1/auth/me", headers=fresh)).status_code == 200


async def test_own_password_change(client: httpx.AsyncClient, staff: Staff) -> None:
    old = await staff.user("changer", "service")
    r = await client.post(
        "/api/v1/auth/password",
        json={"current_password": "wrong-password-1", "new_password": "brand-new-secret-9"},
        headers=old,
    )
    assert r.status_code == 422
    assert r.json()["code"] == "wrong_password"
    assert r.json()["detail"][0]["field"] == "current_password"
    for weak, why in (("short", "10"), ("password123", "common"), ("changer123", "username")):
        r = await client.post(
            "/api/v1/auth/password",
            json={"current_password": TEST_PASSWORD, "new_password": weak},
            headers=old,
        )
        assert r.status_code == 422, weak
        detail = r.json()["detail"]
        assert detail[0]["field"] == "new_password" and why in detail[0]["msg"], detail
    r = await client.post(
        "/api/v1/auth/password",
        json={"current_password": TEST_PASSWORD, "new_password": "brand-new-secret-9"},
        headers=old,
    )
    assert r.status_code == 200, r.text
    new = bearer(r.json()["access_token"])
    assert (await client.get("/api/v1/auth/me", headers=new)).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=old)).status_code == 401
    r = await client.post(LOGIN, json={"username": "changer", "password": TEST_PASSWORD})
    assert r.status_code == 401
    await login(client, "changer", "brand-new-secret-9")


@pytest.mark.parametrize(
    "password, fragment",
    [
        ("12345678", "at least 10"),
        ("password", "at least 10"),
        ("1234567890", "too common"),
        ("PassWord123", "too common"),
        ("weakling99", "username"),
        ("WEAKLING", "at least 10"),
    ],
)
async def test_password_policy_on_create_and_update(
    client: httpx.AsyncClient, admin_headers: dict[str, str], password: str, fragment: str
) -> None:
    r = await client.post(
        "/api/v1/users",
        json={"username": "weakling", "password": password, "role": "host"},
        headers=admin_headers,
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "validation_error"
    assert body["detail"][0]["field"] == "password" and fragment in body["detail"][0]["msg"]
    users = (await client.get("/api/v1/users", headers=admin_headers)).json()
    assert "weakling" not in {u["username"] for u in users}
    # the admin's password reset follows the same policy
    r = await client.post(
        "/api/v1/users",
        json={"username": "weakling", "password": TEST_PASSWORD, "role": "host"},
        headers=admin_headers,
    )
    uid = r.json()["id"]
    r = await client.patch(
        f"/api/v1/users/{uid}", json={"password": password}, headers=admin_headers
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "password"
    await login(client, "weakling")  # unchanged


async def test_role_change_and_disable_revoke_tokens(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    headers = await staff.user("roly", "host")
    uid = staff.ids["roly"]
    r = await client.patch(f"/api/v1/users/{uid}", json={"display_name": "R"}, headers=staff.admin)
    assert r.status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    r = await client.patch(f"/api/v1/users/{uid}", json={"role": "analyst"}, headers=staff.admin)
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401
    headers = bearer(await login(client, "roly"))
    await client.patch(f"/api/v1/users/{uid}", json={"is_active": False}, headers=staff.admin)
    await client.patch(f"/api/v1/users/{uid}", json={"is_active": True}, headers=staff.admin)
    r = await client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "token_revoked"


# --------------------------------------------------------------------------- throttling


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.9, {address}"}


@pytest.fixture
def behind_proxy(app: FastAPI) -> FastAPI:
    app.state.settings.trusted_proxy_header = "X-Forwarded-For"
    app.state.settings.login_delay_base_seconds = 30.0
    return app


async def test_a_stranger_cannot_lock_the_admin_out(
    behind_proxy: FastAPI, client: httpx.AsyncClient
) -> None:
    for _ in range(5):
        r = await client.post(
            LOGIN, json={"username": "admin", "password": "guess-1"}, headers=_from("198.51.100.7")
        )
        assert r.status_code == 401
    # the stranger now waits (the password is not even checked) ...
    r = await client.post(
        LOGIN, json={"username": "admin", "password": "guess-2"}, headers=_from("198.51.100.7")
    )
    assert r.status_code == 401  # the 6th miss starts the delay
    r = await client.post(
        LOGIN, json={"username": "admin", "password": TEST_PASSWORD}, headers=_from("198.51.100.7")
    )
    assert r.status_code == 429 and r.json()["code"] == "login_throttled"
    assert 1 <= int(r.headers["Retry-After"]) <= 30
    # ... the admin, from their own address, signs in at once
    r = await client.post(
        LOGIN, json={"username": "admin", "password": TEST_PASSWORD}, headers=_from("192.0.2.44")
    )
    assert r.status_code == 200


async def test_unknown_usernames_get_the_same_answers_and_timing(
    behind_proxy: FastAPI, client: httpx.AsyncClient
) -> None:
    async def attempt(username: str, address: str, i: int) -> tuple[tuple[int, str], float]:
        started = time.perf_counter()
        r = await client.post(
            LOGIN, json={"username": username, "password": f"nope-{i}"}, headers=_from(address)
        )
        return (r.status_code, r.json()["code"]), time.perf_counter() - started

    real: list[tuple[int, str]] = []
    ghost: list[tuple[int, str]] = []
    real_times: list[float] = []
    ghost_times: list[float] = []
    for i in range(7):  # interleaved, so both see the same machine load
        answer, took = await attempt("admin", "198.51.100.20", i)
        real.append(answer)
        real_times.append(took)
        answer, took = await attempt("no-such-user", "198.51.100.21", i)
        ghost.append(answer)
        ghost_times.append(took)
    assert real == ghost
    assert [s for s, _ in real] == [401] * 6 + [429]
    # both verify a password hash (a dummy one for unknown names): medians of the misses
    real_median = statistics.median(real_times[:6])
    ghost_median = statistics.median(ghost_times[:6])
    assert ghost_median < real_median * 3 and real_median < ghost_median * 3


async def test_per_address_limit_across_usernames(
    behind_proxy: FastAPI, client: httpx.AsyncClient
) -> None:
    behind_proxy.state.settings.login_address_max_failures = 8
    codes = []
    for i in range(10):
        r = await client.post(
            LOGIN, json={"username": f"user{i}", "password": "x"}, headers=_from("198.51.100.30")
        )
        codes.append(r.status_code)
    assert codes[:9] == [401] * 9 and codes[9] == 429
    # another address is unaffected
    r = await client.post(
        LOGIN, json={"username": "admin", "password": TEST_PASSWORD}, headers=_from("198.51.100.31")
    )
    assert r.status_code == 200


async def test_delays_double_and_success_clears_them(app: FastAPI) -> None:
    from app.services.login_throttle import LoginThrottle

    live = app.state.live
    s = app.state.settings
    s.login_max_failures, s.login_delay_base_seconds, s.login_max_delay_seconds = 2, 1.0, 5.0
    throttle = LoginThrottle(s, live.limits, live.prefix)
    keys = throttle.keys("someone", "10.0.0.1")
    waits = []
    for _ in range(7):
        await throttle.failed(keys)
        waits.append(await throttle.retry_after(keys))
    assert waits == [0, 0, 1, 2, 4, 5, 5]
    await throttle.succeeded(keys)
    assert await throttle.retry_after(keys) == 0


async def test_without_the_setting_the_proxy_header_is_ignored(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    app.state.settings.login_delay_base_seconds = 30.0
    for i in range(6):
        await client.post(
            LOGIN, json={"username": "admin", "password": "x"}, headers=_from(f"10.1.1.{i}")
        )
    r = await client.post(LOGIN, json={"username": "admin", "password": TEST_PASSWORD})
    assert r.status_code == 429  # all came from the same peer address
