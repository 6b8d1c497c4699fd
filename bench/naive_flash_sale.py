"""The naive flash-sale endpoint a user would write first, for `bench_flash_sale.py`.

Read the stock and the viewer's orders, decide in Python, then insert the order and
write back `sold_units = <what was read> + q`. Every step is a correct query; together
they oversell, because other requests run between the read and the write.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Annotated

from fastapi import FastAPI, Header, Request
from fastapi.responses import ORJSONResponse
from pydantic import BaseModel
from sqlalchemy import func, select, update

from app.db import create_engine, make_sessionmaker, utcnow
from app.models import LineupItem, Order, OrderStatus
from app.security import decode_token

SECRET = os.environ["SECRET_KEY"]


class OrderIn(BaseModel):
    product_id: int
    quantity: int


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    engine = create_engine(os.environ["DATABASE_URL"], int(os.environ.get("DB_POOL_SIZE", "10")))
    app.state.maker = make_sessionmaker(engine)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.post("/naive/streams/{stream_id}/orders", status_code=201)
async def place(
    stream_id: int,
    body: OrderIn,
    request: Request,
    authorization: Annotated[str, Header()],
    idempotency_key: Annotated[str, Header()],
) -> object:
    claims = decode_token(SECRET, authorization.removeprefix("Bearer "), "viewer")
    if claims is None:
        return ORJSONResponse({"detail": "bad token"}, status_code=401)
    viewer = str(claims["sub"])
    async with request.app.state.maker() as s:
        item = await s.scalar(
            select(LineupItem).where(
                LineupItem.stream_id == stream_id, LineupItem.product_id == body.product_id
            )
        )
        if item is None or item.allotted_stock - item.sold_units < body.quantity:
            return ORJSONResponse({"detail": "sold out", "code": "sold_out"}, status_code=409)
        held = await s.scalar(
            select(func.count(Order.id)).where(
                Order.stream_id == stream_id, Order.viewer_id == viewer
            )
        )
        if held:
            return ORJSONResponse({"detail": "limit", "code": "limit_exceeded"}, status_code=409)
        order = Order(
            stream_id=stream_id,
            product_id=body.product_id,
            viewer_id=viewer,
            quantity=body.quantity,
            unit_price=Decimal("9.90"),
            amount=Decimal("9.90") * body.quantity,
            status=OrderStatus.created,
            idempotency_key=idempotency_key,
            created_at=utcnow(),
        )
        s.add(order)
        await s.execute(
            update(LineupItem)
            .where(LineupItem.id == item.id)
            .values(sold_units=item.sold_units + body.quantity)
        )
        await s.commit()
        return {"id": order.id, "status": "created", "amount": str(order.amount)}
