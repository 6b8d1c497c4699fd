"""The repository helpers: a row by id or 404, and rows that belong to one stream.

Every service reads "row `id` of this stream, or 404 `<what>_not_found`" through
`get_in_stream` (and an unscoped row through `get_or_404`), so the rule is written once:
a row of another stream is treated as missing (404), never as forbidden, so an id does
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


M = TypeVar("M")


def _missing(what: str, row_id: int, code: str | None) -> NotFound:
    return NotFound(
        f"{what} {row_id} not found", code=code or f"{what.replace(' ', '_')}_not_found"
    )


async def get_or_404(
    session: AsyncSession, model: type[M], row_id: int, what: str, *, code: str | None = None
) -> M:
    """The row `row_id` of `model`, else 404 `<what>_not_found` (or `code`)."""
    row = await session.get(model, row_id)
    if row is None:
        raise _missing(what, row_id, code)
    return row


async def get_in_stream(
    session: AsyncSession,
    model: type[T],
    stream_id: int | None,
    row_id: int,
    what: str,
    *,
    code: str | None = None,
    for_update: bool = False,
    fresh: bool = False,
) -> T:
    """The row `row_id` of `model` if it belongs to the stream (`None`: to no stream),
    else 404 `<what>_not_found` (spaces as `_`, or `code`). `for_update` locks the row;
    `fresh` reloads it even if the session holds it (another transaction may have
    changed it)."""
    row = await session.get(
        model, row_id, with_for_update=for_update or None, populate_existing=fresh or None
    )
    if row is None or row.stream_id != stream_id:
        raise _missing(what, row_id, code)
    return row


async def list_in_stream(
    session: AsyncSession, model: type[T], stream_id: int, *order_by: Any
) -> list[T]:
    """The stream's rows of `model`, in `order_by` order."""
    m: Any = model
    rows = await session.scalars(select(model).where(m.stream_id == stream_id).order_by(*order_by))
    return list(rows)


async def delete_in_stream(
    session: AsyncSession,
    model: type[T],
    stream_id: int,
    row_id: int,
    what: str,
    *,
    code: str | None = None,
) -> None:
    await session.delete(await get_in_stream(session, model, stream_id, row_id, what, code=code))
    await session.flush()
