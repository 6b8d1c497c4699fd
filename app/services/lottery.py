"""Lucky-bag lotteries (福袋) whose draw anyone can check.

How a draw is made verifiable (commit–reveal):

1. At the start the server draws a random 32-byte `seed` and publishes only
   `seed_hash = sha256(seed)` (the commitment), with the prize, the condition and the
   draw time. The seed cannot be changed afterwards without the hash showing it.
2. At the draw, the eligible viewers are read from the persisted event log (see
   `eligible_viewers`), de-duplicated and sorted; that list is frozen and published
   with `eligible_hash = sha256("\\n".join(sorted_viewer_ids))` (UTF-8).
3. Winners = `draw_winners(seed, eligible, k)`: every eligible viewer id is scored with
   `HMAC-SHA256(key=seed, message=viewer_id as UTF-8)`; viewers are ranked by the
   score's hex digest ascending (ties, practically impossible, by viewer id) and the
   first `k` win, in that order. The seed is revealed with the winners.

Anyone holding the seed and the eligible list recomputes the winners with a few lines
in any language; `GET .../verify` does it on the server. The ranking does not depend
on the list's order, and each viewer's score is fixed by the seed before anyone can
know who will be eligible.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Column, Integer, String, Text, func, insert, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import UTCDateTime, utcnow
from app.errors import AppError, Conflict
from app.models import (
    Lottery,
    LotteryCondition,
    LotteryEntrant,
    LotteryStatus,
    Stream,
    StreamStatus,
    User,
)
from app.realtime.outbox import queue_event
from app.realtime.snapshot import SnapshotContext, as_response
from app.realtime.state import Live
from app.schemas.lottery import LotteryOut
from app.services.controls import PUBLIC_ROLES, log_action
from app.services.stream_rows import get_in_stream
from app.services.uow import UnitOfWork

VIEWER_ROLES = frozenset({"viewer"})
STAFF_ROLES = PUBLIC_ROLES - VIEWER_ROLES

log = structlog.get_logger(__name__)

ALGORITHM = (
    "winners = the first winners_count eligible viewer ids ranked by "
    "hex(HMAC-SHA256(key=bytes.fromhex(seed), msg=viewer_id.encode('utf-8'))) ascending, "
    "ties by viewer_id; eligible_hash = sha256('\\n'.join(sorted(eligible)).encode('utf-8')); "
    "seed_hash = sha256(bytes.fromhex(seed)). Public lists show each viewer's entry, the "
    "same HMAC hex, instead of the id (entries_hash = sha256 of the sorted entries joined "
    "by '\\n'); the winners are the lowest entries; raw ids only for the stream's staff"
)

# The live path's durable event log, read through a table clause so this module only
# depends on the columns it needs.
stream_events = table(
    "stream_events",
    Column("id", Integer),
    Column("stream_id", Integer),
    Column("type", String),
    Column("viewer_id", String),
    Column("ts", UTCDateTime()),
    Column("text", Text),
)


# ----------------------------------------------------------------------------- the draw


def seed_hash(seed_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()


def eligible_hash(eligible: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(eligible)).encode("utf-8")).hexdigest()


def draw_winners(seed_hex: str, eligible: Sequence[str], k: int) -> list[str]:
    """The winners: a deterministic function of the seed and the eligible set only."""
    key = bytes.fromhex(seed_hex)
    scored = sorted(
        (hmac.new(key, viewer.encode("utf-8"), hashlib.sha256).hexdigest(), viewer)
        for viewer in set(eligible)
    )
    return [viewer for _, viewer in scored[:k]]


def new_seed() -> str:
    return secrets.token_bytes(32).hex()


# ----------------------------------------------------------------------------- eligibility


async def eligible_viewers(session: AsyncSession, lottery: Lottery) -> list[str]:
    """The eligible viewer ids, sorted, from the persisted event log, as of `draw_at`.

    * comment: commented text containing the keyword between the start of the
      lottery and the draw time;
    * follow: followed the room in this stream up to the draw time;
    * present: in the room at the draw time — the viewer's last join/leave event at or
      before `draw_at` (by event time) is a join, as the live `online` counter counts.

    No condition looks at orders: a lottery must not require a purchase.
    """
    ev = stream_events.c
    base = [ev.stream_id == lottery.stream_id, ev.ts <= lottery.draw_at]
    if lottery.condition == LotteryCondition.comment:
        query = select(ev.viewer_id).where(
            *base,
            ev.type == "comment",
            ev.ts >= lottery.created_at,
            ev.text.contains(lottery.keyword or "", autoescape=True),
        )
    elif lottery.condition == LotteryCondition.follow:
        query = select(ev.viewer_id).where(*base, ev.type == "follow")
    else:
        ranked = (
            select(
                ev.viewer_id,
                ev.type,
                func.row_number()
                .over(partition_by=ev.viewer_id, order_by=(ev.ts.desc(), ev.id.desc()))
                .label("rn"),
            )
            .where(*base, ev.type.in_(("viewer_join", "viewer_leave")))
            .subquery()
        )
        query = select(ranked.c.viewer_id).where(ranked.c.rn == 1, ranked.c.type == "viewer_join")
    rows = await session.scalars(query.distinct())
    return sorted(rows.all())


# ----------------------------------------------------------------------------- workflow


async def create_lottery(
    session: AsyncSession,
    stream: Stream,
    actor: User,
    *,
    prize: str,
    winners_count: int,
    condition: LotteryCondition,
    keyword: str | None,
    draw_at: datetime,
) -> Lottery:
    if stream.status != StreamStatus.live:
        raise Conflict(
            f"stream is {stream.status}; a lottery runs on a live stream", code="stream_not_live"
        )
    seed = new_seed()
    lottery = Lottery(
        stream_id=stream.id,
        prize=prize,
        winners_count=winners_count,
        condition=condition,
        keyword=keyword if condition == LotteryCondition.comment else None,
        draw_at=draw_at,
        seed=seed,
        seed_hash=seed_hash(seed),
        winners=[],
        created_by=actor.id,
        created_at=utcnow(),
    )
    session.add(lottery)
    await session.flush()
    log_action(session, stream.id, actor, "lottery", lottery_id=lottery.id, prize=prize)
    queue_event(session, stream.id, "lottery.started", public_view(lottery), PUBLIC_ROLES)
    return lottery


def entry_of(seed_hex: str, viewer_id: str) -> str:
    """A viewer's public entry in a drawn lottery: its ranking score,
    hex(HMAC-SHA256(key=seed, msg=viewer_id)). Salted by the lottery's own seed and
    fixed before anyone knew who would be eligible; a viewer recomputes theirs from the
    revealed seed and their id, nobody reads an id out of it."""
    return hmac.new(bytes.fromhex(seed_hex), viewer_id.encode("utf-8"), hashlib.sha256).hexdigest()


def entries_hash(entries: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(entries)).encode("utf-8")).hexdigest()


def mask_id(viewer_id: str) -> str:
    """An id shown to the public: its ends only (13812345678 → 13*******78)."""
    if len(viewer_id) <= 4:
        return viewer_id[:1] + "*" * (len(viewer_id) - 1)
    keep = 2 if len(viewer_id) >= 6 else 1
    return viewer_id[:keep] + "*" * (len(viewer_id) - 2 * keep) + viewer_id[-keep:]


def public_view(lottery: Lottery, *, staff: bool = True) -> dict[str, Any]:
    """What may be seen: the seed only once drawn, the commitment always; the winners'
    raw ids only by the stream's staff (`staff`), everyone else gets them masked, with
    each winner's entry (app/services/lottery.py `entry_of`), issue #19."""
    view = _view(lottery)
    if view["seed"] is not None:
        view["winner_entries"] = [entry_of(lottery.seed, v) for v in lottery.winners]
        if not staff:
            view["winners"] = [mask_id(v) for v in lottery.winners]
    return view


def _view(lottery: Lottery) -> dict[str, Any]:
    drawn = lottery.status == LotteryStatus.drawn
    return {
        "id": lottery.id,
        "stream_id": lottery.stream_id,
        "prize": lottery.prize,
        "winners_count": lottery.winners_count,
        "condition": str(lottery.condition),
        "keyword": lottery.keyword,
        "status": str(lottery.status),
        "draw_at": lottery.draw_at.isoformat(),
        "created_at": lottery.created_at.isoformat(),
        "seed_hash": lottery.seed_hash,
        "seed": lottery.seed if drawn else None,
        "eligible_count": lottery.eligible_count,
        "eligible_hash": lottery.eligible_hash,
        "winners": list(lottery.winners) if drawn else [],
        "drawn_at": lottery.drawn_at.isoformat() if lottery.drawn_at else None,
        "algorithm": ALGORITHM,
    }


async def get_lottery(session: AsyncSession, stream_id: int, lottery_id: int) -> Lottery:
    return await get_in_stream(session, Lottery, stream_id, lottery_id, "lottery", fresh=True)


async def list_lotteries(session: AsyncSession, stream_id: int) -> list[Lottery]:
    rows = await session.scalars(
        select(Lottery).where(Lottery.stream_id == stream_id).order_by(Lottery.id.desc())
    )
    return list(rows.all())


async def draw(
    session: AsyncSession,
    stream_id: int,
    lottery_id: int,
    actor: User | None,
    *,
    early: bool = False,
) -> tuple[Lottery, bool]:
    """Draw the lottery once; return it and whether this call made the draw.

    The claim is one conditional UPDATE (`status = 'open'` → `'drawn'`), so when two
    instances (or the scheduler and a controller) race, exactly one draws; the other
    waits for its row lock, matches nothing and returns the drawn result. `early` (a
    controller's "开奖") moves the draw time to now; the scheduler draws only when due.
    """
    now = utcnow()
    current = await get_lottery(session, stream_id, lottery_id)
    conditions = [
        Lottery.id == lottery_id,
        Lottery.stream_id == stream_id,
        Lottery.status == LotteryStatus.open,
    ]
    values: dict[str, Any] = {"status": LotteryStatus.drawn, "drawn_at": now}
    values["drawn_by"] = actor.id if actor else None
    if early:
        if current.draw_at > now:
            values["draw_at"] = now
    else:
        conditions.append(Lottery.draw_at <= now)
    claimed = (
        await session.execute(
            update(Lottery).where(*conditions).values(**values).returning(Lottery.id)
        )
    ).scalar_one_or_none()
    lottery = await get_lottery(session, stream_id, lottery_id)
    if claimed is None:
        if lottery.status == LotteryStatus.drawn:
            return lottery, False
        if lottery.status == LotteryStatus.cancelled:
            raise Conflict("the lottery was cancelled", code="lottery_cancelled")
        raise Conflict(
            f"the draw is due at {lottery.draw_at.isoformat()}",
            code="not_due",
            draw_at=lottery.draw_at.isoformat(),
        )
    eligible = await eligible_viewers(session, lottery)
    winners = draw_winners(lottery.seed, eligible, lottery.winners_count)
    rank = {viewer: i + 1 for i, viewer in enumerate(winners)}
    if eligible:
        await session.execute(
            insert(LotteryEntrant),
            [{"lottery_id": lottery.id, "viewer_id": v, "rank": rank.get(v)} for v in eligible],
        )
    lottery.eligible_count = len(eligible)
    lottery.eligible_hash = eligible_hash(eligible)
    lottery.winners = winners
    if actor is not None:
        log_action(session, stream_id, actor, "lottery_draw", lottery_id=lottery.id)
    await session.flush()
    entries = [entry_of(lottery.seed, v) for v in eligible]
    # Staff consoles get the raw winners, the watch page the masked ones with the
    # entries' hash announced at the draw (the list's commitment).
    queue_event(session, stream_id, "lottery.drawn", public_view(lottery), STAFF_ROLES)
    queue_event(
        session,
        stream_id,
        "lottery.drawn",
        {**public_view(lottery, staff=False), "entries_hash": entries_hash(entries)},
        VIEWER_ROLES,
    )
    return lottery, True


async def cancel(session: AsyncSession, stream_id: int, lottery_id: int, actor: User) -> Lottery:
    result = await session.execute(
        update(Lottery)
        .where(
            Lottery.id == lottery_id,
            Lottery.stream_id == stream_id,
            Lottery.status == LotteryStatus.open,
        )
        .values(status=LotteryStatus.cancelled)
        .returning(Lottery.id)
    )
    lottery = await get_lottery(session, stream_id, lottery_id)
    if result.scalar_one_or_none() is None:
        raise Conflict(f"the lottery is already {lottery.status}", code="lottery_closed")
    log_action(session, stream_id, actor, "lottery_cancel", lottery_id=lottery.id)
    queue_event(session, stream_id, "lottery.cancelled", {"id": lottery.id}, PUBLIC_ROLES)
    return lottery


async def eligible_list(session: AsyncSession, lottery: Lottery) -> list[str]:
    rows = await session.scalars(
        select(LotteryEntrant.viewer_id)
        .where(LotteryEntrant.lottery_id == lottery.id)
        .order_by(LotteryEntrant.viewer_id)
    )
    return list(rows.all())


async def verify(session: AsyncSession, lottery: Lottery, *, staff: bool) -> dict[str, Any]:
    """Recompute everything from the published seed and eligible list. The public gets
    the entries (`entry_of`) instead of ids: the winners must be the entries with the
    lowest values, in order, which anyone can check from the seed and the list."""
    if lottery.status != LotteryStatus.drawn:
        raise Conflict("the lottery has not been drawn yet", code="not_drawn")
    eligible = sorted(await eligible_list(session, lottery))
    recomputed = draw_winners(lottery.seed, eligible, lottery.winners_count)
    entries = sorted(entry_of(lottery.seed, v) for v in eligible)
    checks = {
        "seed_matches_commitment": seed_hash(lottery.seed) == lottery.seed_hash,
        "eligible_list_matches_hash": eligible_hash(eligible) == lottery.eligible_hash,
        "winners_match": recomputed == list(lottery.winners),
    }
    view = public_view(lottery, staff=staff)
    return {
        **view,
        "valid": all(checks.values()),
        "checks": checks,
        "recomputed_winners": recomputed if staff else [mask_id(v) for v in recomputed],
        "recomputed_winner_entries": entries[: lottery.winners_count],
        "entries_hash": entries_hash(entries),
    }


async def my_entry(session: AsyncSession, lottery: Lottery, viewer_id: str) -> dict[str, Any]:
    """A viewer's own check: their entry, whether it is in the list, whether they won."""
    if lottery.status != LotteryStatus.drawn:
        raise Conflict("the lottery has not been drawn yet", code="not_drawn")
    rank = await session.scalar(
        select(LotteryEntrant.rank).where(
            LotteryEntrant.lottery_id == lottery.id, LotteryEntrant.viewer_id == viewer_id
        )
    )
    eligible = await session.scalar(
        select(LotteryEntrant.id).where(
            LotteryEntrant.lottery_id == lottery.id, LotteryEntrant.viewer_id == viewer_id
        )
    )
    return {
        "lottery_id": lottery.id,
        "viewer_id": viewer_id,
        "entry": entry_of(lottery.seed, viewer_id),
        "eligible": eligible is not None,
        "won": rank is not None,
        "rank": rank,
    }


# ----------------------------------------------------------------------------- scheduler


async def draw_due(
    maker: async_sessionmaker[AsyncSession], live: Live, now: datetime | None = None
) -> list[int]:
    """Draw every open lottery whose time has come; return the ids this process drew."""
    async with maker() as session:
        due = (
            await session.scalars(
                select(Lottery.id)
                .where(Lottery.status == LotteryStatus.open, Lottery.draw_at <= (now or utcnow()))
                .order_by(Lottery.draw_at)
                .limit(100)
            )
        ).all()
    drawn = []
    for lottery_id in due:
        try:
            async with UnitOfWork.begin(maker, live) as uow:
                lottery = await uow.session.get(Lottery, lottery_id)
                if lottery is None:
                    continue
                _, made = await draw(uow.session, lottery.stream_id, lottery_id, None)
        except AppError as exc:  # cancelled or moved meanwhile: nothing to do
            log.info("lottery_not_drawn", lottery_id=lottery_id, reason=exc.code)
            continue
        if made:
            drawn.append(lottery_id)
    return drawn


class LotteryScheduler:
    """Draws due lotteries every `interval` seconds. Safe with several instances."""

    def __init__(
        self, maker: async_sessionmaker[AsyncSession], live: Live, interval: float = 1.0
    ) -> None:
        self._maker = maker
        self._live = live
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="lottery-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await draw_due(self._maker, self._live)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lottery_scheduler_failed")
            await asyncio.sleep(self._interval)


async def lotteries_part(ctx: SnapshotContext) -> Any:
    """Staff: every lottery as GET /lotteries answers it (the control console seeds that
    query with it). The watch page: the open ones and the last drawn one, winners masked."""
    rows = await list_lotteries(ctx.session, ctx.stream.id)
    if ctx.audience != "viewer":
        return as_response(list[LotteryOut], [public_view(x) for x in rows])
    shown = [x for x in rows if x.status == LotteryStatus.open]
    shown += [x for x in rows if x.status == LotteryStatus.drawn][:1]
    return [public_view(x, staff=False) for x in shown]
