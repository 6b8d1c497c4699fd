"""Rows that belong to one stream (findings, actions, highlights, surveys, after-sales).

A row of another stream is treated as missing (404), never as forbidden, so an id does
not reveal that another stream has it.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound


class _StreamRow(Protocol):
    stream_id: Any


T = TypeVar("T", bound=_StreamRow)


async def get_in_stream(
    session: AsyncSession,
    model: type[T],
    stream_id: int,
    row_id: int,
    what: str,
    *,
    for_update: bool = False,
) -> T:
    """The row `row_id` of `model` if it belongs to the stream, else 404 `<what>_not_found`."""
    row = await session.get(model, row_id, with_for_update=for_update)
    if row is None or row.stream_id != stream_id:
        raise NotFound(f"{what} {row_id} not found", code=f"{what}_not_found")
    return row


async def list_in_stream(
    session: AsyncSession, model: type[T], stream_id: int, *order_by: Any
) -> list[T]:
    """The stream's rows of `model`, in `order_by` order."""
    m: Any = model
    rows = await session.scalars(select(model).where(m.stream_id == stream_id).order_by(*order_by))
    return list(rows)


async def delete_in_stream(
    session: AsyncSession, model: type[T], stream_id: int, row_id: int, what: str
) -> None:
    await session.delete(await get_in_stream(session, model, stream_id, row_id, what))
    await session.flush()
