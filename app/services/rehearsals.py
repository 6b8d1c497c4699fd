"""Rehearsals (彩排) kept apart from real streams (issue 18).

A rehearsal is a stream of its own (`is_rehearsal`), made as a copy of a real stream's
plan: its lineup (prices, allotments, gifts, coupons), its script and its team. Its
figures are its own: the team comparison and the "returning viewer" history of real
streams never read rehearsals, it belongs to no campaign, and `controlroom simulate`
refuses a real stream unless told `--i-know`.

A live rehearsal can replay a past stream's recorded event log at 1×–20× speed: the
events keep their order and their spacing divided by the speed, with viewer ids, texts
and amounts as recorded, through the one ingest path, so the host practises against
real comment and order patterns. A replay is a row (`rehearsal_replays`) with its
progress, written with each batch it sends, and a claim held by the server working on
it: any server shows it, and when that server stops or dies another one's worker
resumes it from where it was (after a pause: the recorded spacing goes on from there).
It stops when the rehearsal ends or someone stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.models import (
    LineupItem,
    RehearsalReplay,
    ScriptSegment,
    Stream,
    StreamEvent,
    StreamStatus,
    TeamMember,
    User,
)
from app.realtime.state import Live
from app.schemas.events import EventIn
from app.services import event_batches
from app.services.uow import UnitOfWork
from app.services.woken import run_woken

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

RUNNING, DONE, STOPPED, FAILED = "running", "done", "stopped", "failed"
NOT_LIVE = "the rehearsal is no longer live"


def view(row: RehearsalReplay) -> dict[str, Any]:
    return {
        "id": row.id,
        "rehearsal_id": row.rehearsal_id,
        "source_stream_id": row.source_id,
        "speed": row.speed,
        "total": row.total,
        "sent": row.sent,
        "skipped": row.skipped,
        "state": row.state,
        "error": row.error,
        "resumed": row.resumed,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
    }


async def latest_replay(session: AsyncSession, rehearsal_id: int) -> RehearsalReplay:
    """The rehearsal's latest replay, whichever server runs (or ran) it."""
    row = await session.scalar(
        select(RehearsalReplay)
        .where(RehearsalReplay.rehearsal_id == rehearsal_id)
        .order_by(RehearsalReplay.id.desc())
        .limit(1)
    )
    if row is None:
        raise NotFound("this rehearsal has no replay", code="replay_not_found")
    return row


class Replays:
    """This server's replay worker: runs the replays it claims, and resumes any running
    replay whose claim ran out (its server stopped or died). Several servers may run it:
    a replay is worked on by the one server holding its claim."""

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        live: Live,
        lease: float = 15.0,
        poll: float = 1.0,
    ) -> None:
        self.maker = maker
        self.live = live
        self.lease = lease
        self.poll = poll
        self.owner = uuid.uuid4().hex
        self.running: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None

    def start_worker(self) -> None:
        self._loop_task = asyncio.create_task(self._loop(), name="replay-worker")

    async def start(
        self,
        session: AsyncSession,
        rehearsal: Stream,
        source: Stream,
        speed: float,
        user: User | None = None,
    ) -> RehearsalReplay:
        """A new replay, claimed by this server; it starts once the session commits
        (call `kick()` then)."""
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
        # One running replay per rehearsal: the rehearsal's row is the lock.
        await session.execute(select(Stream.id).where(Stream.id == rehearsal.id).with_for_update())
        running = await session.scalar(
            select(RehearsalReplay.id).where(
                RehearsalReplay.rehearsal_id == rehearsal.id, RehearsalReplay.state == RUNNING
            )
        )
        if running is not None:
            raise Conflict("a replay is running in this rehearsal", code="replay_running")
        first = (
            await session.execute(
                select(func.count(), func.min(StreamEvent.ts)).where(
                    StreamEvent.stream_id == source.id
                )
            )
        ).one()
        if not first[0]:
            raise Unprocessable("the source stream has no recorded events", code="empty_source")
        now = utcnow()
        row = RehearsalReplay(
            rehearsal_id=rehearsal.id,
            source_id=source.id,
            speed=speed,
            total=int(first[0]),
            sent=0,
            skipped=0,
            state=RUNNING,
            error="",
            first_ts=first[1],
            base_at=now,
            resumed=0,
            claimed_by=self.owner,
            claimed_until=now + timedelta(seconds=self.lease),
            started_by=user.id if user is not None else None,
            started_at=now,
        )
        session.add(row)
        await session.flush()
        return row

    def kick(self) -> None:
        self._wake.set()

    async def stop(self, session: AsyncSession, rehearsal_id: int) -> RehearsalReplay:
        """Stop the rehearsal's running replay (on whichever server runs it: it finds the
        row stopped before its next batch)."""
        row = await latest_replay(session, rehearsal_id)
        await session.refresh(row, with_for_update=True)
        if row.state == RUNNING:
            row.state = STOPPED
            row.finished_at = utcnow()
            row.claimed_by = None
            row.claimed_until = None
            await session.flush()
        task = self.running.get(row.id)
        if task is not None:
            task.cancel()
        return row

    async def close(self) -> None:
        """Shut down: stop working, and hand this server's replays back at once (they
        stay running: another server, or this one after a restart, resumes them)."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            async with self.maker() as session:
                await session.execute(
                    update(RehearsalReplay)
                    .where(RehearsalReplay.claimed_by == self.owner)
                    .values(claimed_by=None, claimed_until=None)
                )
                await session.commit()

    # ----------------------------------------------------------------------- worker

    async def _loop(self) -> None:
        await run_woken(self._wake, self.poll, self.run_once, "replay_worker_failed")

    async def run_once(self) -> None:
        """Start the replays this server holds, and claim those nobody holds."""
        now = utcnow()
        async with self.maker() as session:
            ids = (
                await session.scalars(
                    select(RehearsalReplay.id)
                    .where(
                        RehearsalReplay.state == RUNNING,
                        (RehearsalReplay.claimed_by == self.owner)
                        | RehearsalReplay.claimed_until.is_(None)
                        | (RehearsalReplay.claimed_until < now),
                    )
                    .order_by(RehearsalReplay.id)
                    .limit(100)
                )
            ).all()
        for replay_id in ids:
            if replay_id in self.running or not await self._claim(replay_id):
                continue
            task = asyncio.create_task(self._run(replay_id), name=f"replay-{replay_id}")
            self.running[replay_id] = task
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        for replay_id, running in list(self.running.items()):
            if running is task:
                del self.running[replay_id]

    async def _claim(self, replay_id: int) -> bool:
        """Take the replay (ours already, or nobody's), and set its clock so that it
        goes on from its cursor now."""
        now = utcnow()
        async with self.maker() as session:
            row = await session.get(RehearsalReplay, replay_id, with_for_update=True)
            if row is None or row.state != RUNNING:
                return False
            ours = row.claimed_by == self.owner
            if not ours and row.claimed_until is not None and row.claimed_until >= now:
                return False  # another server holds it
            if not ours:
                row.resumed += 1
                if row.cursor_ts is not None and row.first_ts is not None:
                    done = (row.cursor_ts - row.first_ts) / row.speed
                    row.base_at = now - done
                else:
                    row.base_at = now
            row.claimed_by = self.owner
            row.claimed_until = now + timedelta(seconds=self.lease)
            await session.commit()
            return True

    async def _renew(self, replay_id: int, rehearsal_id: int) -> bool | tuple[str, str] | None:
        """Hold the claim a while longer: True; (state, error) to finish once the
        rehearsal has ended (between two far-apart events too); None when lost."""
        async with self.maker() as session:
            status = await session.scalar(select(Stream.status).where(Stream.id == rehearsal_id))
            if status != StreamStatus.live:
                return STOPPED, NOT_LIVE
            result = await session.execute(
                update(RehearsalReplay)
                .where(
                    RehearsalReplay.id == replay_id,
                    RehearsalReplay.claimed_by == self.owner,
                    RehearsalReplay.state == RUNNING,
                )
                .values(claimed_until=utcnow() + timedelta(seconds=self.lease))
            )
            await session.commit()
            return True if getattr(result, "rowcount", 0) else None

    async def _finish(self, replay_id: int, state: str, error: str = "") -> None:
        async with self.maker() as session:
            await session.execute(
                update(RehearsalReplay)
                .where(
                    RehearsalReplay.id == replay_id,
                    RehearsalReplay.claimed_by == self.owner,
                    RehearsalReplay.state == RUNNING,
                )
                .values(
                    state=state,
                    error=error[:500],
                    finished_at=utcnow(),
                    claimed_by=None,
                    claimed_until=None,
                )
            )
            await session.commit()

    async def _run(self, replay_id: int) -> None:
        try:
            outcome = await self._replay(replay_id)
        except asyncio.CancelledError:
            raise  # stopped, or this server shuts down (close() hands the claim back)
        except Exception as exc:
            log.exception("replay_failed", replay_id=replay_id)
            await self._finish(replay_id, FAILED, f"{type(exc).__name__}: {exc}")
            return
        if outcome is not None:
            await self._finish(replay_id, *outcome)

    async def _products(self, rehearsal_id: int) -> set[int]:
        async with self.maker() as session:
            rows = await session.scalars(
                select(LineupItem.product_id).where(LineupItem.stream_id == rehearsal_id)
            )
            return set(rows.all())

    async def _replay(self, replay_id: int) -> tuple[str, str] | None:
        """Send the replay's events from its cursor on; the final (state, error), or
        None when it lost its claim (stopped, or taken over) and must not finish it."""
        async with self.maker() as session:
            row = await session.get(RehearsalReplay, replay_id)
            if row is None or row.state != RUNNING or row.first_ts is None:
                return None
            rehearsal_id, source_id, speed = row.rehearsal_id, row.source_id, row.speed
            first_ts, base_at = row.first_ts, row.base_at
            after = (row.cursor_ts, row.cursor_id or 0)
        products = await self._products(rehearsal_id)
        renewed = asyncio.get_running_loop().time()

        def due_at(ts: datetime) -> datetime:
            return base_at + (ts - first_ts) / speed

        while True:
            async with self.maker() as session:
                query = select(StreamEvent).where(StreamEvent.stream_id == source_id)
                if after[0] is not None:
                    query = query.where(
                        (StreamEvent.ts > after[0])
                        | ((StreamEvent.ts == after[0]) & (StreamEvent.id > after[1]))
                    )
                rows = (
                    await session.scalars(
                        query.order_by(StreamEvent.ts, StreamEvent.id).limit(REPLAY_BATCH)
                    )
                ).all()
            if not rows:
                return DONE, ""
            i = 0
            while i < len(rows):
                # Everything due by now goes in one batch; then sleep until the next.
                now = utcnow()
                due = []
                while i < len(rows) and due_at(rows[i].ts) <= now:
                    due.append(rows[i])
                    i += 1
                if due:
                    result = await self._send(replay_id, rehearsal_id, due, products, due_at)
                    if result is None or isinstance(result, tuple):
                        return result
                    after = (due[-1].ts, due[-1].id)
                    renewed = asyncio.get_running_loop().time()
                    continue
                if asyncio.get_running_loop().time() - renewed > self.lease / 3:
                    renewal = await self._renew(replay_id, rehearsal_id)
                    if renewal is None or isinstance(renewal, tuple):
                        return renewal
                    renewed = asyncio.get_running_loop().time()
                wait = (due_at(rows[i].ts) - now).total_seconds()
                await asyncio.sleep(max(0.0, min(wait, 1.0, self.lease / 3)))

    async def _send(
        self,
        replay_id: int,
        rehearsal_id: int,
        rows: list[StreamEvent],
        products: set[int],
        due_at: Any,
    ) -> bool | tuple[str, str] | None:
        """Ingest one batch into the rehearsal with the replay's progress, in one
        transaction. True to go on; (state, error) to finish; None when the claim is
        lost. Each event is timed at its place in the replay, whenever it gets written."""
        events = []
        skipped = 0
        for row in rows:
            product_id = row.product_id if row.product_id in products else None
            if product_id is None and row.type in ("product_click", "add_to_cart"):
                skipped += 1
                continue
            events.append(
                EventIn(
                    type=row.type,
                    user_id=row.viewer_id,
                    event_id=f"replay:{row.stream_id}:{row.id}",
                    ts=due_at(row.ts),
                    product_id=product_id,
                    text=row.text,
                    quantity=row.quantity,
                    amount=row.amount,
                    source=row.source,
                )
            )
        async with UnitOfWork.begin(self.maker, self.live) as uow:
            session = uow.session
            replay = await session.get(RehearsalReplay, replay_id, with_for_update=True)
            if replay is None or replay.state != RUNNING or replay.claimed_by != self.owner:
                return None
            if events:
                status = await session.scalar(
                    select(Stream.status).where(Stream.id == rehearsal_id)
                )
                if status != StreamStatus.live:
                    return STOPPED, NOT_LIVE
                await event_batches.accept_batch(uow, rehearsal_id, events)
            replay.sent += len(events)
            replay.skipped += skipped
            replay.cursor_ts, replay.cursor_id = rows[-1].ts, rows[-1].id
            replay.claimed_until = utcnow() + timedelta(seconds=self.lease)
        return True
