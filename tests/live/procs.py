"""Real `controlroom serve` processes and a console client that follows the live
protocol exactly as `frontend/src/live/socket.ts` does (positions, `?since=`, repeats
dropped by id), for the restart, crash and Redis-restart tests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from app.config import PROJECT_ROOT
from tests.conftest import TEST_PASSWORD, free_port

SECRET = "process-test-secret-0123456789abcdef"


@contextmanager
def serve(
    env: dict[str, str], port: int | None = None, log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`controlroom serve` with `env` on top of a clean environment: (host:port, process).
    Embedded mode unless `env` names DATABASE_URL / REDIS_URL."""
    port = port or free_port()
    base_env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DATA_DIR")
    }
    full = {
        **base_env,
        "SECRET_KEY": SECRET,
        "ADMIN_PASSWORD": TEST_PASSWORD,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(PROJECT_ROOT),
        **env,
    }
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=full,
        stdout=out,
        stderr=out,
    )
    base = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "server exited early"
            assert time.monotonic() < deadline, "server did not start"
            try:
                if httpx.get(f"http://{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base, proc
    finally:
        if proc.poll() is None:  # a graceful stop (a test that wants a crash kills it)
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.wait(timeout=10)
        if log:
            out.close()  # type: ignore[union-attr]


async def admin_token(client: httpx.AsyncClient, base: str) -> str:
    r = await client.post(
        f"http://{base}/api/v1/auth/login", json={"username": "admin", "password": TEST_PASSWORD}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def live_stream_via_api(client: httpx.AsyncClient, base: str, token: str) -> int:
    """A stream created and forced live through the API (any backend)."""
    hdr = {"Authorization": f"Bearer {token}"}
    r = await client.post(f"http://{base}/api/v1/streams", json={"title": "重启"}, headers=hdr)
    assert r.status_code == 201, r.text
    sid = int(r.json()["id"])
    r = await client.post(
        f"http://{base}/api/v1/streams/{sid}/schedule",
        json={"scheduled_start": datetime.now(UTC).isoformat()},
        headers=hdr,
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"http://{base}/api/v1/streams/{sid}/go-live", json={"force": True}, headers=hdr
    )
    assert r.status_code == 200, r.text
    return sid


async def post_cue(
    client: httpx.AsyncClient, base: str, token: str, stream_id: int, text: str
) -> httpx.Response:
    return await client.post(
        f"http://{base}/api/v1/streams/{stream_id}/cues",
        json={"text": text},
        headers={"Authorization": f"Bearer {token}"},
    )


@dataclass
class Console:
    """A staff console: keeps its position like socket.ts and hands over every event it
    accepts. `connect(base)` opens (resuming from its position if it has one)."""

    stream_id: int
    token: str
    epoch: str | None = None
    seq: int | None = None
    seen_ids: set[int] = field(default_factory=set)
    events: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    ws: ClientConnection | None = None

    @property
    def position(self) -> str | None:
        if self.epoch is None or self.seq is None:
            return None
        return f"{self.epoch}:{self.seq}"

    async def open(self, base: str, since: str | None = None) -> dict[str, Any]:
        """Open and read the snapshot; `since` overrides the position sent."""
        url = f"ws://{base}/ws/streams/{self.stream_id}?token={self.token}"
        since = since if since is not None else self.position
        if since is not None:
            url += f"&since={since}"
        self.ws = await connect(url, open_timeout=20, max_size=None)
        snap = await self._next()
        assert snap["type"] == "snapshot", snap
        return snap

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    def _take(self, msg: dict[str, Any]) -> bool:
        if msg["type"] == "snapshot":
            if not (msg.get("resumed") is True and self.seq is not None):
                self.epoch, self.seq = msg.get("epoch"), msg["seq"]
            self.snapshots.append(msg)
            return False
        if "seq" not in msg:
            return False
        epoch = msg.get("epoch")
        if epoch == self.epoch and self.seq is not None and msg["seq"] <= self.seq:
            return False
        eid = msg.get("id")
        if isinstance(eid, int):
            if eid in self.seen_ids:
                return False
            self.seen_ids.add(eid)
        self.epoch, self.seq = epoch, msg["seq"]
        self.events.append(msg)
        return True

    async def _next(self) -> dict[str, Any]:
        assert self.ws is not None
        while True:
            msg = orjson.loads(await self.ws.recv())
            if msg["type"] in ("metrics", "ping", "pong"):
                continue
            self._take(msg)
            return dict(msg)

    async def until(self, check: Any, within: float = 20) -> None:
        """Read until `check(self)` holds."""
        async with asyncio.timeout(within):
            while not check(self):
                await self._next()

    def texts(self, kind: str = "cue") -> list[str]:
        return [str(e["data"]["text"]) for e in self.events if e["type"] == kind]
