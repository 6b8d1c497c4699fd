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
the N consoles open at once (a reconnect storm), another client in its own process asks
`GET /healthz` and (ours) `GET /api/v1/streams/{id}/metrics` (database + Redis) in turn,
then rests 20 ms: "another request's p99" is their latency during the storm, beside
their p99 over the 3 s before the storm and the 3 s after it. The server's full
collections (CPython's stop-the-world pass) during the storm and after it are read from
its /metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
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


def probe_process(urls: list[str], headers: dict[str, str], conn: Any) -> None:
    """Other requests, in their own process: GET each of `urls` in turn, then 20 ms of
    rest, until told to stop. Sends back (url index, start time, latency in seconds) for
    every request. Its own process, so that the console clients' busy loop is not counted
    in the server's latency.
    """

    async def run() -> list[tuple[int, float, float]]:
        out: list[tuple[int, float, float]] = []
        async with httpx.AsyncClient(headers=headers, timeout=60) as c:
            conn.send("ready")
            while not conn.poll():
                for i, url in enumerate(urls):
                    t0, p0 = time.time(), time.perf_counter()
                    await c.get(url)
                    out.append((i, t0, time.perf_counter() - p0))
                await asyncio.sleep(0.02)
        return out

    conn.send(asyncio.run(run()))


def full_collections(port: int) -> tuple[int, float]:
    """The server's full collections so far: (how many, seconds in all); (0, 0) if it
    does not count them (the naive server)."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    count = total = 0.0
    for line in text.splitlines():
        if line.startswith('controlroom_gc_pause_seconds_count{generation="2"}'):
            count = float(line.rsplit(" ", 1)[1])
        elif line.startswith('controlroom_gc_pause_seconds_sum{generation="2"}'):
            total = float(line.rsplit(" ", 1)[1])
    return int(count), total


def window_p99(
    samples: list[tuple[int, float, float]], url: int, start: float, end: float
) -> dict[str, float]:
    ms = sorted(lat * 1000 for i, t, lat in samples if i == url and start <= t < end)
    if not ms:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return {"n": len(ms), "p50": ms[len(ms) // 2], "p99": p99, "max": ms[-1]}


async def measure(
    port: int,
    path: str,
    clients: int,
    seconds: float,
    pid: int,
    feed: Any = None,
    first_message: bool = False,
    probe_paths: tuple[str, ...] = ("/healthz",),
    probe_headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    sink: list[float] = []
    counting = [False]
    probe_urls = [f"http://127.0.0.1:{port}{path}" for path in probe_paths]
    # One client asks all along: 3 s before the storm (what "keeps its p99" is compared
    # with), during it, and for 3 s after it (a pause put off until then shows there).
    here, there = multiprocessing.get_context("spawn").Pipe()
    prober = multiprocessing.get_context("spawn").Process(
        target=probe_process, args=(probe_urls, probe_headers or {}, there)
    )
    prober.start()
    await asyncio.to_thread(here.recv)  # its client is made
    quiet_start = time.time() + 0.5  # its first requests warm its connection
    await asyncio.sleep(3.5)
    rss0 = rss_kib(pid)  # after the quiet probe: its warm-up is not the consoles' memory
    gc0 = full_collections(port)
    storm_start = time.time()
    start = time.perf_counter()
    conns = await connect_all(port, path, clients, sink, counting, first_message)
    opened = time.perf_counter() - start
    storm_end = time.time()
    gc1 = full_collections(port)
    await asyncio.sleep(3)  # settle: nothing changing yet
    gc2 = full_collections(port)
    here.send("stop")
    samples = await asyncio.to_thread(here.recv)
    prober.join()
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
    result["probes"] = {
        path: {
            "quiet": window_p99(samples, i, quiet_start, storm_start),
            "storm": window_p99(samples, i, storm_start, storm_end),
            "after": window_p99(samples, i, storm_end, storm_end + 3),
        }
        for i, path in enumerate(probe_paths)
    }
    result["gc_storm"] = (gc1[0] - gc0[0], (gc1[1] - gc0[1]) * 1000)
    result["gc_after"] = (gc2[0] - gc1[0], (gc2[1] - gc1[1]) * 1000)
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
                    # other requests meanwhile: the naive server's /healthz (what the
                    # event loop alone gives) and the stream's metrics (database + Redis)
                    probe_paths=("/healthz", f"/api/v1/streams/{stream_id}/metrics"),
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
            f"(all open in {r['opened_s']:.1f} s)"
        )
        for path, w in r["probes"].items():
            name = "/healthz" if path == "/healthz" else "metrics"
            print(
                f"       {name:>8} p50 / p99 (max) ms: before the storm "
                f"{w['quiet']['p50']:.0f} / {w['quiet']['p99']:.0f} ({w['quiet']['max']:.0f}) "
                f"over {w['quiet']['n']}; during it {w['storm']['p50']:.0f} / "
                f"{w['storm']['p99']:.0f} ({w['storm']['max']:.0f}) over {w['storm']['n']}; "
                f"3 s after it {w['after']['p50']:.0f} / {w['after']['p99']:.0f} "
                f"({w['after']['max']:.0f}) over {w['after']['n']}"
            )
        if r["gc_storm"][0] or r["gc_after"][0]:
            print(
                f"       full collections: {r['gc_storm'][0]} during the storm "
                f"({r['gc_storm'][1]:.0f} ms), {r['gc_after'][0]} in the 3 s after it "
                f"({r['gc_after'][1]:.0f} ms)"
            )
    ours, naive = rows["ours"], rows["naive"]
    ours_h, naive_h = ours["probes"]["/healthz"], naive["probes"]["/healthz"]
    print(
        f"\nratio naive/ours p99: {naive['p99'] / ours['p99']:.1f}x; "
        f"goal p99 < 100 ms: {'met' if ours['p99'] < 100 else 'not met'}; "
        f"goal <= 20 KiB per idle console: "
        f"{'met' if ours['kib_per_idle_conn'] <= 20 else 'not met'}; "
        f"all open in {ours['opened_s']:.1f} s (naive {naive['opened_s']:.1f} s, goal <= 4 s "
        f"on a quiet machine): {ours['opened_s'] / naive['opened_s']:.2f}x the naive time; "
        f"/healthz p99 {ours_h['quiet']['p99']:.0f} ms before the storm, "
        f"{ours_h['storm']['p99']:.0f} ms during it (naive {naive_h['quiet']['p99']:.0f} → "
        f"{naive_h['storm']['p99']:.0f} ms)"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
