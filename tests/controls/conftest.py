"""Helpers for the live-controls tests: a stream with a lineup, and an event listener."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import LineupItem, Product, Role, Stream, StreamStatus, TeamMember, User
from app.security import create_token
from tests.conftest import bearer

_sku = itertools.count(1)


@dataclass
class Room:
    """A stream with a team and a lineup, as most control tests need."""

    stream_id: int
    product_ids: list[int]
    ctl: dict[str, str]
    host: dict[str, str]
    svc: dict[str, str]
    analyst: dict[str, str]


async def make_stream(
    client: httpx.AsyncClient, headers: dict[str, str], title: str = "测试场"
) -> int:
    r = await client.post("/api/v1/streams", json={"title": title}, headers=headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def add_lineup(
    maker: async_sessionmaker[AsyncSession],
    stream_id: int,
    n: int = 3,
    stock: int = 100,
    sold: int = 0,
) -> list[int]:
    """Products and lineup rows straight in the database (the planning API owns that)."""
    ids = []
    async with maker() as s:
        for i in range(n):
            p = Product(
                sku=f"SKU-{next(_sku)}-{stream_id}",
                name=f"商品{i}",
                list_price=Decimal("99.00"),
                stock=1000,
            )
            s.add(p)
            await s.flush()
            s.add(
                LineupItem(
                    stream_id=stream_id,
                    product_id=p.id,
                    position=i + 1,
                    live_price=Decimal("59.90"),
                    allotted_stock=stock,
                    sold_units=sold,
                )
            )
            ids.append(p.id)
        await s.commit()
    return ids


async def set_status(
    maker: async_sessionmaker[AsyncSession], stream_id: int, status: StreamStatus
) -> None:
    async with maker() as s:
        await s.execute(update(Stream).where(Stream.id == stream_id).values(status=status))
        await s.commit()


async def set_sold(
    maker: async_sessionmaker[AsyncSession], stream_id: int, product_id: int, sold: int
) -> None:
    async with maker() as s:
        await s.execute(
            update(LineupItem)
            .where(LineupItem.stream_id == stream_id, LineupItem.product_id == product_id)
            .values(sold_units=sold)
        )
        await s.commit()


class Crew:
    """Staff users made straight in the database with tokens minted directly.

    The foundation tests cover login; here it would only spend argon2 time per user.
    """

    def __init__(self, maker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.maker = maker
        self.settings = settings
        self.ids: dict[str, int] = {}
        self.admin: dict[str, str] = {}

    def token_for(self, user_id: int) -> dict[str, str]:
        token, _ = create_token(
            self.settings.secret_key, str(user_id), "access", timedelta(hours=1)
        )
        return bearer(token)

    async def setup(self) -> Crew:
        async with self.maker() as s:
            admin_id = await s.scalar(select(User.id).where(User.username == "admin"))
        assert admin_id is not None
        self.admin = self.token_for(admin_id)
        return self

    async def user(self, username: str, role: str) -> dict[str, str]:
        async with self.maker() as s:
            user = User(username=username, password_hash="!", role=Role(role))
            s.add(user)
            await s.commit()
        self.ids[username] = user.id
        return self.token_for(user.id)

    async def join(self, stream_id: int, username: str, role: str) -> None:
        async with self.maker() as s:
            s.add(TeamMember(stream_id=stream_id, user_id=self.ids[username], role=Role(role)))
            await s.commit()


@pytest.fixture
async def crew(app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]) -> Crew:
    return await Crew(sessionmaker, app.state.settings).setup()


@pytest.fixture
async def room(
    client: httpx.AsyncClient,
    crew: Crew,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> Room:
    ctl = await crew.user("ctl", "controller")
    host = await crew.user("host", "host")
    svc = await crew.user("svc", "service")
    analyst = await crew.user("ana", "analyst")
    sid = await make_stream(client, ctl)
    for name, role in (("host", "host"), ("svc", "service"), ("ana", "analyst")):
        await crew.join(sid, name, role)
    pids = await add_lineup(sessionmaker, sid)
    await set_status(sessionmaker, sid, StreamStatus.live)
    return Room(sid, pids, ctl, host, svc, analyst)


@dataclass
class EventLog:
    """Every discrete event published on one stream's channel, as the consoles get it."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handler(self, channel: str, raw: bytes) -> None:
        self.messages.append(orjson.loads(raw))
        self._changed.set()

    def types(self) -> list[str]:
        return [m["type"] for m in self.messages]

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == type_]

    async def wait_for(self, type_: str, count: int = 1, within: float = 3.0) -> None:
        async with asyncio.timeout(within):
            while len(self.of(type_)) < count:
                self._changed.clear()
                await self._changed.wait()

    async def settle(self, seconds: float = 0.2) -> None:
        """Give any stray event time to arrive (to prove that none was sent)."""
        await asyncio.sleep(seconds)


@pytest.fixture
def listen(app: FastAPI) -> Callable[[int], Any]:
    return lambda stream_id: _listen(app, stream_id)


class _listen:
    def __init__(self, app: FastAPI, stream_id: int) -> None:
        self.app = app
        self.stream_id = stream_id
        self.log = EventLog()

    async def __aenter__(self) -> EventLog:
        live = self.app.state.live
        await live.broker.subscribe(live.events_channel(self.stream_id), self.log.handler)
        return self.log

    async def __aexit__(self, *exc: object) -> None:
        live = self.app.state.live
        await live.broker.unsubscribe(live.events_channel(self.stream_id), self.log.handler)


@pytest.fixture
async def events(app: FastAPI, room: Room) -> AsyncIterator[EventLog]:
    async with _listen(app, room.stream_id) as log:
        yield log
