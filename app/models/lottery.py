"""Lucky-bag lotteries (福袋) with a committed seed, so anyone can check the draw."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class LotteryCondition(enum.StrEnum):
    comment = "comment"  # commented the keyword between start and draw
    follow = "follow"  # followed the room (a `follow` event) before the draw
    present = "present"  # online in the room at draw time


class LotteryStatus(enum.StrEnum):
    open = "open"  # started: the seed's hash is public, entries count
    drawn = "drawn"  # the seed, the eligible list and the winners are public
    cancelled = "cancelled"


class Lottery(Base):
    __tablename__ = "lotteries"
    __table_args__ = (CheckConstraint("winners_count >= 1", name="winners_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    prize: Mapped[str] = mapped_column(String(200))
    winners_count: Mapped[int]
    condition: Mapped[LotteryCondition] = mapped_column(
        Enum(LotteryCondition, name="lottery_condition", native_enum=False, length=32)
    )
    keyword: Mapped[str | None] = mapped_column(String(100), default=None)
    status: Mapped[LotteryStatus] = mapped_column(
        Enum(LotteryStatus, name="lottery_status", native_enum=False, length=16),
        default=LotteryStatus.open,
        index=True,
    )
    draw_at: Mapped[datetime]
    seed_hash: Mapped[str] = mapped_column(String(64), doc="sha256(seed) hex, public at start")
    seed: Mapped[str] = mapped_column(String(64), doc="hex; secret until the draw")
    eligible_count: Mapped[int | None] = mapped_column(default=None)
    eligible_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    winners: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    drawn_at: Mapped[datetime | None] = mapped_column(default=None)
    drawn_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, doc="None: the scheduler"
    )


class LotteryEntrant(Base):
    """One viewer on the eligible list frozen at the draw; `rank` is set for winners."""

    __tablename__ = "lottery_entrants"
    __table_args__ = (UniqueConstraint("lottery_id", "viewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lottery_id: Mapped[int] = mapped_column(ForeignKey("lotteries.id", ondelete="CASCADE"))
    viewer_id: Mapped[str] = mapped_column(String(128))
    rank: Mapped[int | None] = mapped_column(default=None)
