"""Flash sale (秒杀): 20,000 attempts from 20,000 viewers for 500 units, against a real
server, beside the naive read-then-write version in the same run.

    .venv/bin/python bench/bench_flash_sale.py [--attempts 20000] [--units 500]
        [--concurrency 200] [--workers 1 2] [--skip-naive] [--client-only] [--ingest-key]

What runs:

* ours: `controlroom serve` (uvicorn, httptools, uvloop) on a fresh PostgreSQL database
  and Redis; a flash sale of `units` units, 1 per viewer, launched through the API; every
  attempt is `POST /api/v1/streams/{id}/orders` with its own viewer token and
  Idempotency-Key. The stock is taken by the Redis Lua script; a sold-out answer never
  touches PostgreSQL.
* ours, ingest key (`--ingest-key`): the same number of attempts through the stream's
  `X-Ingest-Key` with `viewer_id` (a merchant backend, contract.md), for the lineup's
  ordinary stock of `units` units. The key is verified once and believed for a moment;
  sold-out refusals are answered by the fast path without a database connection.
* naive: the same request shape served by `bench/naive_flash_sale.py` (uvicorn, same
  database and pool): read the stock and the viewer's orders, then insert the order and
  write back `sold = <what was read> + 1` — what a user would write first.

The load generator is a raw asyncio HTTP/1.1 client on uvloop (keep-alive connections,
one request in flight per connection) in this process, apart from the server's: httpx
tops out far below the server (performance.md). It shares the two cores with the
server, PostgreSQL and Redis; each line reports its CPU per attempt, and
`--client-only` measures it alone against a trivial server that answers every request
with a fixed 409 (its ceiling, far above the server's).

Before the timed run, `concurrency` connections send a few orders for a product that is
not on sale, so that the server's pools (database, Redis) are as a server that has been
serving that many viewers has them; the figures are then those of the flash sale itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import redis.asyncio as aioredis
import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db import create_engine, make_sessionmaker  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.models import LineupItem, ListingStatus, Product, Stream, StreamStatus  # noqa: E402
from app.security import create_token  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-secret-key-0123456789abcdef0123"
ADMIN_PASSWORD = "bench-admin-password"
LOG_PATH = ROOT / "data" / "bench_flash_sale.log"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- raw client


@dataclass
class Reply:
    status: int
    body: bytes
    seconds: float


class Conn:
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
        head += "Content-Type: application/json\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        t0 = time.perf_counter()
        self.writer.write(head.encode() + b"\r\n" + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        length = 0
        for line in raw.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        data = await self.reader.readexactly(length)
        return Reply(status, data, time.perf_counter() - t0)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def fire(
    port: int, path: str, attempts: list[tuple[dict[str, str], bytes]], concurrency: int
) -> tuple[list[Reply], float]:
    """Send every attempt over `concurrency` connections; (replies, wall seconds)."""
    queue = list(reversed(attempts))
    replies: list[Reply] = []

    async def worker() -> None:
        conn = Conn("127.0.0.1", port)
        try:
            while queue:
                headers, body = queue.pop()
                try:
                    reply = await asyncio.wait_for(conn.request("POST", path, headers, body), 60)
                    replies.append(reply)
                except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
                    conn.close()
                    conn = Conn("127.0.0.1", port)
                    replies.append(Reply(599, b"", 0.0))
        finally:
            conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return replies, time.perf_counter() - t0


TRIVIAL_BODY = b'{"detail":"sold out","code":"sold_out"}'


class _TrivialServer(asyncio.Protocol):
    """Answers every request with a fixed 409 (for --client-only); parses only the
    head's end and Content-Length."""

    answer = (
        b"HTTP/1.1 409 Conflict\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(TRIVIAL_BODY), TRIVIAL_BODY)
    )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport  # uvloop's TCPTransport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while (end := self.buf.find(b"\r\n\r\n")) >= 0:
            length = 0
            for line in self.buf[:end].split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length :]
            self.transport.write(self.answer)


def serve_trivial(port: int) -> None:
    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_TrivialServer, "127.0.0.1", port)
        await server.serve_forever()

    uvloop.run(serve())


async def run_client_only(args: argparse.Namespace) -> None:
    """The load generator alone: the same attempts against the trivial server."""
    port = free_port()
    argv = [sys.executable, __file__, "--serve-trivial", str(port)]
    proc = start_server(argv, dict(os.environ), port)
    try:
        attempts = viewer_attempts(1, 1, args.attempts, {"flash_sale_id": 1})
        cpu0 = time.process_time()
        replies, seconds = await fire(port, "/api/v1/streams/1/orders", attempts, args.concurrency)
        cpu = time.process_time() - cpu0
    finally:
        stop_server(proc)
    lat = sorted(r.seconds * 1000 for r in replies)
    print(
        f"client alone vs a trivial server: {len(replies) / seconds:,.0f} attempts/s  "
        f"p50 {statistics.median(lat):.1f} ms  p99 {lat[int(len(lat) * 0.99) - 1]:.1f} ms  "
        f"client CPU {cpu * 1e6 / len(replies):.0f} µs per attempt  "
        f"statuses {sorted({r.status for r in replies})}"
    )


# --------------------------------------------------------------------------- setup


async def create_database() -> str:
    name = f"lcr_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def seed(url: str, units: int) -> tuple[int, int]:
    """A live stream with one listed product of `units` units: (stream id, product id)."""
    engine = create_engine(url, pool_size=2)
    try:
        async with make_sessionmaker(engine)() as s:
            stream = Stream(title="秒杀压测", status=StreamStatus.live)
            product = Product(
                sku=f"BENCH-{uuid.uuid4().hex[:8]}",
                name="压测保温杯",
                list_price=Decimal("99.00"),
                stock=units * 10,
            )
            s.add_all([stream, product])
            await s.flush()
            s.add(
                LineupItem(
                    stream_id=stream.id,
                    product_id=product.id,
                    position=1,
                    live_price=Decimal("59.90"),
                    allotted_stock=units,
                    sold_units=0,
                    status=ListingStatus.listed,
                )
            )
            await s.commit()
            return stream.id, product.id
    finally:
        await engine.dispose()


def start_server(argv: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    # A file, not a pipe: a pipe nobody reads would stall the server once it fills.
    LOG_PATH.parent.mkdir(parents=True, exist_ok=True)
    log = open(LOG_PATH, "ab")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {LOG_PATH.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError("server did not start")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds (user + system) used so far by every process of the server's group:
    on a shared machine this is the figure that neighbours do not distort."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields[2] is the process group
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def server_env(url: str, prefix: str, pool: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DATABASE_URL=url,
        REDIS_URL=REDIS_URL,
        REDIS_PREFIX=prefix,
        SECRET_KEY=SECRET,
        ADMIN_PASSWORD=ADMIN_PASSWORD,
        LOG_LEVEL="WARNING",
        DB_POOL_SIZE=str(pool),
        DATA_DIR=str(ROOT / "data" / "bench"),
    )
    return env


def viewer_attempts(
    stream_id: int, product_id: int, n: int, extra: dict[str, object]
) -> list[tuple[dict[str, str], bytes]]:
    body = orjson.dumps({"product_id": product_id, "quantity": 1, **extra})
    out = []
    for i in range(n):
        viewer = f"bench-viewer-{i}"
        token, _ = create_token(SECRET, viewer, "viewer", timedelta(hours=1), stream_id=stream_id)
        out.append(
            ({"Authorization": f"Bearer {token}", "Idempotency-Key": f"k-{uuid.uuid4().hex}"}, body)
        )
    return out


# --------------------------------------------------------------------------- runs


@dataclass
class Result:
    name: str
    attempts: int
    seconds: float
    created: int
    sold_out: int
    other: dict[int, int]
    p50_ms: float
    p99_ms: float
    orders_in_db: int
    units_in_db: int
    viewers_over_limit: int
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    fast_refusals: int | None = None  # answered by the fast path (app/routers/order_fast_path.py)

    @property
    def rate(self) -> float:
        return self.attempts / self.seconds

    def line(self, units: int) -> str:
        oversold = max(0, self.units_in_db - units)
        return (
            f"{self.name:<28} {self.rate:>9,.0f} attempts/s  p50 {self.p50_ms:>7.1f} ms  "
            f"p99 {self.p99_ms:>7.1f} ms  201: {self.created:>5}  sold_out: {self.sold_out:>6}  "
            f"other: {self.other or '-'}  orders in DB: {self.orders_in_db}  "
            f"units: {self.units_in_db}  oversold: {oversold}  "
            f"viewers over limit: {self.viewers_over_limit}  "
            f"server CPU: {self.server_cpu:.1f} s = "
            f"{self.attempts / max(self.server_cpu, 1e-9):,.0f} attempts per CPU-second  "
            f"client CPU: {self.client_cpu * 1e6 / max(self.attempts, 1):.0f} µs per attempt"
            + ("" if self.fast_refusals is None else f"  fast-path refusals: {self.fast_refusals}")
        )


def summarize(name: str, replies: list[Reply], seconds: float) -> Result:
    lat = sorted(r.seconds * 1000 for r in replies)
    created = sum(1 for r in replies if r.status == 201)
    sold_out = 0
    other: dict[int, int] = {}
    for r in replies:
        if r.status == 409 and b"sold_out" in r.body:
            sold_out += 1
        elif r.status != 201:
            other[r.status] = other.get(r.status, 0) + 1
    p99 = lat[int(len(lat) * 0.99) - 1] if lat else 0.0
    return Result(
        name,
        len(replies),
        seconds,
        created,
        sold_out,
        other,
        statistics.median(lat) if lat else 0.0,
        p99,
        0,
        0,
        0,
    )


async def fast_refusals(port: int) -> int:
    """The server's `lcr_order_fast_refusals_total` (one worker: its own registry)."""
    conn = Conn("127.0.0.1", port)
    try:
        r = await conn.request("GET", "/metrics", {}, b"")
    finally:
        conn.close()
    for line in r.body.decode().splitlines():
        if line.startswith("lcr_order_fast_refusals_total "):
            return int(float(line.split()[1]))
    return 0


async def count_orders(url: str, table: str, stream_id: int) -> tuple[int, int, int]:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        row = await conn.fetchrow(
            f"SELECT count(*), coalesce(sum(quantity), 0) FROM {table} "
            "WHERE stream_id = $1 AND status IN ('created', 'paid')",
            stream_id,
        )
        over = await conn.fetchval(
            f"SELECT count(*) FROM (SELECT viewer_id FROM {table} WHERE stream_id = $1 "
            "AND status IN ('created', 'paid') GROUP BY viewer_id HAVING sum(quantity) > 1) x",
            stream_id,
        )
        return int(row[0]), int(row[1]), int(over)
    finally:
        await conn.close()


async def timed_burst(
    name: str,
    port: int,
    proc: subprocess.Popen[bytes],
    path: str,
    attempts: list[tuple[dict[str, str], bytes]],
    concurrency: int,
    workers: int,
) -> Result:
    """Fire the attempts at the running server and summarise them with the server's and
    the client's CPU and (one worker) the fast path's refusals."""
    fast0 = await fast_refusals(port) if workers == 1 else None
    cpu0 = group_cpu_seconds(proc.pid)
    client0 = time.process_time()
    replies, seconds = await fire(port, path, attempts, concurrency)
    client_cpu = time.process_time() - client0
    cpu = group_cpu_seconds(proc.pid) - cpu0
    fast = None if fast0 is None else await fast_refusals(port) - fast0
    result = summarize(name, replies, seconds)
    result.server_cpu = cpu
    result.client_cpu = client_cpu
    result.fast_refusals = fast
    return result


async def stop_and_forget(proc: subprocess.Popen[bytes], prefix: str) -> None:
    """Stop the server and delete its Redis keys."""
    stop_server(proc)
    client = aioredis.from_url(REDIS_URL)
    keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def with_db_counts(result: Result, url: str, stream_id: int) -> Result:
    result.orders_in_db, result.units_in_db, result.viewers_over_limit = await count_orders(
        url, "orders", stream_id
    )
    return result


async def run_ours(url: str, args: argparse.Namespace, workers: int) -> Result:
    stream_id, product_id = await seed(url, args.units)
    port = free_port()
    prefix = f"lcrbench:{uuid.uuid4().hex[:6]}:"
    argv = [
        sys.executable,
        "-m",
        "app.cli",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    proc = start_server(argv, server_env(url, prefix, args.pool), port)
    try:
        conn = Conn("127.0.0.1", port)
        r = await conn.request(
            "POST",
            "/api/v1/auth/login",
            {},
            orjson.dumps({"username": "admin", "password": ADMIN_PASSWORD}),
        )
        assert r.status == 200, r.body
        admin = {"Authorization": "Bearer " + orjson.loads(r.body)["access_token"]}
        r = await conn.request(
            "POST",
            f"/api/v1/streams/{stream_id}/flash-sales",
            admin,
            orjson.dumps(
                {
                    "product_id": product_id,
                    "price": "9.90",
                    "quantity": args.units,
                    "per_user_limit": 1,
                    "duration_seconds": 600,
                }
            ),
        )
        assert r.status == 201, r.body
        flash_id = orjson.loads(r.body)["id"]
        conn.close()
        attempts = viewer_attempts(
            stream_id, product_id, args.attempts, {"flash_sale_id": flash_id}
        )
        # Warm-up (not timed): every worker gets its connections and scripts, as a
        # server that has served this many viewers has them (a product not on sale).
        warm = viewer_attempts(stream_id, product_id + 10_000, 2 * args.concurrency, {})
        await fire(port, f"/api/v1/streams/{stream_id}/orders", warm, args.concurrency)
        name = f"ours ({workers} worker{'s' if workers > 1 else ''})"
        path = f"/api/v1/streams/{stream_id}/orders"
        result = await timed_burst(name, port, proc, path, attempts, args.concurrency, workers)
    finally:
        await stop_and_forget(proc, prefix)
    return await with_db_counts(result, url, stream_id)


def ingest_attempts(
    key: str, product_id: int, n: int, prefix: str = "bench-shopper"
) -> list[tuple[dict[str, str], bytes]]:
    """Orders of a merchant backend: the stream's ingest key, the buyer in `viewer_id`."""
    return [
        (
            {"X-Ingest-Key": key, "Idempotency-Key": f"k-{uuid.uuid4().hex}"},
            orjson.dumps({"product_id": product_id, "quantity": 1, "viewer_id": f"{prefix}-{i}"}),
        )
        for i in range(n)
    ]


async def run_ours_ingest(url: str, args: argparse.Namespace, workers: int) -> Result:
    """The connector path (contract.md): every attempt through the stream's
    `X-Ingest-Key` with `viewer_id`, for the lineup's ordinary stock (no flash sale)."""
    stream_id, product_id = await seed(url, args.units)
    port = free_port()
    prefix = f"lcrbench:{uuid.uuid4().hex[:6]}:"
    argv = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
    argv += ["--workers", str(workers)]
    proc = start_server(argv, server_env(url, prefix, args.pool), port)
    try:
        conn = Conn("127.0.0.1", port)
        r = await conn.request(
            "POST",
            "/api/v1/auth/login",
            {},
            orjson.dumps({"username": "admin", "password": ADMIN_PASSWORD}),
        )
        assert r.status == 200, r.body
        admin = {"Authorization": "Bearer " + orjson.loads(r.body)["access_token"]}
        r = await conn.request("POST", f"/api/v1/streams/{stream_id}/ingest-keys", admin, b"{}")
        assert r.status == 201, r.body
        key = orjson.loads(r.body)["key"]
        conn.close()
        path = f"/api/v1/streams/{stream_id}/orders"
        attempts = ingest_attempts(key, product_id, args.attempts)
        # Warm-up (not timed), as for the viewer-token run: a product not on sale.
        warm = ingest_attempts(key, product_id + 10_000, 2 * args.concurrency, "warm")
        await fire(port, path, warm, args.concurrency)
        name = f"ours, ingest key ({workers}w)"
        result = await timed_burst(name, port, proc, path, attempts, args.concurrency, workers)
    finally:
        await stop_and_forget(proc, prefix)
    return await with_db_counts(result, url, stream_id)


async def run_naive(url: str, args: argparse.Namespace, workers: int) -> Result:
    stream_id, product_id = await seed(url, args.units)
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.naive_flash_sale:app",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    proc = start_server(argv, server_env(url, "naive:", args.pool), port)
    try:
        attempts = viewer_attempts(stream_id, product_id, args.attempts, {})
        cpu0 = group_cpu_seconds(proc.pid)
        client0 = time.process_time()
        replies, seconds = await fire(
            port, f"/naive/streams/{stream_id}/orders", attempts, args.concurrency
        )
        client_cpu = time.process_time() - client0
        cpu = group_cpu_seconds(proc.pid) - cpu0
    finally:
        stop_server(proc)
    result = summarize(f"naive read-then-write ({workers}w)", replies, seconds)
    result.server_cpu = cpu
    result.client_cpu = client_cpu
    result.orders_in_db, result.units_in_db, result.viewers_over_limit = await count_orders(
        url, "orders", stream_id
    )
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--attempts", type=int, default=20_000)
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--pool", type=int, default=10, help="DB pool size per worker")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument(
        "--ingest-key",
        action="store_true",
        help="also run the connector path: the same attempts through X-Ingest-Key with "
        "viewer_id, for the lineup's ordinary stock (issue #13: --attempts 2000 --units 50)",
    )
    parser.add_argument(
        "--client-only",
        action="store_true",
        help="measure the load generator alone against a trivial server, then stop",
    )
    parser.add_argument("--serve-trivial", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_only:
        await run_client_only(args)
        return

    name = await create_database()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        await asyncio.to_thread(upgrade, url)
        print(
            f"flash sale: {args.attempts:,} attempts from {args.attempts:,} viewers for "
            f"{args.units} units, {args.concurrency} connections, load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        results = []
        for w in args.workers:
            results.append(await run_ours(url, args, w))
            print(results[-1].line(args.units), flush=True)
            if args.ingest_key:
                results.append(await run_ours_ingest(url, args, w))
                print(results[-1].line(args.units), flush=True)
        if not args.skip_naive:
            results.append(await run_naive(url, args, 1))
            print(results[-1].line(args.units), flush=True)
        for r in results:
            assert r.units_in_db <= args.units or r.name.startswith("naive"), "ours oversold!"
    finally:
        await drop_database(name)


if __name__ == "__main__":
    if "--serve-trivial" in sys.argv:
        serve_trivial(int(sys.argv[sys.argv.index("--serve-trivial") + 1]))
    else:
        uvloop.run(main())
