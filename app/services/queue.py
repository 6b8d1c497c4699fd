"""The service queue (客服队列): merged, ranked questions and complaints.

* `feed` turns the questions and complaints of a comment batch into queue items: a
  comment similar to an open (or recently answered) item of the same kind and topic
  joins it (count + asker), otherwise it opens a new item. Counters are incremented in
  SQL (`asker_count = asker_count + n`) and askers are inserted with ON CONFLICT DO
  NOTHING, so concurrent batches never lose or double a count.
* claim / release / answer / dismiss / reopen are conditional UPDATEs on `status`
  (and `claimed_by`): two agents can never both hold an item, and a stale click gets a
  409 instead of overwriting someone else's work.
* every change is announced as `question.new` / `question.updated` (service, controller,
  admin) with the stream's sequence number, after commit.
* when an item reaches the stream's cue threshold (`QueueSettings.cue_threshold`,
  default 10) askers, the host gets a `cue` 「N 位观众在问：…」 once; an agent can also
  send it with one click.
* the SLA (`QueueSettings.sla_seconds`, default 120 s) sets each item's `sla_due_at`
  (the SLA clock), the ranking's boost for overdue items, the order requests' `overdue`
  and the 「questions waiting」 alert (unless the alert thresholds set their own).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, cast

from sqlalchemy import Table, and_, bindparam, func, or_, select, true, update
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import dialect_insert, utcnow
from app.errors import Conflict, Unprocessable
from app.models import (
    Comment,
    Cue,
    CuePriority,
    FaqEntry,
    ItemStatus,
    LineupItem,
    Product,
    QueueAsker,
    QueueItem,
    QueueSettings,
    QuickReply,
    Stream,
    User,
)
from app.models.queue import DEFAULT_CUE_THRESHOLD, DEFAULT_SLA_SECONDS
from app.realtime.outbox import queue_event
from app.realtime.snapshot import SnapshotContext, as_response
from app.schemas.common import format_money
from app.schemas.queue import OrderRequestItemOut, QueueItemOut, QueueSettingsOut
from app.services.pins import set_pin
from app.services.queue_state import ACTIVE, QueueThresholds, get_settings
from app.services.stream_rows import delete_in_stream, get_in_stream, get_or_404
from app.text.similarity import MERGE_THRESHOLD, bigrams, content, keywords, similar

QUEUE_ROLES = frozenset({"admin", "controller", "service"})
QUEUE_KINDS = ("question", "complaint")
CUE_THRESHOLD = DEFAULT_CUE_THRESHOLD
SLA_SECONDS = DEFAULT_SLA_SECONDS
MERGE_WINDOW = timedelta(minutes=30)
MAX_CANDIDATES = 500


# -------------------------------------------------------------------------- settings


def settings_payload(
    stream_id: int, row: QueueSettings | None, values: QueueThresholds | None = None
) -> dict[str, Any]:
    values = values or QueueThresholds.of(row)
    return {
        "stream_id": stream_id,
        "sla_seconds": values.sla_seconds,
        "cue_threshold": values.cue_threshold,
        "is_default": row is None,
        "updated_by": row.updated_by if row is not None else None,
        "updated_at": row.updated_at.isoformat() if row is not None else None,
    }


async def settings_view(session: AsyncSession, stream_id: int) -> dict[str, Any]:
    return settings_payload(stream_id, await session.get(QueueSettings, stream_id))


async def set_settings(
    session: AsyncSession,
    stream_id: int,
    user: User,
    *,
    sla_seconds: int | None = None,
    cue_threshold: int | None = None,
) -> QueueSettings:
    """Change a stream's SLA and/or cue threshold (a value left None stays).

    A new SLA moves the SLA clock of the items still waiting by the difference, so
    「due in 30 s」 stays true to the rule now in force; the consoles hear
    `queue.settings` and re-read the queue.
    """
    if sla_seconds is None and cue_threshold is None:
        raise Unprocessable("give sla_seconds and/or cue_threshold", code="nothing_to_change")
    row = await session.get(QueueSettings, stream_id, with_for_update=True)
    if row is None:
        row = QueueSettings(
            stream_id=stream_id,
            sla_seconds=DEFAULT_SLA_SECONDS,
            cue_threshold=DEFAULT_CUE_THRESHOLD,
        )
        session.add(row)
    old_sla = row.sla_seconds
    if sla_seconds is not None:
        row.sla_seconds = sla_seconds
    if cue_threshold is not None:
        row.cue_threshold = cue_threshold
    row.updated_by = user.id
    row.updated_at = utcnow()
    await session.flush()
    if row.sla_seconds != old_sla:
        # Datetime arithmetic in SQL differs between PostgreSQL and SQLite: move the
        # clocks here, in one executemany by primary key (a settings change is rare).
        shift = timedelta(seconds=row.sla_seconds - old_sla)
        waiting = await session.execute(
            select(QueueItem.id, QueueItem.sla_due_at, QueueItem.version).where(
                QueueItem.stream_id == stream_id, QueueItem.status.in_(ACTIVE)
            )
        )
        moved = [
            {"id": r.id, "sla_due_at": r.sla_due_at + shift, "version": r.version + 1}
            for r in waiting
        ]
        if moved:
            await session.execute(update(QueueItem), moved)
    queue_event(
        session,
        stream_id,
        "queue.settings",
        settings_payload(stream_id, row),
        roles=QUEUE_ROLES,
    )
    return row


# --------------------------------------------------------------------------- feeding


@dataclass
class _Candidate:
    item_id: int
    kind: str
    topic: str
    key: str
    grams: frozenset[str]
    kw: frozenset[str]
    status: ItemStatus


async def _explaining_product(session: AsyncSession, stream_id: int) -> int | None:
    product_id: int | None = await session.scalar(
        select(LineupItem.product_id).where(
            LineupItem.stream_id == stream_id, LineupItem.explaining.is_(True)
        )
    )
    return product_id


async def _candidates(session: AsyncSession, stream_id: int) -> list[_Candidate]:
    since = utcnow() - MERGE_WINDOW
    rows = await session.execute(
        select(QueueItem.id, QueueItem.kind, QueueItem.topic, QueueItem.norm, QueueItem.status)
        .where(
            QueueItem.stream_id == stream_id,
            QueueItem.status.in_((*ACTIVE, ItemStatus.answered)),
            QueueItem.last_at >= since,
        )
        .order_by(QueueItem.last_at.desc())
        .limit(MAX_CANDIDATES)
    )
    return [
        _Candidate(
            r.id, r.kind, r.topic, r.norm, bigrams(r.norm), keywords(r.norm, r.topic), r.status
        )
        for r in rows
    ]


def _match(
    cands: list[_Candidate],
    kind: str,
    topic: str,
    key: str,
    grams: frozenset[str],
    kw: frozenset[str],
) -> _Candidate | None:
    best: _Candidate | None = None
    best_score = MERGE_THRESHOLD
    for c in cands:
        if c.kind != kind or c.topic != topic:
            continue
        score = similar(key, grams, kw, c.key, c.grams, c.kw)
        if score >= best_score:
            best, best_score = c, score
            if score >= 1.0:
                break
    return best


# pg_advisory_xact_lock(namespace, stream_id): one feeder per stream at a time.
_FEED_LOCK_NAMESPACE = 4506


async def _lock_feed(session: AsyncSession, stream_id: int) -> None:
    """Serialise feeding a stream's queue until this transaction ends.

    Two batches merged at once (two connectors, two instances) would each miss the item
    the other just opened and open the same question twice. With the lock the second
    reads the candidates after the first has committed (READ COMMITTED). SQLite (one
    process, one writer at a time) needs none.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            sql_text("SELECT pg_advisory_xact_lock(:ns, :sid)"),
            {"ns": _FEED_LOCK_NAMESPACE, "sid": stream_id},
        )


class Askable(Protocol):
    """What the queue reads of a comment to merge it (a stored `Comment`, or a comment
    about to be stored: `intake_comments` plans the merge before its insert)."""

    kind: str
    topic: str
    text: str
    viewer_id: str
    sentiment: str
    blocked: bool
    created_at: datetime
    item_id: int | None


def asks_of(comments: Sequence[Askable]) -> list[Askable]:
    """The comments that go to the queue: visible questions and all complaints. A
    complaint is never kept from the service team: moderation (a stream's blocked word,
    a muted viewer, a phone number in it) hides it from the host and the watch page, but
    it is still queued as a complaint."""
    return [
        c for c in comments if c.kind == "complaint" or (c.kind in QUEUE_KINDS and not c.blocked)
    ]


@dataclass
class FeedPlan:
    """The items a batch's questions and complaints join (or opened for them), decided
    under the stream's queue lock; `record_feed` adds the askers and counts once the
    comments are stored."""

    stream_id: int
    now: datetime
    cue_threshold: int
    new_items: dict[int, QueueItem]


async def plan_feed(
    session: AsyncSession, stream_id: int, comments: Sequence[Askable]
) -> FeedPlan | None:
    """Match the batch's asks to the stream's open (or recently answered) items, open
    items for the rest, and set each ask's `item_id`; None when nothing goes to the queue.

    Takes the stream's queue lock until the transaction ends (see `_lock_feed`)."""
    asks = asks_of(comments)
    if not asks:
        return None
    await _lock_feed(session, stream_id)
    now = utcnow()
    conf = await get_settings(session, stream_id)
    cands = await _candidates(session, stream_id)
    product_id = await _explaining_product(session, stream_id)
    new_items: dict[int, QueueItem] = {}
    for c in asks:
        key = content(c.text)
        grams = bigrams(key)
        kw = keywords(c.text, c.topic)
        match = _match(cands, c.kind, c.topic, key, grams, kw)
        if match is None:
            item = QueueItem(
                stream_id=stream_id,
                kind=c.kind,
                topic=c.topic,
                title=c.text[:200],
                norm=key,
                product_id=product_id,
                asker_count=0,
                mention_count=0,
                negative_count=0,
                status=ItemStatus.open,
                first_at=c.created_at,
                last_at=c.created_at,
                sla_due_at=c.created_at + timedelta(seconds=conf.sla_seconds),
            )
            session.add(item)
            await session.flush()
            new_items[item.id] = item
            match = _Candidate(item.id, c.kind, c.topic, key, grams, kw, ItemStatus.open)
            cands.insert(0, match)
        c.item_id = match.item_id
    return FeedPlan(stream_id, now, conf.cue_threshold, new_items)


async def record_feed(
    session: AsyncSession, plan: FeedPlan, comments: Sequence[Comment]
) -> list[int]:
    """Add the stored comments of a planned batch to their items: askers (once per
    viewer), mention and negative counts, `last_at`; announce the items and cue the host
    when one reaches the threshold. Returns the ids of the items created or changed."""
    stream_id = plan.stream_id
    touched: dict[int, list[Comment]] = {}
    for c in comments:
        if c.item_id is not None:
            touched.setdefault(c.item_id, []).append(c)
    # A planned new item whose comments were not stored after all (a concurrent batch
    # took in the same event ids first) would stay an empty item: drop it.
    for item_id in [i for i in plan.new_items if i not in touched]:
        await session.delete(plan.new_items.pop(item_id))
    if not touched:
        await session.flush()
        return []
    asker_rows: list[dict[str, Any]] = []
    for item_id, cs in touched.items():
        first: dict[str, Comment] = {}
        for c in cs:
            first.setdefault(c.viewer_id, c)
        asker_rows.extend(
            {
                "item_id": item_id,
                "viewer_id": v,
                "stream_id": stream_id,
                "comment_id": c.id,
                "asked_at": c.created_at,
            }
            for v, c in first.items()
        )
    # executemany (insertmanyvalues): one cached statement whatever the batch size,
    # instead of compiling a fresh multi-row VALUES for every batch
    result = await session.execute(
        dialect_insert(session, QueueAsker)
        .on_conflict_do_nothing(index_elements=["item_id", "viewer_id"])
        .returning(QueueAsker.item_id),
        asker_rows,
    )
    new_askers: dict[int, int] = {}
    for (item_id,) in result.all():
        new_askers[item_id] = new_askers.get(item_id, 0) + 1

    # One executemany for every touched item (a flood touches the same few items in
    # each batch): the counts are added in SQL, so concurrent feeders never lose any.
    table = cast(Table, QueueItem.__table__)
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            asker_count=table.c.asker_count + bindparam("b_askers"),
            mention_count=table.c.mention_count + bindparam("b_mentions"),
            negative_count=table.c.negative_count + bindparam("b_negatives"),
            last_at=bindparam("b_last"),
            version=table.c.version + 1,
        ),
        [
            {
                "b_id": item_id,
                "b_askers": new_askers.get(item_id, 0),
                "b_mentions": len(cs),
                "b_negatives": sum(c.sentiment == "negative" for c in cs),
                "b_last": max(c.created_at for c in cs),
            }
            for item_id, cs in touched.items()
        ],
    )
    changed = list(touched)
    await session.flush()
    items = await _load(session, changed)
    for item in items:
        await _maybe_cue(session, item, plan.now, plan.cue_threshold)
        queue_event(
            session,
            stream_id,
            "question.new" if item.id in plan.new_items else "question.updated",
            item_payload(item, plan.now),
            roles=QUEUE_ROLES,
        )
    return changed


async def feed(session: AsyncSession, stream_id: int, comments: Sequence[Comment]) -> list[int]:
    """Merge stored comments' visible questions and all their complaints into the queue
    (`plan_feed` + `record_feed`); sets each queued comment's `item_id`. Returns the ids
    of the items created or changed."""
    plan = await plan_feed(session, stream_id, comments)
    if plan is None:
        return []
    return await record_feed(session, plan, comments)


async def _load(session: AsyncSession, ids: Sequence[int]) -> list[QueueItem]:
    if not ids:
        return []
    rows = await session.scalars(
        select(QueueItem)
        .where(QueueItem.id.in_(ids))
        .execution_options(populate_existing=True)
        .order_by(QueueItem.id)
    )
    return list(rows.all())


# --------------------------------------------------------------------------- views


def score(item: QueueItem, now: datetime) -> float:
    """Rank: many askers first, then long waits, then anger. A complaint weighs more
    than a question of the same size (it spreads: 舆情); an item past its SLA clock
    (`sla_due_at`, from the stream's SLA) jumps up."""
    waited = max(0.0, (now - item.first_at).total_seconds())
    s = 10 * math.log2(1 + item.asker_count) + waited / 30 + 3 * item.negative_count
    if item.kind == "complaint":
        s += 5
    if item.status in ACTIVE and now > item.sla_due_at:
        s += 10
    return round(s, 2)


def item_payload(item: QueueItem, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    waited = (now - item.first_at).total_seconds()
    return {
        "id": item.id,
        "stream_id": item.stream_id,
        "kind": item.kind,
        "topic": item.topic,
        "title": item.title,
        "label": f"{item.title} ×{item.asker_count}",
        "product_id": item.product_id,
        "asker_count": item.asker_count,
        "mention_count": item.mention_count,
        "negative_count": item.negative_count,
        "status": str(item.status),
        "claimed_by": item.claimed_by,
        "claimed_at": item.claimed_at.isoformat() if item.claimed_at else None,
        "answer": item.answer,
        "answer_public": item.answer_public,
        "answered_by": item.answered_by,
        "answered_at": item.answered_at.isoformat() if item.answered_at else None,
        "dismissed_by": item.dismissed_by,
        "dismissed_at": item.dismissed_at.isoformat() if item.dismissed_at else None,
        "cue_sent_at": item.cue_sent_at.isoformat() if item.cue_sent_at else None,
        "first_at": item.first_at.isoformat(),
        "last_at": item.last_at.isoformat(),
        "sla_due_at": item.sla_due_at.isoformat(),
        "waiting_seconds": round(max(0.0, waited), 1),
        "sla_seconds_left": round((item.sla_due_at - now).total_seconds(), 1),
        "overdue": item.status in ACTIVE and now > item.sla_due_at,
        "score": score(item, now),
        "version": item.version,
    }


async def list_items(
    session: AsyncSession,
    stream_id: int,
    statuses: Sequence[ItemStatus] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Items ranked by score (open and claimed by default); the first `limit` of them."""
    wanted = statuses or ACTIVE
    rows = await session.scalars(
        select(QueueItem).where(QueueItem.stream_id == stream_id, QueueItem.status.in_(wanted))
    )
    now = utcnow()
    out = [item_payload(i, now) for i in rows.all()]
    out.sort(key=lambda p: (-p["score"], p["id"]))
    return out[:limit] if limit is not None else out


async def get_item(session: AsyncSession, stream_id: int, item_id: int) -> QueueItem:
    return await get_in_stream(
        session, QueueItem, stream_id, item_id, "queue item", code="item_not_found", fresh=True
    )


async def askers(session: AsyncSession, item_id: int, limit: int = 200) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(QueueAsker.viewer_id, QueueAsker.comment_id, QueueAsker.asked_at, Comment.text)
        .outerjoin(Comment, Comment.id == QueueAsker.comment_id)
        .where(QueueAsker.item_id == item_id)
        .order_by(QueueAsker.asked_at)
        .limit(limit)
    )
    return [
        {
            "viewer_id": r.viewer_id,
            "comment_id": r.comment_id,
            "text": r.text,
            "asked_at": r.asked_at.isoformat(),
        }
        for r in rows
    ]


# --------------------------------------------------------------------------- actions


async def _transition(
    session: AsyncSession,
    stream_id: int,
    item_id: int,
    conditions: Sequence[Any],
    values: dict[str, Any],
    refusal: str,
) -> QueueItem:
    """One conditional UPDATE; 404 if no such item, 409 (with the current status) if
    the item is not in a state that allows the change any more."""
    result = await session.execute(
        update(QueueItem)
        .where(QueueItem.id == item_id, QueueItem.stream_id == stream_id, *conditions)
        .values(**values, version=QueueItem.version + 1)
        .returning(QueueItem.id)
        .execution_options(synchronize_session=False)
    )
    if result.one_or_none() is None:
        item = await get_item(session, stream_id, item_id)
        raise Conflict(
            refusal,
            code="item_conflict",
            status=str(item.status),
            claimed_by=item.claimed_by,
        )
    item = await get_item(session, stream_id, item_id)
    queue_event(session, stream_id, "question.updated", item_payload(item), roles=QUEUE_ROLES)
    return item


def _mine_or_free(user: User) -> Any:
    """An item is the user's to act on when nobody holds it, they hold it, or they are
    an admin/controller stepping in."""
    if user.role in ("admin", "controller"):
        return true()
    return or_(QueueItem.claimed_by.is_(None), QueueItem.claimed_by == user.id)


async def claim(session: AsyncSession, stream_id: int, item_id: int, user: User) -> QueueItem:
    return await _transition(
        session,
        stream_id,
        item_id,
        [QueueItem.status == ItemStatus.open],
        {"status": ItemStatus.claimed, "claimed_by": user.id, "claimed_at": utcnow()},
        "someone else has claimed this item, or it is no longer open",
    )


async def release(session: AsyncSession, stream_id: int, item_id: int, user: User) -> QueueItem:
    return await _transition(
        session,
        stream_id,
        item_id,
        [QueueItem.status == ItemStatus.claimed, _mine_or_free(user)],
        {"status": ItemStatus.open, "claimed_by": None, "claimed_at": None},
        "this item is not claimed by you",
    )


async def answer(
    session: AsyncSession,
    stream: Stream,
    item_id: int,
    user: User,
    text: str,
    public: bool,
) -> QueueItem:
    """Answer privately (each asker reads it on their watch page) or publicly (also
    pinned on the watch page for everyone)."""
    text = text.strip()
    if not text:
        raise Unprocessable("the answer is empty", code="empty_answer")
    now = utcnow()
    item = await _transition(
        session,
        stream.id,
        item_id,
        [QueueItem.status.in_(ACTIVE), _mine_or_free(user)],
        {
            "status": ItemStatus.answered,
            "answer": text,
            "answer_public": public,
            "answered_by": user.id,
            "answered_at": now,
            "claimed_by": func.coalesce(QueueItem.claimed_by, user.id),
            "claimed_at": func.coalesce(QueueItem.claimed_at, now),
        },
        "this item is answered, dismissed or held by someone else",
    )
    if public:
        await set_pin(
            session,
            stream.id,
            kind="answer",
            text=f"{item.title}\n{text}",
            user=user,
            item_id=item.id,
        )
    return item


async def dismiss(session: AsyncSession, stream_id: int, item_id: int, user: User) -> QueueItem:
    return await _transition(
        session,
        stream_id,
        item_id,
        [QueueItem.status.in_(ACTIVE), _mine_or_free(user)],
        {"status": ItemStatus.dismissed, "dismissed_by": user.id, "dismissed_at": utcnow()},
        "this item is already answered or dismissed, or held by someone else",
    )


async def reopen(session: AsyncSession, stream_id: int, item_id: int, user: User) -> QueueItem:
    now = utcnow()
    sla = (await get_settings(session, stream_id)).sla_seconds
    return await _transition(
        session,
        stream_id,
        item_id,
        [QueueItem.status.in_((ItemStatus.answered, ItemStatus.dismissed))],
        {
            "status": ItemStatus.open,
            "claimed_by": None,
            "claimed_at": None,
            "dismissed_by": None,
            "dismissed_at": None,
            "sla_due_at": now + timedelta(seconds=sla),
        },
        "only an answered or dismissed item can be reopened",
    )


# ------------------------------------------------------------------------------ cues


def cue_text(item: QueueItem) -> str:
    return f"{item.asker_count} 位观众在问：{item.title}"


async def _send_cue(session: AsyncSession, item: QueueItem, user: User | None) -> Cue:
    from app.services.controls import cue_payload

    cue = Cue(
        stream_id=item.stream_id,
        text=cue_text(item)[:500],
        code="cue.questions",
        params={
            "count": item.asker_count,
            "title": item.title[:200],
            "item_id": item.id,
            "kind": str(item.kind),
        },
        priority=CuePriority.high if item.kind == "complaint" else CuePriority.normal,
        product_id=item.product_id,
        created_by=user.id if user else None,
        created_at=utcnow(),
    )
    session.add(cue)
    await session.flush()
    data = cue_payload(cue, user) if user else cue_payload(cue)
    data["source"] = "service_queue"
    data["item_id"] = item.id
    data["asker_count"] = item.asker_count
    queue_event(session, item.stream_id, "cue", data)
    return cue


async def _maybe_cue(session: AsyncSession, item: QueueItem, now: datetime, threshold: int) -> None:
    """Cue the host once, when an active item first reaches the stream's threshold."""
    if item.cue_sent_at is not None or item.asker_count < threshold:
        return
    if item.status not in ACTIVE:
        return
    result = await session.execute(
        update(QueueItem)
        .where(QueueItem.id == item.id, QueueItem.cue_sent_at.is_(None))
        .values(cue_sent_at=now)
        .returning(QueueItem.id)
        .execution_options(synchronize_session=False)
    )
    if result.one_or_none() is not None:
        item.cue_sent_at = now
        await _send_cue(session, item, None)


async def cue_host(session: AsyncSession, stream: Stream, item_id: int, user: User) -> Cue:
    """One click from the service console: tell the host what many viewers ask."""
    from app.services.controls import require_active

    require_active(stream)
    item = await get_item(session, stream.id, item_id)
    await session.execute(
        update(QueueItem)
        .where(QueueItem.id == item.id)
        .values(cue_sent_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    item = await get_item(session, stream.id, item_id)
    return await _send_cue(session, item, user)


# ------------------------------------------------------------------ replies and FAQ


async def _product_vars(
    session: AsyncSession, stream_id: int, product_id: int | None
) -> dict[str, str]:
    if product_id is None:
        return {}
    row = (
        await session.execute(
            select(
                Product.name,
                LineupItem.live_price,
                LineupItem.allotted_stock,
                LineupItem.sold_units,
            )
            .join(
                LineupItem,
                and_(LineupItem.product_id == Product.id, LineupItem.stream_id == stream_id),
            )
            .where(Product.id == product_id)
        )
    ).first()
    if row is None:
        name = await session.scalar(select(Product.name).where(Product.id == product_id))
        return {"product": name} if name else {}
    return {
        "product": row.name,
        "price": format_money(Decimal(row.live_price)),
        "stock": str(max(0, row.allotted_stock - row.sold_units)),
    }


class _Vars(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"  # unknown variables stay visible instead of failing


def render(body: str, variables: dict[str, str]) -> str:
    return body.format_map(_Vars(variables)) if "{" in body else body


async def _require_product(session: AsyncSession, product_id: int | None) -> None:
    """A reply or FAQ entry may name only a product of the catalog (was: a 500 from the
    foreign key, found by the schemathesis run, issue #19)."""
    if product_id is not None:
        await get_or_404(session, Product, product_id, "product")


async def create_reply(
    session: AsyncSession,
    stream_id: int,
    user: User,
    *,
    title: str,
    body: str,
    product_id: int | None,
) -> QuickReply:
    await _require_product(session, product_id)
    reply = QuickReply(
        stream_id=stream_id, product_id=product_id, title=title, body=body, created_by=user.id
    )
    session.add(reply)
    await session.flush()
    return reply


async def list_replies(
    session: AsyncSession, stream_id: int, product_id: int | None = None
) -> list[dict[str, Any]]:
    """The stream's quick replies (and those of `product_id`), rendered for it."""
    query = select(QuickReply).where(QuickReply.stream_id == stream_id)
    if product_id is not None:
        query = query.where(
            or_(QuickReply.product_id.is_(None), QuickReply.product_id == product_id)
        )
    rows = list((await session.scalars(query.order_by(QuickReply.id))).all())
    out = []
    cache: dict[int | None, dict[str, str]] = {}
    for r in rows:
        pid = r.product_id if r.product_id is not None else product_id
        if pid not in cache:
            cache[pid] = await _product_vars(session, stream_id, pid)
        out.append(
            {
                "id": r.id,
                "title": r.title,
                "body": r.body,
                "product_id": r.product_id,
                "rendered": render(r.body, cache[pid]),
            }
        )
    return out


async def delete_reply(session: AsyncSession, stream_id: int, reply_id: int) -> None:
    await delete_in_stream(
        session, QuickReply, stream_id, reply_id, "quick reply", code="reply_not_found"
    )


async def create_faq(
    session: AsyncSession,
    stream_id: int,
    user: User,
    *,
    question: str,
    answer_text: str,
    product_id: int | None,
    keywords_: list[str],
) -> FaqEntry:
    await _require_product(session, product_id)
    entry = FaqEntry(
        stream_id=stream_id,
        product_id=product_id,
        question=question,
        answer=answer_text,
        keywords=keywords_,
        created_by=user.id,
    )
    session.add(entry)
    await session.flush()
    return entry


async def list_faq(session: AsyncSession, stream_id: int) -> list[FaqEntry]:
    rows = await session.scalars(
        select(FaqEntry).where(FaqEntry.stream_id == stream_id).order_by(FaqEntry.id)
    )
    return list(rows.all())


async def delete_faq(session: AsyncSession, stream_id: int, faq_id: int) -> None:
    await delete_in_stream(session, FaqEntry, stream_id, faq_id, "FAQ entry", code="faq_not_found")


async def suggestions(
    session: AsyncSession, item: QueueItem, limit: int = 3
) -> list[dict[str, Any]]:
    """FAQ answers whose question resembles the item (bigram similarity of the content,
    plus a bonus for each FAQ keyword the question mentions), rendered for its product."""
    entries = await list_faq(session, item.stream_id)
    key = item.norm
    grams = bigrams(key)
    scored = []
    for e in entries:
        if (
            e.product_id is not None
            and item.product_id is not None
            and e.product_id != item.product_id
        ):
            continue
        ekey = content(e.question)
        s = similar(key, grams, frozenset(), ekey, bigrams(ekey), frozenset())
        hits = sum(1 for k in e.keywords if k and k.lower() in item.title.lower())
        s = min(1.0, s + 0.25 * hits)
        if s >= 0.25:
            scored.append((s, e))
    scored.sort(key=lambda t: (-t[0], t[1].id))
    variables = await _product_vars(session, item.stream_id, item.product_id)
    return [
        {
            "faq_id": e.id,
            "question": e.question,
            "answer": render(e.answer, variables),
            "score": round(s, 2),
        }
        for s, e in scored[:limit]
    ]


# ----------------------------------------------------------------- viewer's answers


async def answers_for_viewer(
    session: AsyncSession, stream_id: int, viewer_id: str
) -> list[dict[str, Any]]:
    """Answers to the questions this viewer asked (private ones are only here)."""
    rows = await session.execute(
        select(
            QueueItem.id,
            QueueItem.title,
            QueueItem.answer,
            QueueItem.answered_at,
            QueueItem.answer_public,
        )
        .join(QueueAsker, QueueAsker.item_id == QueueItem.id)
        .where(
            QueueAsker.stream_id == stream_id,
            QueueAsker.viewer_id == viewer_id,
            QueueItem.status == ItemStatus.answered,
        )
        .order_by(QueueItem.answered_at)
    )
    return [
        {
            "item_id": r.id,
            "question": r.title,
            "answer": r.answer,
            "public": r.answer_public,
            "answered_at": r.answered_at.isoformat() if r.answered_at else None,
        }
        for r in rows
    ]


# ------------------------------------------------------------------- order requests


async def order_request_items(session: AsyncSession, stream_id: int) -> list[dict[str, Any]]:
    """Pending order requests (change address, cancel) as queue entries of their own type,
    oldest first, with the same waiting/SLA clock as questions. They are decided with the
    orders service (approve/reject), which changes the order and gives stock back."""
    from app.models import Order, OrderRequest, OrderRequestStatus

    rows = await session.execute(
        select(OrderRequest, Order)
        .join(Order, Order.id == OrderRequest.order_id)
        .where(
            OrderRequest.stream_id == stream_id,
            OrderRequest.status == OrderRequestStatus.pending,
        )
        .order_by(OrderRequest.created_at, OrderRequest.id)
    )
    now = utcnow()
    sla = (await get_settings(session, stream_id)).sla_seconds
    out = []
    for req, order in rows.all():
        waited = max(0.0, (now - req.created_at).total_seconds())
        out.append(
            {
                "id": req.id,
                "type": "order_request",
                "kind": str(req.kind),
                "order_id": order.id,
                "viewer_id": order.viewer_id,
                "product_id": order.product_id,
                "quantity": order.quantity,
                "amount": format_money(order.amount),
                "order_status": str(order.status),
                "reason": req.reason,
                "address": req.address,
                "created_at": req.created_at.isoformat(),
                "waiting_seconds": round(waited, 1),
                "overdue": waited > sla,
            }
        )
    return out


# --------------------------------------------------------------------------- alerts


# ------------------------------------------------------------------------- snapshot

SNAPSHOT_ITEMS = 200


async def queue_part(ctx: SnapshotContext) -> dict[str, Any]:
    """The service console's board in the websocket's first message: the waiting items
    as GET /queue answers them (at most `SNAPSHOT_ITEMS`; the service console seeds that
    query with them unless `truncated`), the pending order requests as in GET
    /queue/board and the stream's settings as GET /queue-settings answers them;
    `question.*` events and `queue.settings` keep it current."""
    items = await list_items(ctx.session, ctx.stream.id, limit=SNAPSHOT_ITEMS + 1)
    return {
        "items": as_response(list[QueueItemOut], items[:SNAPSHOT_ITEMS]),
        "truncated": len(items) > SNAPSHOT_ITEMS,
        "order_requests": as_response(
            list[OrderRequestItemOut], await order_request_items(ctx.session, ctx.stream.id)
        ),
        "settings": as_response(QueueSettingsOut, await settings_view(ctx.session, ctx.stream.id)),
    }
