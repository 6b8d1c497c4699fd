"""The live outbox: discrete events written in the transaction of the change they
announce, relayed to the broker after commit (app/realtime/outbox.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class LiveOutbox(Base):
    """One event not yet known to be published. Deleted once published; a row older
    than a few seconds is one whose publisher died (or lost Redis) after the commit,
    and any instance's relay publishes it."""

    __tablename__ = "live_outbox"
    # Ids are never reused (SQLite would reuse them once the table is empty): consoles
    # and the publish script recognise a repeat by its id.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    # No foreign key: the row must not lock or outlive-check the stream (hot paths).
    stream_id: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text, doc="the event's `data`, JSON")
    roles: Mapped[str | None] = mapped_column(
        String(200), default=None, doc="comma-separated audiences; NULL = every staff console"
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
