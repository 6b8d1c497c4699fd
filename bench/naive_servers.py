"""The naive versions a user would otherwise write, for side-by-side runs.

    python bench/naive_servers.py ingest --port P   (DATABASE_URL, REDIS_URL, REDIS_PREFIX)
    python bench/naive_servers.py fanout --port P

* ingest: pydantic models per event, one INSERT and one Redis HINCRBY per event, then a
  commit per request (no COPY/unnest, no pipeline).
* fanout: the FastAPI docs' ConnectionManager: a list of sockets and a 4 Hz loop that
  awaits `send_json` on each connection in turn (serialising once per connection).
  Same uvicorn settings as ours (sansio websockets, no compression).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import uvicorn
from fastapi import FastAPI, Header, WebSocket, WebSocketDisconnect
from pydantic import BaseModel
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.db import create_engine, make_sessionmaker
from app.models import StreamEvent


class Event(BaseModel):
    type: str
    user_id: str
    event_id: str | None = None
    ts: datetime | None = None
    product_id: int | None = None
    text: str | None = None
    quantity: int | None = None
    amount: Decimal | None = None
    source: str | None = None


class Batch(BaseModel):
    events: list[Event]


def ingest_app() -> FastAPI:
    engine = create_engine(os.environ["DATABASE_URL"], 20)
    maker = make_sessionmaker(engine)
    redis = aioredis.from_url(os.environ["REDIS_URL"])
    prefix = os.environ.get("REDIS_PREFIX", "naive:")
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/streams/{stream_id}/events", status_code=202)
    async def events(stream_id: int, batch: Batch, x_ingest_key: str = Header()) -> dict[str, int]:
        now = datetime.now(UTC)
        async with maker() as session:
            for ev in batch.events:
                await session.execute(
                    insert(StreamEvent).values(
                        stream_id=stream_id,
                        event_id=ev.event_id,
                        type=ev.type,
                        viewer_id=ev.user_id,
                        ts=ev.ts or now,
                        received_at=now,
                        product_id=ev.product_id,
                        quantity=ev.quantity,
                        amount=ev.amount,
                        text=ev.text,
                        source=ev.source,
                    )
                )
                await redis.hincrby(f"{prefix}naive:{stream_id}", ev.type, 1)
            await session.commit()
        return {"accepted": len(batch.events), "duplicates": 0}

    return app


class ConnectionManager:
    def __init__(self) -> None:
        self.active: list[WebSocket] = []

    async def broadcast(self, message: dict[str, Any]) -> None:
        for ws in list(self.active):
            try:
                await ws.send_json(message)
            except Exception:
                self.active.remove(ws)


def fanout_app() -> FastAPI:
    manager = ConnectionManager()
    counter = {"likes": 0}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def tick() -> None:
            while True:
                await asyncio.sleep(0.25)
                counter["likes"] += 1
                await manager.broadcast(
                    {
                        "type": "metrics",
                        "ts": datetime.now(UTC).isoformat(),
                        "metrics": _metrics_like(counter["likes"]),
                    }
                )

        task = asyncio.create_task(tick())
        yield
        task.cancel()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.websocket("/ws/streams/{stream_id}")
    async def ws(websocket: WebSocket, stream_id: int) -> None:
        await websocket.accept()
        manager.active.append(websocket)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            if websocket in manager.active:
                manager.active.remove(websocket)

    return app


def _metrics_like(n: int) -> dict[str, Any]:
    """A metrics object of the real size (~400 bytes with one product)."""
    return {
        "stream_id": 1,
        "online": 5000 + n % 7,
        "peak_online": 5012,
        "viewers": 6210,
        "comments": 812 + n,
        "likes": 10000 + n,
        "shares": 40,
        "follows": 85,
        "product_clicks": 930,
        "add_to_cart": 214,
        "orders": 120,
        "paid_orders": 101,
        "units_sold": 130,
        "gmv": "7787.00",
        "products": [
            {
                "product_id": 1,
                "clicks": 930,
                "add_to_cart": 214,
                "orders": 120,
                "units_sold": 130,
                "gmv": "7787.00",
                "stock_left": 870,
            }
        ],
    }


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[sys.argv.index("--port") + 1])
    application = ingest_app() if kind == "ingest" else fanout_app()
    uvicorn.run(
        application,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        log_level="warning",
    )
