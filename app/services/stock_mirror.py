"""Lineup changes reach the stock book (app/realtime/ports.py `StockBook`) after commit.

Two ways a lineup item's stock or listing changes, both brought to the book here:

* through the ORM (list, delist, allotment and per-viewer limit edits in controls and
  planning): every `UnitOfWork` watches its own session's flushes with
  `watch_lineup(session, book)`, whoever made the change;
* by the controller's stock adjustment, a conditional UPDATE the ORM does not see: it
  calls `allotted_changed` itself.
"""

from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.models import LineupItem, ListingStatus
from app.realtime.outbox import after_commit
from app.realtime.ports import StockBook


def allotted_changed(session: AsyncSession, book: StockBook, item: LineupItem) -> None:
    """The allotted stock of a lineup item changed: move the book's mirror by the same
    difference once the change is committed."""
    stream_id, product_id, allotted = item.stream_id, item.product_id, item.allotted_stock

    async def _sync() -> None:
        await book.set_allotted(stream_id, product_id, allotted)

    after_commit(session, _sync)


def watch_lineup(session: AsyncSession, book: StockBook) -> None:
    """Mirror the ORM's lineup edits of this session into `book` after commit."""

    def _before_flush(sync: Session, _ctx: object, _instances: object) -> None:
        for obj in sync.dirty:
            if isinstance(obj, LineupItem):
                _mirror(sync, book, obj)

    event.listen(session.sync_session, "before_flush", _before_flush)


def _mirror(session: Session, book: StockBook, obj: LineupItem) -> None:
    state = inspect(obj)
    stream_id, product_id = obj.stream_id, obj.product_id
    if state.attrs.status.history.has_changes():
        listed = "1" if obj.status == ListingStatus.listed else "0"

        async def _listing(s: int = stream_id, p: int = product_id, v: str = listed) -> None:
            await book.patch(s, p, listed=v)

        after_commit(session, _listing)
    if state.attrs.allotted_stock.history.has_changes():
        allotted = obj.allotted_stock

        async def _allotted(s: int = stream_id, p: int = product_id, a: int = allotted) -> None:
            await book.set_allotted(s, p, a)

        after_commit(session, _allotted)
    if state.attrs.per_viewer_limit.history.has_changes():
        limit = obj.per_viewer_limit

        async def _limit(s: int = stream_id, p: int = product_id, n: int | None = limit) -> None:
            if n is None:  # back to the setting, which the mirror build knows: rebuild
                await book.drop(s, p)
            else:
                await book.patch(s, p, limit=n)

        after_commit(session, _limit)
