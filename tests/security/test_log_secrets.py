"""No password hashes, tokens or ingest keys in the logs: a real `controlroom serve` at
LOG_LEVEL=DEBUG is put through logins, user creation races (whose failed INSERT used to
log its parameters, the password hash among them), password changes, ingest keys and a
console websocket; then its whole output is searched for every secret it handled."""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import structlog
from websockets.asyncio.client import connect

from app.observability import configure_logging
from app.redaction import RedactingFilter, redact
from tests.conftest import TEST_PASSWORD
from tests.live.test_processes import _live_stream, private_db
from tests.security.server import serve

pytestmark = pytest.mark.slow
__all__ = ["private_db"]


@pytest.fixture
def logged_server(private_db: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log_path = tmp_path / "server.log"
    with serve(private_db, log_path, LOG_LEVEL="DEBUG") as base:
        yield base, log_path


async def test_a_runs_logs_hold_no_secrets(
    logged_server: tuple[str, Path], private_db: str
) -> None:
    base, log_path = logged_server
    url = f"http://{base}"
    secrets_seen: set[str] = {TEST_PASSWORD}
    stream_id, _ = await _live_stream(private_db)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        r = await client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": TEST_PASSWORD}
        )
        token = r.json()["access_token"]
        secrets_seen.add(token)
        # the real server (uvicorn) sends no banner, and the security headers
        assert "server" not in r.headers, r.headers
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        admin = {"Authorization": f"Bearer {token}"}
        # the same username created 8 times at once: one wins, the others must not 500
        dup_password = "duplicate-pass-" + uuid.uuid4().hex[:8]
        secrets_seen.add(dup_password)
        results = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/users",
                    json={"username": "dup-user", "password": dup_password, "role": "host"},
                    headers=admin,
                )
                for _ in range(8)
            )
        )
        # a NUL in the display name used to reach PostgreSQL with the new hash beside it
        # and fail there: a 500 whose log line listed the INSERT's parameters
        r = await client.post(
            "/api/v1/users",
            json={
                "username": "nul-user",
                "password": dup_password + "-nul",
                "role": "host",
                "display_name": "a\x00b",
            },
            headers=admin,
        )
        assert r.status_code == 422, r.text
        codes = sorted(r.status_code for r in results)
        assert codes == [201] + [409] * 7, [r.text for r in results]
        for i in range(3):
            guess = f"wrong-guess-{i}-{uuid.uuid4().hex[:6]}"
            secrets_seen.add(guess)
            await client.post(
                "/api/v1/auth/login", json={"username": "dup-user", "password": guess}
            )
        r = await client.post(
            "/api/v1/auth/login", json={"username": "dup-user", "password": dup_password}
        )
        host = r.json()["access_token"]
        secrets_seen.add(host)
        new_password = "changed-pass-" + uuid.uuid4().hex[:8]
        secrets_seen.add(new_password)
        r = await client.post(
            "/api/v1/auth/password",
            json={"current_password": dup_password, "new_password": new_password},
            headers={"Authorization": f"Bearer {host}"},
        )
        assert r.status_code == 200, r.text
        secrets_seen.add(r.json()["access_token"])
        r = await client.post(f"/api/v1/streams/{stream_id}/ingest-keys", headers=admin)
        key = r.json()["key"]
        secrets_seen.add(key)
        r = await client.post(
            f"/api/v1/streams/{stream_id}/events",
            json={"events": [{"type": "viewer_join", "user_id": "u1"}]},
            headers={"X-Ingest-Key": key},
        )
        assert r.status_code == 202, r.text
        await client.post(
            f"/api/v1/streams/{stream_id}/events",
            json={"events": []},
            headers={"X-Ingest-Key": key + "x"},
        )
        r = await client.post(f"/api/v1/streams/{stream_id}/viewers")
        viewer = r.json()["viewer_token"]
        secrets_seen.add(viewer)
        async with connect(f"ws://{base}/ws/streams/{stream_id}?token={token}") as ws:
            await ws.recv()
        async with connect(f"ws://{base}/ws/streams/{stream_id}/watch?token={viewer}") as ws:
            await ws.recv()
        # tokens in query strings of plain requests, and revoked ones
        await client.get(f"/api/v1/auth/me?token={token}", headers={"Authorization": "x"})
        await client.post("/api/v1/auth/logout", headers=admin)
        await client.get("/api/v1/auth/me", headers=admin)

    conn = await asyncpg.connect(private_db.replace("postgresql+asyncpg", "postgresql"))
    try:
        hashes = [
            row["password_hash"] for row in await conn.fetch("SELECT password_hash FROM users")
        ]
    finally:
        await conn.close()
    secrets_seen.update(hashes)
    await asyncio.sleep(0.5)
    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert '"request"' in log  # DEBUG request lines were written: the search means something
    leaked = sorted(s for s in secrets_seen if s in log)
    assert leaked == [], log[-3000:]
    assert "$argon2" not in log


def test_redaction_of_library_logs_and_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl"
    text = (
        f"Bearer {jwt_like} key lcr_ik_AbC123-_x and $argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA "
        f"/ws/streams/1?token={jwt_like}&since=4 whsec_Zz9"
    )
    cleaned = redact(text)
    for secret in (jwt_like, "lcr_ik_AbC123", "$argon2id", "whsec_Zz9"):
        assert secret not in cleaned
    assert "since=4" in cleaned and "Bearer [redacted]" in cleaned

    logger = logging.getLogger("lcr.test.redaction")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"INSERT failed [parameters: ('a', '{jwt_like}')]")
        except RuntimeError:
            logger.exception("boom %s", "lcr_ik_secretkey")
    finally:
        logger.removeHandler(handler)
    err = capsys.readouterr().err
    assert "boom" in err and "RuntimeError" in err
    assert jwt_like not in err and "lcr_ik_secretkey" not in err

    configure_logging("INFO", json=True)
    structlog.get_logger("lcr.test").error("oops", detail=f"token={jwt_like}")
    out = capsys.readouterr()
    assert jwt_like not in out.out + out.err
