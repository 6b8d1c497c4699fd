"""Revocation reaches open consoles: two real `controlroom serve` processes on one
PostgreSQL + Redis; the change is made through one, the consoles are open on the other,
and each closes with 4401/4403 within 5 s."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import TEST_PASSWORD
from tests.live.test_processes import _live_stream, private_db, server

pytestmark = pytest.mark.slow
__all__ = ["private_db"]


@pytest.fixture
async def two_servers(private_db: str) -> AsyncIterator[tuple[str, str, str]]:
    prefix = f"lcrtest:{uuid.uuid4().hex[:8]}:"
    with server(private_db, prefix) as (a, _), server(private_db, prefix) as (b, _):
        yield private_db, a, b


async def _login(client: httpx.AsyncClient, base: str, username: str, password: str) -> str:
    r = await client.post(
        f"http://{base}/api/v1/auth/login", json={"username": username, "password": password}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def _closed_within(ws: ClientConnection, seconds: float) -> tuple[int, float]:
    """Read until the server closes the socket: (close code, seconds it took)."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(seconds):
            async for _ in ws:
                pass
    except TimeoutError:
        raise AssertionError(f"socket still open after {seconds} s") from None
    except ConnectionClosed:
        pass
    assert ws.close_code is not None
    return ws.close_code, time.monotonic() - started


async def test_revocation_closes_open_consoles_on_another_instance(
    two_servers: tuple[str, str, str],
) -> None:
    db_url, a, b = two_servers
    stream_id, _ = await _live_stream(db_url)
    tag = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(timeout=10) as client:
        admin = {"Authorization": f"Bearer {await _login(client, a, 'admin', TEST_PASSWORD)}"}
        names = ["disabled", "removed", "demoted", "teamrole", "password", "logout"]
        ids: dict[str, int] = {}
        tokens: dict[str, str] = {}
        for name in names:
            username = f"{name}-{tag}"
            r = await client.post(
                f"http://{a}/api/v1/users",
                json={"username": username, "password": TEST_PASSWORD, "role": "controller"},
                headers=admin,
            )
            assert r.status_code == 201, r.text
            ids[name] = r.json()["id"]
            r = await client.put(
                f"http://{a}/api/v1/streams/{stream_id}/team/{ids[name]}",
                json={"role": "controller"},
                headers=admin,
            )
            assert r.status_code == 200, r.text
            tokens[name] = await _login(client, a, username, TEST_PASSWORD)

        sockets: dict[str, ClientConnection] = {}
        for name in names:
            ws = await connect(f"ws://{b}/ws/streams/{stream_id}?token={tokens[name]}")
            assert orjson.loads(await ws.recv())["type"] == "snapshot"
            sockets[name] = ws
        # A console that nothing happens to stays open.
        bystander = await connect(
            f"ws://{b}/ws/streams/{stream_id}?token={admin['Authorization'][7:]}"
        )
        assert orjson.loads(await bystander.recv())["type"] == "snapshot"
        try:

            def user_url(name: str) -> str:
                return f"http://{a}/api/v1/users/{ids[name]}"

            def bearer(name: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {tokens[name]}"}

            changes = [
                client.patch(user_url("disabled"), json={"is_active": False}, headers=admin),
                client.delete(
                    f"http://{a}/api/v1/streams/{stream_id}/team/{ids['removed']}",
                    headers=admin,
                ),
                client.patch(user_url("demoted"), json={"role": "analyst"}, headers=admin),
                client.put(
                    f"http://{a}/api/v1/streams/{stream_id}/team/{ids['teamrole']}",
                    json={"role": "service"},
                    headers=admin,
                ),
                client.post(
                    f"http://{a}/api/v1/auth/password",
                    json={"current_password": TEST_PASSWORD, "new_password": "a-new-pass-778"},
                    headers=bearer("password"),
                ),
                client.post(f"http://{a}/api/v1/auth/logout", headers=bearer("logout")),
            ]
            for r in await asyncio.gather(*changes):
                assert r.status_code in (200, 204), r.text
            results = dict(
                zip(
                    names,
                    await asyncio.gather(*(_closed_within(sockets[n], 5.0) for n in names)),
                    strict=True,
                )
            )
            expected = {
                "disabled": 4401,
                "removed": 4403,
                "demoted": 4401,
                "teamrole": 4403,
                "password": 4401,
                "logout": 4401,
            }
            assert {n: code for n, (code, _) in results.items()} == expected
            assert all(took < 5.0 for _, took in results.values()), results
            # the admin's console is untouched
            await bystander.send('{"type": "ping"}')
            async with asyncio.timeout(5):
                while orjson.loads(await bystander.recv())["type"] != "pong":
                    pass
        finally:
            for ws in [*sockets.values(), bystander]:
                await ws.close()

        # Old tokens are refused on new requests and new sockets, on both instances.
        for name in ("disabled", "demoted", "password", "logout"):
            for base in (a, b):
                r = await client.get(f"http://{base}/api/v1/auth/me", headers=bearer(name))
                assert r.status_code == 401, (name, r.text)
            ws = await connect(f"ws://{b}/ws/streams/{stream_id}?token={tokens[name]}")
            code, _ = await _closed_within(ws, 5.0)
            assert code == 4401, name
        # Re-enabling the disabled user does not bring the old token back.
        r = await client.patch(user_url("disabled"), json={"is_active": True}, headers=admin)
        assert r.status_code == 200
        r = await client.get(f"http://{b}/api/v1/auth/me", headers=bearer("disabled"))
        assert r.status_code == 401 and r.json()["code"] == "token_revoked"
