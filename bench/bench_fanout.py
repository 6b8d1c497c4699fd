"""Websocket fan-out: 5,000 consoles receiving 4 Hz metrics; ours vs the naive loop.

    python bench/bench_fanout.py [--clients 5000] [--seconds 10]

Ours: a real `controlroom serve` (PostgreSQL + Redis), a live stream, N staff consoles
on `/ws/streams/{id}`; a feeder ingests one like every 50 ms so every tick has a change
and the ticker sends `metrics` at settings.metrics_hz (4 Hz). Naive: the FastAPI docs'
ConnectionManager (`bench/naive_servers.py fanout`), a 4 Hz loop awaiting `send_json`
on each socket in turn, same uvicorn settings (sansio, no compression).

The clients are one light asyncio process: raw sockets, a hand-written handshake and
frame reader (a websockets-library client would double the measured latency by
itself, performance.md). Latency = client receive time − the message's `ts` (set when
the server built it; same machine clock). Memory per idle connection = growth of the
server's RSS from 0 to N connected consoles on a stream with nothing changing. While
the N consoles open at once (a reconnect storm), another client asks
`GET /api/v1/streams/{id}/metrics` every 20 ms (the naive server: `/healthz`, whatever
it answers): "another request's p99" is that request's latency during the storm, beside
its p99 over the 3 s before the storm.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_support import (
    ROOT,
    admin_token,
    app_server,
    free_port,
    fresh_database,
    ingest_key,
    live_stream,
    machine,
    process,
    redis_prefix,
    rss_kib,
    server_env,
)


class Client(asyncio.Protocol):
    """A minimal websocket client: handshake, then read unmasked server frames."""

    def __init__(
        self, request: bytes, sink: list[float], counting: list[bool], first_message: bool
    ) -> None:
        self.request = request
        self.buf = bytearray()
        self.open = False
        # Ready once upgraded, or (ours) once the first message — the snapshot — came.
        self.first_message = first_message
        self.ready = asyncio.get_running_loop().create_future()
        self.sink = sink
        self.counting = counting
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.open:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buf.startswith(b"HTTP/1.1 101"):
                if not self.ready.done():
                    self.ready.set_exception(RuntimeError(bytes(self.buf[:80]).decode()))
                return
            del self.buf[: end + 4]
            self.open = True
            if not self.first_message and not self.ready.done():
                self.ready.set_result(None)
        now = time.time()
        buf = self.buf
        while len(buf) >= 2:
            n = buf[1] & 0x7F
            head = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, head = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, head = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < head + n:
                return
            payload = bytes(buf[head : head + n])
            del buf[: head + n]
            if not self.ready.done():
                self.ready.set_result(None)
            # '{"type":"metrics","ts":"2026-11-24T03:00:00.123456+00:00",...'
            if self.counting[0] and payload.startswith(b'{"type":"metrics","ts":"'):
                ts = payload[24 : payload.index(b'"', 24)].decode()
                self.sink.append(now - datetime.fromisoformat(ts).timestamp())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed"))


async def connect_all(
    port: int,
    path: str,
    n: int,
    sink: list[float],
    counting: list[bool],
    first_message: bool = False,
) -> list[Client]:
    loop = asyncio.get_running_loop()
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    clients: list[Client] = []
    sem = asyncio.Semaphore(200)

    async def one() -> None:
        async with sem:
            _, proto = await loop.create_connection(
                lambda: Client(request, sink, counting, first_message), "127.0.0.1", port
            )
            await asyncio.wait_for(proto.ready, 60)
            clients.append(proto)

    await asyncio.gather(*(one() for _ in range(n)))
    return clients


async def feed_likes(base: str, stream_id: int, key: str, stop: asyncio.Event) -> None:
    run = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(headers={"X-Ingest-Key": key}) as c:
        i = 0
        while not stop.is_set():
            await c.post(
                f"{base}/api/v1/streams/{stream_id}/events",
                json={"events": [{"type": "like", "user_id": "f", "event_id": f"{run}{i}"}]},
            )
            i += 1
            await asyncio.sleep(0.05)


def summarize(lat: list[float], clients: int, seconds: float) -> dict[str, Any]:
    lat_ms = sorted(x * 1000 for x in lat)
    q = statistics.quantiles(lat_ms, n=100) if len(lat_ms) > 100 else [float("nan")] * 99
    return {
        "messages": len(lat_ms),
        "per_client_hz": len(lat_ms) / clients / seconds,
        "p50": q[49],
        "p99": q[98],
        "max": lat_ms[-1] if lat_ms else float("nan"),
    }


async def probe(url: str, headers: dict[str, str], stop: asyncio.Event, out: list[float]) -> None:
    """Another request, over and over while the consoles open: its latency (seconds)."""
    async with httpx.AsyncClient(headers=headers, timeout=60) as c:
        while not stop.is_set():
            t0 = time.perf_counter()
            await c.get(url)
            out.append(time.perf_counter() - t0)
            await asyncio.sleep(0.02)


async def measure(
    port: int,
    path: str,
    clients: int,
    seconds: float,
    pid: int,
    feed: Any = None,
    first_message: bool = False,
    probe_path: str = "/healthz",
    probe_headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    sink: list[float] = []
    counting = [False]
    probe_url = f"http://127.0.0.1:{port}{probe_path}"
    # the same request without a storm first: what "keeps its p99" is compared with
    quiet_stop = asyncio.Event()
    quiet_lat: list[float] = []
    quiet = asyncio.create_task(probe(probe_url, probe_headers or {}, quiet_stop, quiet_lat))
    await asyncio.sleep(3)
    quiet_stop.set()
    await quiet
    rss0 = rss_kib(pid)  # after the quiet probe: its warm-up is not the consoles' memory
    probe_stop = asyncio.Event()
    probe_lat: list[float] = []
    prober = asyncio.create_task(probe(probe_url, probe_headers or {}, probe_stop, probe_lat))
    start = time.perf_counter()
    conns = await connect_all(port, path, clients, sink, counting, first_message)
    opened = time.perf_counter() - start
    probe_stop.set()
    await prober
    await asyncio.sleep(3)  # settle: nothing changing yet
    rss_idle = rss_kib(pid)
    stop = asyncio.Event()
    feeder = asyncio.create_task(feed(stop)) if feed else None
    await asyncio.sleep(1)
    counting[0] = True
    await asyncio.sleep(seconds)
    counting[0] = False
    stop.set()
    if feeder:
        await feeder
    for c in conns:
        if c.transport:
            c.transport.close()
    result = summarize(sink, clients, seconds)
    result["kib_per_idle_conn"] = (rss_idle - rss0) / clients
    result["opened_s"] = opened
    for name, lat in (("probe", probe_lat), ("quiet", quiet_lat)):
        ms = sorted(x * 1000 for x in lat)
        result[f"{name}_p99"] = ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan")
        result[f"{name}s"] = len(ms)
    return result


def run_ours(clients: int, seconds: float) -> dict[str, Any]:
    with fresh_database("fanout") as db, redis_prefix() as prefix:
        stream_id, _ = asyncio.run(live_stream(db))
        with app_server(db, prefix) as (port, proc):
            base = f"http://127.0.0.1:{port}"
            key = asyncio.run(ingest_key(base, stream_id))
            token = asyncio.run(admin_token(base))
            path = f"/ws/streams/{stream_id}?token={token}"
            return asyncio.run(
                measure(
                    port,
                    path,
                    clients,
                    seconds,
                    proc.pid,
                    lambda stop: feed_likes(base, stream_id, key, stop),
                    first_message=True,  # a console is open once its snapshot came
                    # another request meanwhile: the stream's metrics (database + Redis)
                    probe_path=f"/api/v1/streams/{stream_id}/metrics",
                    probe_headers={"Authorization": f"Bearer {token}"},
                )
            )


def run_naive(clients: int, seconds: float) -> dict[str, Any]:
    port = free_port()
    args = [sys.executable, str(ROOT / "bench" / "naive_servers.py"), "fanout"]
    env = server_env("", "")
    with process([*args, "--port", str(port)], env, port) as proc:
        return asyncio.run(measure(port, "/ws/streams/1", clients, seconds, proc.pid))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"machine: {machine()}")
    print(f"{args.clients} consoles, {args.seconds:.0f} s measured, metrics at 4 Hz\n")
    rows = {"ours": run_ours(args.clients, args.seconds)}
    rows["naive"] = run_naive(args.clients, args.seconds)
    for name, r in rows.items():
        print(
            f"{name:>5}: p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  max {r['max']:7.1f} ms  "
            f"{r['per_client_hz']:.2f} msg/s per console  "
            f"{r['kib_per_idle_conn']:.1f} KiB per idle connection  "
            f"(all open in {r['opened_s']:.1f} s; another request's p99 meanwhile "
            f"{r['probe_p99']:.0f} ms over {r['probes']}, without the storm "
            f"{r['quiet_p99']:.0f} ms over {r['quiets']})"
        )
    ours, naive = rows["ours"], rows["naive"]
    print(
        f"\nratio naive/ours p99: {naive['p99'] / ours['p99']:.1f}x; "
        f"goal p99 < 100 ms: {'met' if ours['p99'] < 100 else 'not met'}; "
        f"goal <= 20 KiB per idle console: "
        f"{'met' if ours['kib_per_idle_conn'] <= 20 else 'not met'}; "
        f"all open in {ours['opened_s']:.1f} s (naive {naive['opened_s']:.1f} s, goal <= 4 s "
        f"on a quiet machine): {ours['opened_s'] / naive['opened_s']:.2f}x the naive time; "
        f"another request's p99 meanwhile {ours['probe_p99']:.0f} ms "
        f"(naive {naive['probe_p99']:.0f} ms)"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
