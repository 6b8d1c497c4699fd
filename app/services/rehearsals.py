"""Rehearsals (彩排) kept apart from real streams (issue 18).

A rehearsal is a stream of its own (`is_rehearsal`), made as a copy of a real stream's
plan: its lineup (prices, allotments, gifts, coupons), its script and its team. Its
figures are its own: the team comparison and the "returning viewer" history of real
streams never read rehearsals, it belongs to no campaign, and `controlroom simulate`
refuses a real stream unless told `--i-know`.

A live rehearsal can replay a past stream's recorded event log at 1×–20× speed: the
events keep their order and their spacing divided by the speed, with viewer ids, texts
and amounts as recorded, through the one ingest path, so the host practises against
real comment and order patterns. A replay runs in the server that started it (it stops
with that server, or when the rehearsal ends).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import unit_of_work, utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.models import (
    LineupItem,
    ScriptSegment,
    Stream,
    StreamEvent,
    StreamStatus,
    TeamMember,
    User,
)
from app.realtime.state import LiveServices
from app.schemas.events import EventIn
from app.services import ingest as ingest_service

log = structlog.get_logger(__name__)

MIN_SPEED, MAX_SPEED = 1.0, 20.0
REPLAY_BATCH = 500
PAST = (StreamStatus.ended, StreamStatus.archived)
# What a copy of the plan leaves out: identity, the stream, and what happened live.
_NOT_COPIED = {"id", "stream_id", "created_at", "updated_at"}
_LINEUP_RESET = {"sold_units": 0, "explaining": False}


def _columns(obj: Any) -> dict[str, Any]:
    return {
        attr.key: getattr(obj, attr.key)
        for attr in inspect(obj).mapper.column_attrs
        if attr.key not in _NOT_COPIED
    }


async def create_rehearsal(
    session: AsyncSession, source: Stream, user: User, start: bool
) -> Stream:
    """A rehearsal copy of `source`'s plan (lineup, script, team); live at once if
    `start` (a rehearsal has nothing to be ready for), else scheduled."""
    if source.is_rehearsal:
        raise Conflict("this stream is a rehearsal already", code="already_rehearsal")
    now = utcnow()
    copy = Stream(
        title=f"彩排 · {source.title}"[:200],
        status=StreamStatus.live if start else StreamStatus.scheduled,
        scheduled_start=now,
        started_at=now if start else None,
        planned_minutes=source.planned_minutes,
        created_by=user.id,
        platform=source.platform,
        theme=source.theme,
        goal_type=source.goal_type,
        target_audience=source.target_audience,
        description=source.description,
        target_gmv=source.target_gmv,
        target_viewers=source.target_viewers,
        target_conversion_rate=source.target_conversion_rate,
        target_new_followers=source.target_new_followers,
        campaign_id=None,  # a rehearsal's GMV is no part of a campaign
        is_rehearsal=True,
        rehearsal_of=source.id,
        created_at=now,
        updated_at=now,
    )
    session.add(copy)
    await session.flush()
    for item in (
        await session.scalars(select(LineupItem).where(LineupItem.stream_id == source.id))
    ).all():
        values = {**_columns(item), **_LINEUP_RESET}
        if values.get("status") is not None and str(values["status"]) == "sold_out":
            values.pop("status")
        session.add(LineupItem(stream_id=copy.id, **values))
    for seg in (
        await session.scalars(select(ScriptSegment).where(ScriptSegment.stream_id == source.id))
    ).all():
        session.add(ScriptSegment(stream_id=copy.id, **_columns(seg)))
    for member in (
        await session.scalars(select(TeamMember).where(TeamMember.stream_id == source.id))
    ).all():
        session.add(TeamMember(stream_id=copy.id, user_id=member.user_id, role=member.role))
    await session.flush()
    return copy


# --------------------------------------------------------------------------- replay


@dataclass
class Replay:
    rehearsal_id: int
    source_id: int
    speed: float
    total: int
    sent: int = 0
    skipped: int = 0
    state: str = "running"  # running | done | stopped | failed
    error: str = ""
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def view(self) -> dict[str, Any]:
        return {
            "rehearsal_id": self.rehearsal_id,
            "source_stream_id": self.source_id,
            "speed": self.speed,
            "total": self.total,
            "sent": self.sent,
            "skipped": self.skipped,
            "state": self.state,
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class Replays:
    """The replays this server runs (one per rehearsal at a time)."""

    def __init__(self, maker: async_sessionmaker[AsyncSession], live: LiveServices) -> None:
        self.maker = maker
        self.live = live
        self.running: dict[int, Replay] = {}

    def get(self, rehearsal_id: int) -> Replay:
        found = self.running.get(rehearsal_id)
        if found is None:
            raise NotFound("no replay of this rehearsal on this server", code="replay_not_found")
        return found

    async def start(
        self, session: AsyncSession, rehearsal: Stream, source: Stream, speed: float
    ) -> Replay:
        if not rehearsal.is_rehearsal:
            raise Conflict(
                "only a rehearsal replays a recorded log (a real stream's figures would mix)",
                code="not_a_rehearsal",
            )
        if rehearsal.status != StreamStatus.live:
            raise Conflict("the rehearsal must be live to replay into it", code="stream_not_live")
        if source.status not in PAST or source.is_rehearsal:
            raise Unprocessable(
                "the source must be a past real stream (ended or archived)", code="bad_source"
            )
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise Unprocessable("speed is 1 to 20", code="bad_speed")
        current = self.running.get(rehearsal.id)
        if current is not None and current.state == "running":
            raise Conflict("a replay is running in this rehearsal", code="replay_running")
        count = await session.scalar(
            select(func.count()).select_from(StreamEvent).where(StreamEvent.stream_id == source.id)
        )
        if not count:
            raise Unprocessable("the source stream has no recorded events", code="empty_source")
        replay = Replay(rehearsal.id, source.id, speed, count)
        replay.task = asyncio.create_task(self._run(replay), name=f"replay-{rehearsal.id}")
        self.running[rehearsal.id] = replay
        return replay

    async def stop(self, rehearsal_id: int) -> Replay:
        replay = self.get(rehearsal_id)
        if replay.task is not None and not replay.task.done():
            replay.task.cancel()
            await asyncio.gather(replay.task, return_exceptions=True)
        if replay.state == "running":
            replay.state = "stopped"
            replay.finished_at = utcnow()
        return replay

    async def close(self) -> None:
        for rid in list(self.running):
            await self.stop(rid)

    async def _products(self, rehearsal_id: int) -> set[int]:
        async with self.maker() as session:
            rows = await session.scalars(
                select(LineupItem.product_id).where(LineupItem.stream_id == rehearsal_id)
            )
            return set(rows.all())

    async def _run(self, replay: Replay) -> None:
        try:
            await self._replay(replay)
            replay.state = "done"
        except asyncio.CancelledError:
            replay.state = "stopped"
            raise
        except Exception as exc:
            replay.state, replay.error = "failed", f"{type(exc).__name__}: {exc}"[:500]
            log.exception("replay_failed", rehearsal_id=replay.rehearsal_id)
        finally:
            replay.finished_at = utcnow()

    async def _replay(self, replay: Replay) -> None:
        products = await self._products(replay.rehearsal_id)
        wall0 = time.monotonic()
        base = utcnow()  # the replayed events' times: base + recorded offset ÷ speed
        first_ts: datetime | None = None
        after = (datetime.min.replace(tzinfo=UTC), 0)
        while True:
            async with self.maker() as session:
                rows = (
                    await session.scalars(
                        select(StreamEvent)
                        .where(
                            StreamEvent.stream_id == replay.source_id,
                            (StreamEvent.ts > after[0])
                            | ((StreamEvent.ts == after[0]) & (StreamEvent.id > after[1])),
                        )
                        .order_by(StreamEvent.ts, StreamEvent.id)
                        .limit(REPLAY_BATCH)
                    )
                ).all()
            if not rows:
                return
            after = (rows[-1].ts, rows[-1].id)
            if first_ts is None:
                first_ts = rows[0].ts
            i = 0
            while i < len(rows):
                # Everything due by now goes in one batch; then sleep until the next.
                now_offset = (time.monotonic() - wall0) * replay.speed
                due = []
                while i < len(rows) and (rows[i].ts - first_ts).total_seconds() <= now_offset:
                    due.append(rows[i])
                    i += 1
                if not due:
                    wait = (rows[i].ts - first_ts).total_seconds() / replay.speed - (
                        time.monotonic() - wall0
                    )
                    await asyncio.sleep(max(0.0, min(wait, 1.0)))
                    continue
                if not await self._send(replay, due, products, base, first_ts):
                    replay.error = "the rehearsal is no longer live"
                    return

    async def _send(
        self,
        replay: Replay,
        rows: list[StreamEvent],
        products: set[int],
        base: datetime,
        first_ts: datetime,
    ) -> bool:
        """Ingest one batch into the rehearsal; False once it is no longer live. Each
        event is timed at its place in the replay (base + offset ÷ speed), whenever the
        batch gets written."""
        events = []
        for row in rows:
            product_id = row.product_id if row.product_id in products else None
            if product_id is None and row.type in ("product_click", "add_to_cart"):
                replay.skipped += 1
                continue
            events.append(
                EventIn(
                    type=row.type,
                    user_id=row.viewer_id,
                    event_id=f"replay:{replay.source_id}:{row.id}",
                    ts=base + (row.ts - first_ts) / replay.speed,
                    product_id=product_id,
                    text=row.text,
                    quantity=row.quantity,
                    amount=row.amount,
                    source=row.source,
                )
            )
        if events:
            async with unit_of_work(self.maker, self.live) as session:
                status = await session.scalar(
                    select(Stream.status).where(Stream.id == replay.rehearsal_id)
                )
                if status != StreamStatus.live:
                    return False
                await ingest_service.accept_batch(
                    self.live, self.maker, session, replay.rehearsal_id, events
                )
        replay.sent += len(events)
        return True
