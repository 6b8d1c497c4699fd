"""Fixtures of the order tests: the same test on PostgreSQL + Redis and on SQLite."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.orders.helpers import Listing, viewer_headers


@dataclass
class Env:
    app: FastAPI
    client: httpx.AsyncClient
    maker: async_sessionmaker[AsyncSession]

    def viewer(self, listing: Listing, viewer: str, key: str | None = None) -> dict[str, str]:
        return viewer_headers(self.app, listing.stream_id, viewer, key)

    async def order(
        self, listing: Listing, viewer: str, key: str, quantity: int = 1, **extra: Any
    ) -> httpx.Response:
        body = {"product_id": listing.product_id, "quantity": quantity, **extra}
        return await self.client.post(
            listing.orders_url, json=body, headers=self.viewer(listing, viewer, key)
        )


@pytest.fixture(params=["pg_redis", "embedded"])
def env(request: pytest.FixtureRequest, pg_database: str) -> Env:
    if request.param == "pg_redis":
        app: FastAPI = request.getfixturevalue("app")
        client: httpx.AsyncClient = request.getfixturevalue("client")
    else:
        app = request.getfixturevalue("embedded_app")
        client = request.getfixturevalue("embedded_client")
    return Env(app, client, app.state.sessionmaker)


@pytest.fixture(params=["pg_redis", "embedded"])
def committed_env(request: pytest.FixtureRequest, pg_database: str) -> Env:
    """Like `env`, but PostgreSQL rows are really committed (for races over many
    connections); the embedded app always commits."""
    if request.param == "pg_redis":
        app: FastAPI = request.getfixturevalue("committed_app")
        client: httpx.AsyncClient = request.getfixturevalue("committed_client")
    else:
        app = request.getfixturevalue("embedded_app")
        client = request.getfixturevalue("embedded_client")
    return Env(app, client, app.state.sessionmaker)
