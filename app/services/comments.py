"""Comment intake and moderation: classify, block, mute, hide, pin.

`intake_comments` is the one entry point for comments, whatever their source (the
ingest endpoint of platform connectors, the watch page): it classifies each comment
with the stream's moderator, stores it, feeds questions and complaints to the service
queue (app/services/queue.py) and announces the comments after commit:

* comments that pass moderation go to everyone (`comment.new`, audience incl. viewers);
* blocked comments (moderation, or a muted viewer) go only to the controller and admin,
  marked `blocked` with the reason — never to the host or the watch page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import Conflict, Unprocessable
from app.models import BlockedWord, Comment, Stream, User, ViewerMute, WatchPin
from app.realtime.outbox import after_commit, queue_event
from app.realtime.ports import CommentCounts
from app.realtime.snapshot import SnapshotContext
from app.services import text_learning
from app.services.controls import log_action
from app.services.pins import PUBLIC, current_pin, pin_payload, set_pin
from app.services.stream_rows import get_in_stream
from app.text import Classification, Moderator, classify
from app.text.moderation import compact_word

VIEWER = "viewer"
# Who sees what (the hub delivers an event to the consoles whose role is listed; the
# watch page is the "viewer" audience).
MODERATORS = frozenset({"admin", "controller"})
MAX_TEXT = 500
MAX_WORDS = 2000
MAX_LISTED_MUTES = 1000  # mute rows read for the list of muted viewers


@dataclass(frozen=True, slots=True)
class IncomingComment:
    viewer_id: str
    text: str
    event_id: str | None = None
    ts: datetime | None = None


@dataclass(frozen=True, slots=True)
class IntakeResult:
    accepted: int
    duplicates: int
    comments: list[Comment]


# ----------------------------------------------------------------------- moderation


# A stream's moderator is rebuilt only when its word list changes (an automaton for a
# few hundred words takes a millisecond or two; a comment batch must not pay it).
# The list itself (the stream's words and the admins' global ones) is read from the
# database on every intake batch, so a word added or removed on any instance applies
# from the next batch on every instance, without a restart or a broadcast.
_moderators: dict[int, _Moderation] = {}
_GLOBAL = -1  # cache slot of the global-only moderator (the classify endpoint)
MEMO_SIZE = 20_000


@dataclass
class _Moderation:
    """A word list's moderator and a memo of its classifications: a flood repeats itself
    (「扣1」「来了」「尺码怎么选」), and the memo lives exactly as long as the list."""

    words: tuple[str, ...]
    moderator: Moderator
    memo: dict[str, Classification] = field(default_factory=dict)

    def classify(self, text: str) -> Classification:
        found = self.memo.get(text)
        if found is None:
            found = classify(text, self.moderator)
            if len(self.memo) < MEMO_SIZE:
                self.memo[text] = found
        return found


async def stream_words(session: AsyncSession, stream_id: int) -> tuple[str, ...]:
    rows = await session.scalars(
        select(BlockedWord.word).where(
            or_(BlockedWord.stream_id == stream_id, BlockedWord.stream_id.is_(None))
        )
    )
    return tuple(sorted(set(rows.all())))


async def global_words(session: AsyncSession) -> tuple[str, ...]:
    rows = await session.scalars(select(BlockedWord.word).where(BlockedWord.stream_id.is_(None)))
    return tuple(sorted(set(rows.all())))


async def global_moderator(session: AsyncSession) -> Moderator | None:
    """The built-in lists plus the admins' global words; None while there are none
    (callers then use the built-in, memoised path)."""
    words = await global_words(session)
    return _cached_moderation(_GLOBAL, words).moderator if words else None


async def stream_moderator(session: AsyncSession, stream_id: int) -> Moderator:
    return (await _stream_moderation(session, stream_id)).moderator


async def _stream_moderation(session: AsyncSession, stream_id: int) -> _Moderation:
    return _cached_moderation(stream_id, await stream_words(session, stream_id))


def _cached_moderation(slot: int, words: tuple[str, ...]) -> _Moderation:
    cached = _moderators.get(slot)
    if cached is not None and cached.words == words:
        return cached
    entry = _Moderation(words, Moderator(words))
    if len(_moderators) > 1000:  # bounded: old streams fall out
        _moderators.clear()
    _moderators[slot] = entry
    return entry


async def list_words(session: AsyncSession, stream_id: int) -> list[BlockedWord]:
    rows = await session.scalars(
        select(BlockedWord)
        .where(or_(BlockedWord.stream_id == stream_id, BlockedWord.stream_id.is_(None)))
        .order_by(BlockedWord.id)
    )
    return list(rows.all())


async def list_global_words(session: AsyncSession) -> list[BlockedWord]:
    rows = await session.scalars(
        select(BlockedWord).where(BlockedWord.stream_id.is_(None)).order_by(BlockedWord.id)
    )
    return list(rows.all())


async def add_words(
    session: AsyncSession, stream_id: int | None, words: Iterable[str], user: User
) -> list[BlockedWord]:
    """Add blocked words to a stream (or globally with `stream_id` None); existing ones
    are kept, so adding twice is harmless. A word with no letter or digit (「！！」)
    could never match and is refused."""
    wanted = {w.strip() for w in words if w.strip()}
    if not wanted:
        raise Unprocessable("no words given", code="no_words")
    unmatchable = sorted(w for w in wanted if not compact_word(w))
    if unmatchable:
        raise Unprocessable(
            f"these words have no letter or digit and could never match: {unmatchable}",
            code="word_unmatchable",
        )
    scope = (
        BlockedWord.stream_id.is_(None) if stream_id is None else BlockedWord.stream_id == stream_id
    )
    if len(wanted) > MAX_WORDS:
        raise Unprocessable(f"at most {MAX_WORDS} words at once", code="too_many_words")
    existing = set(
        (
            await session.scalars(
                select(BlockedWord.word).where(scope, BlockedWord.word.in_(wanted))
            )
        ).all()
    )
    added = [
        BlockedWord(stream_id=stream_id, word=w, created_by=user.id)
        for w in sorted(wanted - existing)
    ]
    session.add_all(added)
    await session.flush()
    if stream_id is not None and added:
        _words_changed(session, stream_id, added=[w.word for w in added])
    return added


def _words_changed(
    session: AsyncSession, stream_id: int, added: Sequence[str] = (), removed: Sequence[str] = ()
) -> None:
    """Tell the stream's other control consoles to reload the list."""
    queue_event(
        session,
        stream_id,
        "blocked_words.changed",
        {"added": list(added), "removed": list(removed)},
        roles=MODERATORS,
    )


async def remove_word(session: AsyncSession, stream_id: int | None, word_id: int) -> None:
    """Remove a stream's word (or a global one with `stream_id` None)."""
    row = await get_in_stream(
        session, BlockedWord, stream_id, word_id, "blocked word", code="word_not_found"
    )
    await session.delete(row)
    await session.flush()
    if stream_id is not None:
        _words_changed(session, stream_id, removed=[row.word])


async def mute_viewer(
    session: AsyncSession, stream: Stream, viewer_id: str, minutes: int, reason: str, user: User
) -> ViewerMute:
    until = utcnow() + timedelta(minutes=minutes)
    mute = ViewerMute(
        stream_id=stream.id, viewer_id=viewer_id, until=until, reason=reason, created_by=user.id
    )
    session.add(mute)
    await session.flush()
    queue_event(
        session,
        stream.id,
        "viewer.muted",
        {"viewer_id": viewer_id, "until": until.isoformat(), "reason": reason},
        roles=MODERATORS | {"service"},
    )
    log_action(
        session,
        stream.id,
        user,
        "mute",
        viewer_id=viewer_id,
        minutes=minutes,
        reason=reason,
        until=until.isoformat(),
    )
    return mute


async def unmute_viewer(
    session: AsyncSession, stream: Stream, viewer_id: str, user: User | None = None
) -> int:
    now = utcnow()
    result = await session.execute(
        update(ViewerMute)
        .where(
            ViewerMute.stream_id == stream.id,
            ViewerMute.viewer_id == viewer_id,
            ViewerMute.until > now,
        )
        .values(until=now)
        .execution_options(synchronize_session=False)
    )
    ended: int = getattr(result, "rowcount", 0) or 0
    if ended:
        queue_event(
            session,
            stream.id,
            "viewer.unmuted",
            {"viewer_id": viewer_id},
            roles=MODERATORS | {"service"},
        )
        log_action(session, stream.id, user, "unmute", viewer_id=viewer_id)
    return ended


async def active_mutes(session: AsyncSession, stream_id: int) -> list[ViewerMute]:
    """The viewers muted on the stream now, one row each (the mute that ends last, when a
    viewer was muted more than once), soonest to end first."""
    rows = await session.scalars(
        select(ViewerMute)
        .where(ViewerMute.stream_id == stream_id, ViewerMute.until > utcnow())
        .order_by(ViewerMute.until.desc(), ViewerMute.id.desc())
        .limit(MAX_LISTED_MUTES)
    )
    latest: dict[str, ViewerMute] = {}
    for mute in rows.all():
        latest.setdefault(mute.viewer_id, mute)
    return sorted(latest.values(), key=lambda m: m.until)


async def muted_viewers(
    session: AsyncSession, stream_id: int, viewer_ids: Iterable[str]
) -> set[str]:
    ids = set(viewer_ids)
    if not ids:
        return set()
    rows = await session.scalars(
        select(ViewerMute.viewer_id).where(
            ViewerMute.stream_id == stream_id,
            ViewerMute.viewer_id.in_(ids),
            ViewerMute.until > utcnow(),
        )
    )
    return set(rows.all())


async def get_comment(session: AsyncSession, stream_id: int, comment_id: int) -> Comment:
    return await get_in_stream(session, Comment, stream_id, comment_id, "comment")


async def hide_comment(
    session: AsyncSession, stream_id: int, comment_id: int, hidden: bool = True
) -> Comment:
    comment = await get_comment(session, stream_id, comment_id)
    if comment.hidden != hidden:
        comment.hidden = hidden
        await session.flush()
        queue_event(
            session,
            stream_id,
            "comment.hidden" if hidden else "comment.shown",
            {"id": comment.id},
            roles=PUBLIC,
        )
    return comment


async def pin_part(ctx: SnapshotContext) -> dict[str, Any] | None:
    """What the watch page shows pinned (a comment or a public answer), or null;
    `pin.changed` events keep it current."""
    return pin_payload(await current_pin(ctx.session, ctx.stream.id))


async def pin_comment(
    session: AsyncSession, stream_id: int, comment_id: int, user: User
) -> WatchPin:
    comment = await get_comment(session, stream_id, comment_id)
    if comment.blocked or comment.hidden:
        raise Conflict("a blocked or hidden comment cannot be pinned", code="comment_not_visible")
    return await set_pin(
        session, stream_id, kind="comment", text=comment.text, user=user, comment_id=comment.id
    )


# --------------------------------------------------------------------------- intake


def comment_payload(c: Comment) -> dict[str, Any]:
    return {
        "id": c.id,
        "viewer_id": c.viewer_id,
        "text": c.text,
        "kind": c.kind,
        "topic": c.topic,
        "sentiment": c.sentiment,
        "blocked": c.blocked,
        "block_reason": c.block_reason,
        "hidden": c.hidden,
        "item_id": c.item_id,
        "created_at": c.created_at.isoformat(),
    }


async def _existing_event_ids(
    session: AsyncSession, stream_id: int, event_ids: Sequence[str]
) -> set[str]:
    if not event_ids:
        return set()
    rows = await session.scalars(
        select(Comment.event_id).where(
            Comment.stream_id == stream_id, Comment.event_id.in_(event_ids)
        )
    )
    return {r for r in rows.all() if r is not None}


@dataclass(slots=True)
class _Labelled:
    """A comment about to be stored, as the queue's merge reads it (`queue.Askable`)."""

    kind: str
    topic: str
    text: str
    viewer_id: str
    sentiment: str
    blocked: bool
    created_at: datetime
    item_id: int | None = None


async def intake_comments(
    session: AsyncSession,
    counts: CommentCounts,
    stream_id: int,
    incoming: Sequence[IncomingComment],
    source: str,
) -> IntakeResult:
    """Classify, store and announce comments; feed questions/complaints to the queue.

    A comment whose `event_id` was taken in before (this batch or an earlier one) is a
    duplicate and ignored. Runs in the caller's transaction (flush only).

    Earlier batches' ids are not looked up first: the unique index on (stream, event id)
    refuses a repeat, and only then are the batch's ids looked up and the new ones
    inserted (comments folded from the event log are new by construction, so the usual
    batch pays one statement, not two).
    """
    from app.services import queue as queue_service

    seen: set[str] = set()
    fresh: list[IncomingComment] = []
    for c in incoming:
        if c.event_id is not None:
            if c.event_id in seen:
                continue
            seen.add(c.event_id)
        fresh.append(c)

    moderation = await _stream_moderation(session, stream_id)
    muted = await muted_viewers(session, stream_id, (c.viewer_id for c in fresh))
    # The team's corrections of this stream (issue #14): a corrected text keeps its labels.
    corrected = await text_learning.overrides(session, stream_id)
    now = utcnow()
    values: list[dict[str, Any]] = []
    labelled: list[_Labelled] = []
    for c in fresh:
        text = c.text[:MAX_TEXT]
        result = moderation.classify(text)
        if corrected:
            result = text_learning.apply_override(
                result, corrected.get(text_learning.norm_key(text))
            )
        blocked, reason = result.blocked, result.reason
        if c.viewer_id in muted:
            blocked, reason = True, "muted"
        created_at = c.ts or now
        labelled.append(
            _Labelled(
                result.kind, result.topic, text, c.viewer_id, result.sentiment, blocked, created_at
            )
        )
        values.append(
            {
                "stream_id": stream_id,
                "viewer_id": c.viewer_id,
                "text": text,
                "source": source,
                "event_id": c.event_id,
                "kind": result.kind,
                "topic": result.topic,
                "sentiment": result.sentiment,
                "blocked": blocked,
                "block_reason": reason,
                "hidden": False,
                "created_at": created_at,
            }
        )
    # The queue merge is decided before the insert, so each comment is stored with its
    # item (one INSERT, no UPDATE of the comments after it).
    plan = await queue_service.plan_feed(session, stream_id, labelled)
    for v, lab in zip(values, labelled, strict=True):
        v["item_id"] = lab.item_id
    # An ORM bulk INSERT … RETURNING: the rows come back as session objects, in order,
    # without building each one through the ORM constructor first. `render_nulls`: a
    # None (no block reason, no event id) is sent as NULL instead of leaving the column
    # out, so every row has the same columns and the batch is one statement (the ORM
    # otherwise starts a new statement at every change of shape: ~20 per batch).
    stmt = (
        insert(Comment)
        .returning(Comment, sort_by_parameter_order=True)
        .execution_options(render_nulls=True)
    )
    try:
        async with session.begin_nested():
            rows = list((await session.scalars(stmt, values)).all())
    except IntegrityError:
        # An event id taken in before (a retried request, a concurrent batch): keep
        # only the comments that are still new. A queue item planned only for dropped
        # comments is removed again by `record_feed`.
        existing = await _existing_event_ids(
            session, stream_id, [v["event_id"] for v in values if v["event_id"]]
        )
        values = [v for v in values if v["event_id"] is None or v["event_id"] not in existing]
        rows = list((await session.scalars(stmt, values)).all()) if values else []

    if plan is not None:
        await queue_service.record_feed(session, plan, rows)
    _count_negatives(session, counts, stream_id, rows)
    public = [comment_payload(r) for r in rows if not r.blocked]
    blocked_rows = [comment_payload(r) for r in rows if r.blocked]
    if public:
        queue_event(session, stream_id, "comment.new", {"comments": public}, roles=PUBLIC)
    if blocked_rows:
        queue_event(session, stream_id, "comment.new", {"comments": blocked_rows}, roles=MODERATORS)
    return IntakeResult(len(rows), len(incoming) - len(rows), rows)


def _count_negatives(
    session: AsyncSession, counts: CommentCounts, stream_id: int, rows: Sequence[Comment]
) -> None:
    """Add the batch's negative comments to the stream's running count once it commits
    (the alerts engine's `negative_spike` input)."""
    negatives = sum(1 for r in rows if r.sentiment == "negative")
    if not negatives:
        return

    async def _count() -> None:
        await counts.add_negative(stream_id, negatives)

    after_commit(session, _count)


async def list_comments(
    session: AsyncSession,
    stream_id: int,
    *,
    include_blocked: bool,
    after_id: int | None = None,
    limit: int = 100,
    kinds: Sequence[str] | None = None,
) -> list[Comment]:
    """Newest first. Blocked and hidden comments only for moderators."""
    query = select(Comment).where(Comment.stream_id == stream_id)
    if not include_blocked:
        query = query.where(Comment.blocked.is_(False), Comment.hidden.is_(False))
    if after_id is not None:
        query = query.where(Comment.id > after_id)
    if kinds:
        query = query.where(Comment.kind.in_(kinds))
    rows = await session.scalars(query.order_by(Comment.id.desc()).limit(limit))
    return list(rows.all())


# ----------------------------------------------------------------------- watch page
