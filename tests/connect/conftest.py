"""Fixtures of the connect tests: the app with committed rows (the webhook dispatcher and
the connectors work in transactions of their own), and a real local HTTP receiver."""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from app.models import StreamStatus
from tests.conftest import REDIS_URL, make_settings
from tests.controls.conftest import Crew, add_lineup, make_stream, set_status


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def json(self) -> dict[str, Any]:
        return dict(orjson.loads(self.body))


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records every request and answers with
    `answer(n)` for the n-th request (0-based): a status code, or None to hang."""

    answer: Callable[[int], int | None] = lambda n: 200
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    hang: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def accepted(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if 200 <= r.answered < 300]

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    n = len(receiver.requests)
                    code = receiver.answer(n)
                    receiver.requests.append(Received(dict(self.headers.items()), body, code or 0))
                if code is None:
                    receiver.hang.wait(10)
                    return
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.hang.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    r.stop()


def connect_settings(tmp_path: Path, pg_database: str, redis_prefix: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": pg_database,
        "redis_url": REDIS_URL,
        "redis_prefix": redis_prefix,
        "webhook_allow_private": True,
        "webhook_backoff_seconds": 0.05,
        "webhook_poll_seconds": 0.05,
        "webhook_timeout_seconds": 1.0,
        "webhook_max_tries": 5,
        "replay_lease_seconds": 2.0,
        "replay_poll_seconds": 0.1,
    }
    values.update(extra)
    return make_settings(tmp_path, **values)


@pytest.fixture
async def connect_app(
    tmp_path: Path, pg_database: str, redis_prefix: str
) -> AsyncIterator[FastAPI]:
    application = create_app(connect_settings(tmp_path, pg_database, redis_prefix))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def cclient(connect_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=connect_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@dataclass
class LiveRoom:
    stream_id: int
    product_ids: list[int]
    ctl: dict[str, str]
    analyst: dict[str, str]
    crew: Crew


@pytest.fixture
async def live_room(connect_app: FastAPI, cclient: httpx.AsyncClient) -> LiveRoom:
    maker = connect_app.state.sessionmaker
    crew = await Crew(maker, connect_app.state.settings).setup()
    tag = uuid.uuid4().hex[:6]
    ctl = await crew.user(f"ctl{tag}", "controller")
    analyst = await crew.user(f"ana{tag}", "analyst")
    sid = await make_stream(cclient, ctl)
    await crew.join(sid, f"ana{tag}", "analyst")
    pids = await add_lineup(maker, sid)
    await set_status(maker, sid, StreamStatus.live)
    return LiveRoom(sid, pids, ctl, analyst, crew)
