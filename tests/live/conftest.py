from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.config import Settings
from app.main import create_app
from tests.live.helpers import serving


@pytest.fixture(params=["postgres_redis", "embedded"])
def any_app(request: pytest.FixtureRequest) -> FastAPI:
    """The app in production mode (PostgreSQL + Redis) and in embedded mode (SQLite +
    in-process): tests taking it run once in each."""
    name = "app" if request.param == "postgres_redis" else "embedded_app"
    application: FastAPI = request.getfixturevalue(name)
    return application


@pytest.fixture
async def any_client(any_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=any_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


CLEANED_TABLES = ("streams", "products", "users")


@pytest.fixture(params=["postgres_redis", "embedded"])
def real_app(request: pytest.FixtureRequest) -> FastAPI:
    """An app whose sessions really commit (for a real server with several connections)."""
    name = "committed_app" if request.param == "postgres_redis" else "embedded_app"
    application: FastAPI = request.getfixturevalue(name)
    return application


@pytest.fixture
async def committed_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The shared committed app, minus what the test left behind: the PostgreSQL
    database is shared by the whole run, and other tests count users and streams."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        async with application.state.sessionmaker() as s:
            before = {
                t: int(await s.scalar(text(f"SELECT coalesce(max(id), 0) FROM {t}")) or 0)
                for t in CLEANED_TABLES
            }
        try:
            yield application
        finally:
            async with application.state.sessionmaker() as s:
                for t in CLEANED_TABLES:  # streams first: their lineup holds products
                    await s.execute(text(f"DELETE FROM {t} WHERE id > :id"), {"id": before[t]})
                await s.commit()


@pytest.fixture
async def served(real_app: FastAPI) -> AsyncIterator[tuple[FastAPI, str]]:
    """`real_app` served by uvicorn in this event loop: (app, "127.0.0.1:port")."""
    async with serving(real_app) as port:
        yield real_app, f"127.0.0.1:{port}"
