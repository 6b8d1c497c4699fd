"""What the security layer costs per HTTP request (`app/security_middleware.py`): the
headers, the body limit's receive wrapper and the URL check, on the requests a live
stream makes most (a flash-sale order attempt, an ingest batch, a storefront read).

    python bench/bench_security.py [--requests 100000] [--rounds 5]

Prints microseconds of CPU per request for a bare ASGI app and for the same app
inside `SecurityMiddleware` (best of `--rounds`), and the difference.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from app.security_middleware import SecurityMiddleware

BODY = b'{"product_id": 12, "quantity": 1}'
REQUESTS = [
    ("POST", "/api/v1/streams/7/orders", b"", BODY),
    ("POST", "/api/v1/streams/7/events", b"", b'{"events": [' + b"{}," * 499 + b"{}]}"),
    ("GET", "/api/v1/streams/7/storefront", b"", b""),
    ("GET", "/api/v1/streams/7/orders", b"viewer_id=v_abc&limit=100&offset=0", b""),
]


async def bare(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"a", b"b")]})
    await send({"type": "http.response.body", "body": b"{}"})


def scope_of(method: str, path: str, query: bytes, body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [(b"content-length", str(len(body)).encode()), (b"host", b"x")],
    }


async def run(app: Any, n: int) -> float:
    scopes = [(scope_of(*r), r[3]) for r in REQUESTS]

    async def send(message: Any) -> None:
        return None

    started = time.process_time()
    for i in range(n):
        scope, body = scopes[i % len(scopes)]

        async def receive(body: bytes = body) -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        await app(dict(scope), receive, send)
    return (time.process_time() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    wrapped = SecurityMiddleware(bare, max_body_bytes=2 << 20, ingest_max_body_bytes=16 << 20)
    best_bare = min(asyncio.run(run(bare, args.requests)) for _ in range(args.rounds))
    best_wrapped = min(asyncio.run(run(wrapped, args.requests)) for _ in range(args.rounds))
    print(f"bare ASGI app:          {best_bare:6.2f} µs CPU per request")
    print(f"in SecurityMiddleware:  {best_wrapped:6.2f} µs CPU per request")
    print(f"security layer costs:   {best_wrapped - best_bare:6.2f} µs per request")


if __name__ == "__main__":
    main()
