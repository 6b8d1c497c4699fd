"""A real server in a subprocess and Debian's Chromium, for the browser tests and the
screenshot script. No mocks: the consoles talk to `controlroom serve` on PostgreSQL and
Redis exactly as in production.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "frontend" / "dist"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PG_ADMIN_DSN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "browser-pass-123"


def browser_required() -> bool:
    """CI and `REQUIRE_BROWSER=1` turn a missing browser or build into a failure."""
    return os.environ.get("REQUIRE_BROWSER") == "1" or os.environ.get("CI") == "true"


def missing_prerequisites() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)"
    if not (DIST / "index.html").exists():
        return f"{DIST}/index.html is missing: build the consoles first (make frontend)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_admin(sql: str) -> None:
    """Run one admin statement. In a thread of its own: sync Playwright keeps an event
    loop running in the main thread, where asyncio.run() is not allowed."""

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


@dataclass
class Server:
    base_url: str
    admin_token: str
    secret_key: str
    users: dict[str, int] = field(default_factory=dict)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=15)

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        """An API call that must succeed; returns the JSON body (None for 204)."""
        with self.client(token) as c:
            r = c.request(method, path, **kw)
        assert r.status_code < 300, f"{method} {path} → {r.status_code} {r.text}"
        return r.json() if r.content else None

    def login(self, username: str) -> str:
        with httpx.Client(base_url=self.base_url, timeout=15) as c:
            r = c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def user(self, username: str, role: str) -> int:
        if username not in self.users:
            body = self.call(
                "POST",
                "/api/v1/users",
                json={"username": username, "password": PASSWORD, "role": role},
            )
            self.users[username] = int(body["id"])
        return self.users[username]

    def join(self, stream_id: int, username: str, role: str) -> None:
        self.call(
            "PUT", f"/api/v1/streams/{stream_id}/team/{self.users[username]}", json={"role": role}
        )

    def has_path(self, path: str) -> bool:
        """Whether the backend (as built into this server) serves an API path."""
        with httpx.Client(base_url=self.base_url, timeout=15) as c:
            schema = c.get("/openapi.json").json()
        return path in schema.get("paths", {})


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]


@contextmanager
def running_server(tmp: Path) -> Iterator[Server]:
    """`controlroom serve` on a free port, a fresh PostgreSQL database and its own Redis
    prefix; killed and the database dropped afterwards."""
    db = f"lcr_browser_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{db}"')
    port = free_port()
    secret = uuid.uuid4().hex + uuid.uuid4().hex
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db}",
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": f"lcrbrowser:{uuid.uuid4().hex[:8]}:",
        "SECRET_KEY": secret,
        "ADMIN_PASSWORD": PASSWORD,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATA_DIR": str(tmp / "data"),
        "STATIC_DIR": str(DIST),
        "LOG_LEVEL": "WARNING",
        # PostgreSQL is shared with the rest of the suite (100 connections), but the server's
        # background work (tickers, alerts, schedulers) and the consoles' requests need
        # more than 4: with 4 (+4 overflow) requests and snapshots waited for connections.
        "DB_POOL_SIZE": "10",
        # Webhook receivers of the tests listen on 127.0.0.1 (the SSRF guard is off here).
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WEBHOOK_BACKOFF_SECONDS": "0.2",
        "WEBHOOK_POLL_SECONDS": "0.2",
    }
    log_path = tmp / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {_tail(log_path)}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready: {_tail(log_path)}")
            time.sleep(0.2)
        r = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        yield Server(base_url=base, admin_token=str(r.json()["access_token"]), secret_key=secret)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        _pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@dataclass
class Room:
    """A live stream with a lineup and a team (controller, host, service), made via the API."""

    stream_id: int
    product_ids: list[int]
    names: list[str]


def make_room(server: Server, tag: str, products: int = 2, stock: int = 20) -> Room:
    stream = server.call("POST", "/api/v1/streams", json={"title": f"直播间 {tag}"})
    sid = int(stream["id"])
    ids, names = [], []
    for i in range(products):
        name = f"{['保湿面霜', '防晒喷雾', '修护精华'][i % 3]} {tag}"
        p = server.call(
            "POST",
            "/api/v1/products",
            json={
                "sku": f"SKU-{tag}-{i}",
                "name": name,
                "list_price": "129.00",
                "stock": 1000,
                "qc_status": "passed",
                "selling_points": ["24 小时保湿", "敏感肌可用", "买一送一"],
            },
        )
        server.call(
            "POST",
            f"/api/v1/streams/{sid}/lineup",
            json={"product_id": p["id"], "live_price": "59.90", "allotted_stock": stock},
        )
        ids.append(int(p["id"]))
        names.append(name)
    for username, role in (
        (f"ctl_{tag}", "controller"),
        (f"host_{tag}", "host"),
        (f"svc_{tag}", "service"),
    ):
        server.user(username, role)
        server.join(sid, username, role)
    start = datetime.now(UTC).isoformat()
    server.call("POST", f"/api/v1/streams/{sid}/schedule", json={"scheduled_start": start})
    server.call("POST", f"/api/v1/streams/{sid}/go-live", json={"force": True})
    return Room(sid, ids, names)
