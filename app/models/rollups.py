"""The review's rollups, kept per ingest batch beside `live`'s `stream_viewers` and
`stream_minutes`, so the post-stream review reads a few thousand rows instead of
scanning the event log.

* `stream_product_minutes`: per product per minute (per-product funnel).
* `stream_seconds`, `stream_product_seconds`: per second (by event time), the figures
  that script segments and explanation windows sum, so an event a few seconds before or
  after a window's edge is attributed to the right side of it.
* `stream_presence`, `stream_viewer_presence`, `stream_online_minutes`: joins and leaves
  replayed in arrival order (who is present, since when; online now and its peak; watch
  time), which a sum of joins and leaves cannot give (a second join of a present viewer
  changes nothing).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models.comments import Comment
from app.models.events import StreamViewer
from app.models.product import MONEY_SUM


class StreamProductMinute(Base):
    __tablename__ = "stream_product_minutes"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    # No foreign key: a platform may report products outside the catalog.
    product_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    product_clicks: Mapped[int] = mapped_column(default=0)
    add_to_cart: Mapped[int] = mapped_column(default=0)
    orders: Mapped[int] = mapped_column(default=0)
    paid_orders: Mapped[int] = mapped_column(default=0)
    cancelled_orders: Mapped[int] = mapped_column(default=0)
    refunded_orders: Mapped[int] = mapped_column(default=0)
    units_sold: Mapped[int] = mapped_column(default=0)
    gmv: Mapped[Decimal] = mapped_column(MONEY_SUM, default=Decimal("0"))
    refunds: Mapped[Decimal] = mapped_column(MONEY_SUM, default=Decimal("0"))


class _WindowSums:
    """What a window (script segment, explanation) sums, per second."""

    product_clicks: Mapped[int] = mapped_column(default=0)
    add_to_cart: Mapped[int] = mapped_column(default=0)
    orders: Mapped[int] = mapped_column(default=0)
    paid_orders: Mapped[int] = mapped_column(default=0)
    units_sold: Mapped[int] = mapped_column(default=0)
    gmv: Mapped[Decimal] = mapped_column(MONEY_SUM, default=Decimal("0"))


class StreamSecond(_WindowSums, Base):
    """Per stream per second (the event's own time, floored to the second): what a script
    segment sums, whatever the product (or none)."""

    __tablename__ = "stream_seconds"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    second: Mapped[datetime] = mapped_column(primary_key=True)
    comments: Mapped[int] = mapped_column(default=0)


class StreamProductSecond(_WindowSums, Base):
    """Per product per second: what an explanation window of that product sums."""

    __tablename__ = "stream_product_seconds"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    # No foreign key: a platform may report products outside the catalog.
    product_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    second: Mapped[datetime] = mapped_column(primary_key=True)


class StreamPresence(Base):
    """Per stream: viewers present now, the peak, and the watch time of closed sessions."""

    __tablename__ = "stream_presence"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    online: Mapped[int] = mapped_column(default=0)
    peak_online: Mapped[int] = mapped_column(default=0)
    peak_at: Mapped[datetime | None] = mapped_column(default=None)
    watch_ms: Mapped[int] = mapped_column(BigInteger, default=0, doc="Closed sessions only")


class StreamViewerPresence(Base):
    __tablename__ = "stream_viewer_presence"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    viewer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    present_since: Mapped[datetime | None] = mapped_column(default=None)
    watch_ms: Mapped[int] = mapped_column(BigInteger, default=0, doc="Closed sessions only")


class StreamOnlineMinute(Base):
    """Online viewers at the end of a minute (after the last join/leave logged in it)
    and the most seen during it."""

    __tablename__ = "stream_online_minutes"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("streams.id", ondelete="CASCADE"), primary_key=True
    )
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    online_end: Mapped[int] = mapped_column(default=0)
    peak_online: Mapped[int] = mapped_column(default=0)


# "Returning viewer" looks a viewer up on other streams; without this index that is a
# scan of every stream's viewers. Declared here (the table is the event log's) so the
# review owns what it needs.
Index("ix_stream_viewers_viewer_id", StreamViewer.viewer_id)

# The review counts a stream's comments per sentiment, blocked ones apart: an index-only
# count over ix_comments_stream_sentiment for all, and over this small partial index
# (blocked comments only) for the blocked ones, instead of reading every comment row.
Index(
    "ix_comments_stream_blocked_sentiment",
    Comment.stream_id,
    Comment.sentiment,
    postgresql_where=Comment.blocked,
    sqlite_where=Comment.blocked,
)
