"""`controlroom serve` as a real process: what `make run` starts, in both deployments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app.config import PROJECT_ROOT
from tests.conftest import REDIS_URL, TEST_PASSWORD, free_port


@contextmanager
def serve(env: dict[str, str], cwd: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    full_env.update(env)
    full_env["PYTHONPATH"] = str(PROJECT_ROOT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"server exited early:\n{proc.stdout.read() if proc.stdout else ''}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("server did not start within 30 s")
        yield base, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.embedded
def test_serve_with_no_settings_prints_admin_password_once(tmp_path: Path) -> None:
    with serve({}, tmp_path) as (base, proc):
        assert httpx.get(f"{base}/readyz").json()["checks"] == {"database": True}
        for _ in range(3):
            httpx.get(f"{base}/api/v1/streams")
    out = proc.stdout.read() if proc.stdout else ""
    # the address it serves and the first password, each on a line of its own
    assert f"serving on {base}/" in out, out
    line = next(x for x in out.splitlines() if "sign in as  admin  with password" in x)
    password = line.rsplit(" ", 1)[1].strip()
    # no line per request unless LOG_LEVEL=DEBUG asks for it (nor uvicorn's access log)
    assert '"request"' not in out and "/api/v1/streams" not in out, out
    assert (tmp_path / "data" / "controlroom.db").exists()
    assert (tmp_path / "data" / "secret_key").exists()
    # second start: same database, the password is not printed again and still works
    with serve({}, tmp_path) as (base, proc):
        r = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "admin", "password": password}
        )
        assert r.status_code == 200
    assert "with password" not in (proc.stdout.read() if proc.stdout else "")


def test_serve_on_postgres_and_redis(tmp_path: Path) -> None:
    import asyncio
    import uuid

    import asyncpg

    name = f"lcr_serve_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        env = {
            "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
            "REDIS_URL": REDIS_URL,
            "ADMIN_PASSWORD": TEST_PASSWORD,
            "SECRET_KEY": "serve-test-secret-0123456789abcdef",
        }
        with serve(env, tmp_path) as (base, _):
            ready = httpx.get(f"{base}/readyz").json()
            assert ready["checks"] == {"database": True, "redis": True}
            r = httpx.post(
                f"{base}/api/v1/auth/login", json={"username": "admin", "password": TEST_PASSWORD}
            )
            assert r.status_code == 200
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_production_refuses_placeholder_secret_at_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()}
    env.update(
        DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        SECRET_KEY="changeme",
        PYTHONPATH=str(PROJECT_ROOT),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "SECRET_KEY" in proc.stderr + proc.stdout
