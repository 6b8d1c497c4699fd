"""Test fixtures against the real PostgreSQL and Redis on 127.0.0.1.

* One fresh PostgreSQL database per test run, migrated with Alembic (`upgrade heads`).
* Each test runs inside an outer transaction that is rolled back at the end
  (the app's sessions join it through savepoints), so tests never see each other's rows.
* Redis: each test gets its own key prefix (a fresh logical namespace) and its keys
  are deleted afterwards.
* `embedded_app` builds the SQLite + in-process variant for the embedded-mode tests.
"""

from __future__ import annotations

import asyncio
import os

# Cheap argon2 parameters for the suite's hundreds of users (see app/security.py);
# set before the app is imported, and inherited by the servers the tests start.
os.environ["LCR_FAST_PASSWORD_HASH"] = "1"
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import create_engine
from app.main import create_app
from app.migrate import upgrade

PG_ADMIN_DSN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_PASSWORD = "test-password-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- database


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, migrated to head; dropped afterwards."""
    name = f"lcr_test_{uuid.uuid4().hex[:10]}"

    async def _admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    upgrade(url)
    try:
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
async def pg_engine(pg_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pg_database, pool_size=10)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db_conn(pg_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside an outer transaction that is rolled back after the test."""
    async with pg_engine.connect() as conn:
        trans = await conn.begin()
        try:
            yield conn
        finally:
            await trans.rollback()


@pytest.fixture
def sessionmaker(db_conn: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions bound to the test's connection; their commits become savepoints."""
    return async_sessionmaker(
        bind=db_conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


# --------------------------------------------------------------------------- redis


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix private to this test; every key under it is deleted afterwards."""
    prefix = f"lcrtest:{uuid.uuid4().hex[:8]}:"
    yield prefix
    client = aioredis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


# --------------------------------------------------------------------------- app


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "secret_key": "test-secret-key-0123456789abcdef",
        "admin_password": TEST_PASSWORD,
        "data_dir": tmp_path / "data",
        "log_json": True,
        "log_level": "WARNING",
        "static_dir": tmp_path / "no-frontend",
        "login_max_failures": 5,
        # a test process starts hundreds of apps: no collect + freeze at each start
        "gc_freeze": False,
    }
    base.update(overrides)
    return Settings(**base)


@pytest.fixture
def settings(tmp_path: Path, pg_database: str, redis_prefix: str) -> Settings:
    return make_settings(
        tmp_path, database_url=pg_database, redis_url=REDIS_URL, redis_prefix=redis_prefix
    )


@pytest.fixture
async def app(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    """The real app on PostgreSQL + Redis, its sessions joined to the test transaction."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        application.state.sessionmaker = sessionmaker
        from app.services.users import bootstrap_admin

        async with sessionmaker() as s:
            await bootstrap_admin(s, settings)
            await s.commit()
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def login(client: httpx.AsyncClient, username: str, password: str = TEST_PASSWORD) -> str:
    r = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await login(client, "admin"))


class Staff:
    """Creates users of each role and hands out their auth headers."""

    def __init__(self, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        self.client = client
        self.admin = admin
        self.ids: dict[str, int] = {}

    async def user(self, username: str, role: str) -> dict[str, str]:
        r = await self.client.post(
            "/api/v1/users",
            json={"username": username, "password": TEST_PASSWORD, "role": role},
            headers=self.admin,
        )
        assert r.status_code == 201, r.text
        self.ids[username] = r.json()["id"]
        return bearer(await login(self.client, username))

    async def join(self, stream_id: int, username: str, role: str) -> None:
        r = await self.client.put(
            f"/api/v1/streams/{stream_id}/team/{self.ids[username]}",
            json={"role": role},
            headers=self.admin,
        )
        assert r.status_code == 200, r.text


@pytest.fixture
async def staff(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> Staff:
    return Staff(client, admin_headers)


# --------------------------------------------------------------------------- embedded


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to head once per run: each embedded test starts from a
    copy of it instead of running every migration again (~1 s a test on two cores)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "controlroom.db"
    upgrade(f"sqlite+aiosqlite:///{path.as_posix()}")
    return path


@pytest.fixture
async def embedded_app(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[FastAPI]:
    """The app with no settings beyond a data dir: SQLite file + in-process broker."""
    settings = make_settings(tmp_path)
    assert settings.is_sqlite and settings.redis_url is None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sqlite_template, settings.data_dir / "controlroom.db")
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def embedded_client(embedded_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=embedded_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
async def committed_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The real app on its own engine: rows are really committed (for background writers,
    several connections or processes). Isolate by creating your own streams and users."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def committed_client(committed_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=committed_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
