"""The embedded mode: no settings but a data dir — SQLite file and in-process broker."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.conftest import TEST_PASSWORD, bearer


async def test_embedded_mode_serves_login_and_readiness(
    embedded_app: FastAPI, embedded_client: httpx.AsyncClient
) -> None:
    assert embedded_app.state.live.redis is None
    r = await embedded_client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"database": True}
    r = await embedded_client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": TEST_PASSWORD}
    )
    assert r.status_code == 200
    headers = bearer(r.json()["access_token"])
    r = await embedded_client.post(
        "/api/v1/streams",
        json={"title": "本地场", "scheduled_start": "2026-12-01T20:00:00+08:00"},
        headers=headers,
    )
    assert r.status_code == 201
    got = (await embedded_client.get(f"/api/v1/streams/{r.json()['id']}", headers=headers)).json()
    # SQLite keeps the instant; it comes back as UTC with a zone
    assert got["scheduled_start"] in ("2026-12-01T12:00:00Z", "2026-12-01T12:00:00+00:00")


async def test_secret_key_is_generated_once_and_kept(tmp_path: object) -> None:
    from pathlib import Path

    from app.config import Settings

    data = Path(str(tmp_path)) / "d"
    first = Settings(data_dir=data, secret_key="").ensure_secret_key()
    second = Settings(data_dir=data, secret_key="").ensure_secret_key()
    assert first == second and len(first) >= 32
    assert (data / "secret_key").stat().st_mode & 0o077 == 0


def test_production_refuses_a_placeholder_secret(tmp_path: object) -> None:
    import pytest

    from app.config import Settings

    s = Settings(database_url="postgresql+asyncpg://x/y", secret_key="changeme")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        s.ensure_secret_key()
    # the embedded development default tolerates it
    assert Settings(secret_key="changeme").ensure_secret_key() == "changeme"
