"""What a stream's team teaches the text engine (issue #14).

* **Corrections.** A service agent, controller or admin of the stream corrects a
  comment's kind/topic/sentiment or blocks/unblocks it. The correction is stored (who,
  when, from what to what), applied to the comment (a question or complaint it becomes
  joins the service queue), and used by that stream's classification from the next
  comment on: a comment whose normalised text equals a corrected one takes the
  corrected labels (the newest correction of that text wins). Other streams are not
  affected. Corrections export as training data (JSONL in the format of
  `comments_dev.jsonl`, or CSV) and are counted in the review.
* **Compliance terms.** A team's own phrases for the claims checker
  (app/text/compliance.py), checked with the built-in list in readiness and in
  `POST /api/v1/compliance/check` when the stream is named.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound, Unprocessable
from app.models import (
    Comment,
    CommentCorrection,
    ComplianceTerm,
    LineupItem,
    Product,
    QuickReply,
    ScriptSegment,
    Stream,
    User,
)
from app.services.stream_rows import delete_in_stream
from app.text import Classification
from app.text.compliance import Checker, Finding, Term
from app.text.model import KINDS, SENTIMENTS, TOPICS
from app.text.normalize import normalize

Labels = tuple[str, str, str, bool]  # kind, topic, sentiment, blocked


def norm_key(text: str) -> str:
    return normalize(text).compact[:500]


# ------------------------------------------------------------------- corrections


async def overrides(session: AsyncSession, stream_id: int) -> dict[str, Labels]:
    """The stream's corrected texts → labels (newest correction wins). Read at every
    intake batch, like the blocked words, so it applies on every instance at once."""
    rows = await session.execute(
        select(
            CommentCorrection.norm,
            CommentCorrection.kind,
            CommentCorrection.topic,
            CommentCorrection.sentiment,
            CommentCorrection.blocked,
        )
        .where(CommentCorrection.stream_id == stream_id)
        .order_by(CommentCorrection.id)
    )
    return {norm: (k, t, s, b) for norm, k, t, s, b in rows}


def apply_override(result: Classification, labels: Labels | None) -> Classification:
    if labels is None:
        return result
    kind, topic, sentiment, blocked = labels
    return Classification(kind, topic, sentiment, blocked, "corrected" if blocked else None)


@dataclass(frozen=True)
class CorrectionIn:
    kind: str | None = None
    topic: str | None = None
    sentiment: str | None = None
    blocked: bool | None = None


def _merge(comment: Comment, body: CorrectionIn) -> Labels:
    kind = body.kind or comment.kind
    topic = body.topic or comment.topic
    sentiment = body.sentiment or comment.sentiment
    blocked = comment.blocked if body.blocked is None else body.blocked
    if body.kind is not None and body.kind != comment.kind:
        if kind in ("chitchat", "spam"):
            topic = "none" if body.topic is None else topic
        elif kind in ("question", "complaint") and topic == "none" and body.topic is None:
            topic = "product"
    if body.kind == "spam" and body.blocked is None:
        blocked = True
    if kind in ("question", "complaint") and topic == "none":
        raise Unprocessable(
            "a question or complaint needs a topic other than none", code="topic_required"
        )
    if kind in ("chitchat", "spam") and topic != "none":
        raise Unprocessable("chit-chat and spam have the topic none", code="topic_not_allowed")
    for value, allowed, name in (
        (kind, KINDS, "kind"),
        (topic, TOPICS, "topic"),
        (sentiment, SENTIMENTS, "sentiment"),
    ):
        if value not in allowed:
            raise Unprocessable(f"{name} must be one of {', '.join(allowed)}", code="bad_label")
    return kind, topic, sentiment, blocked


async def correct(
    session: AsyncSession, stream_id: int, comment_id: int, body: CorrectionIn, user: User
) -> CommentCorrection:
    from app.services import queue as queue_service

    comment = await session.scalar(
        select(Comment)
        .where(Comment.id == comment_id, Comment.stream_id == stream_id)
        .with_for_update()
    )
    if comment is None:
        raise NotFound(f"comment {comment_id} not found on this stream", code="comment_not_found")
    if body == CorrectionIn():
        raise Unprocessable(
            "give at least one of kind, topic, sentiment, blocked", code="nothing_to_correct"
        )
    kind, topic, sentiment, blocked = _merge(comment, body)
    was = (comment.kind, comment.topic, comment.sentiment, comment.blocked)
    if was == (kind, topic, sentiment, blocked):
        raise Conflict("the comment already has these labels", code="nothing_changed")
    correction = CommentCorrection(
        stream_id=stream_id,
        comment_id=comment.id,
        text=comment.text,
        norm=norm_key(comment.text),
        was_kind=was[0],
        was_topic=was[1],
        was_sentiment=was[2],
        was_blocked=was[3],
        kind=kind,
        topic=topic,
        sentiment=sentiment,
        blocked=blocked,
        corrected_by=user.id,
    )
    session.add(correction)
    comment.kind, comment.topic, comment.sentiment = kind, topic, sentiment
    if blocked != comment.blocked:
        comment.blocked = blocked
        comment.block_reason = "corrected" if blocked else None
    await session.flush()
    if comment.item_id is None:
        await queue_service.feed(session, stream_id, [comment])
    return correction


def correction_payload(c: CommentCorrection) -> dict[str, Any]:
    return {
        "id": c.id,
        "stream_id": c.stream_id,
        "comment_id": c.comment_id,
        "text": c.text,
        "was": {
            "kind": c.was_kind,
            "topic": c.was_topic,
            "sentiment": c.was_sentiment,
            "blocked": c.was_blocked,
        },
        "kind": c.kind,
        "topic": c.topic,
        "sentiment": c.sentiment,
        "blocked": c.blocked,
        "corrected_by": c.corrected_by,
        "created_at": c.created_at,
    }


async def list_corrections(session: AsyncSession, stream_id: int) -> list[CommentCorrection]:
    rows = await session.scalars(
        select(CommentCorrection)
        .where(CommentCorrection.stream_id == stream_id)
        .order_by(CommentCorrection.id)
    )
    return list(rows.all())


EXPORT_FIELDS = ("text", "kind", "topic", "sentiment", "blocked", "corrected_by", "corrected_at")


def export_rows(corrections: Sequence[CommentCorrection]) -> list[dict[str, Any]]:
    """Training rows: the newest correction of each text (the dev set's format plus who
    and when)."""
    latest: dict[str, CommentCorrection] = {}
    for c in corrections:
        latest[c.norm] = c
    return [
        {
            "text": c.text,
            "kind": c.kind,
            "topic": c.topic,
            "sentiment": c.sentiment,
            "blocked": c.blocked,
            "corrected_by": c.corrected_by,
            "corrected_at": c.created_at.isoformat(),
        }
        for c in sorted(latest.values(), key=lambda c: c.id)
    ]


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "blocked": "true" if r["blocked"] else "false"})
    return out.getvalue()


async def correction_counts(session: AsyncSession, stream_id: int) -> dict[str, int]:
    """For the review: how often the team corrected the classifier on this stream."""
    row = (
        await session.execute(
            select(
                func.count(),
                func.count(func.distinct(CommentCorrection.comment_id)),
            ).where(CommentCorrection.stream_id == stream_id)
        )
    ).one()
    return {"corrections": int(row[0]), "comments_corrected": int(row[1])}


# ------------------------------------------------------------- compliance terms


async def terms(session: AsyncSession, stream_id: int) -> list[ComplianceTerm]:
    rows = await session.scalars(
        select(ComplianceTerm)
        .where(ComplianceTerm.stream_id == stream_id)
        .order_by(ComplianceTerm.id)
    )
    return list(rows.all())


async def add_terms(
    session: AsyncSession,
    stream_id: int,
    phrases: Sequence[str],
    severity: str,
    suggestion: str,
    user: User,
) -> list[ComplianceTerm]:
    wanted = []
    for p in phrases:
        p = p.strip()
        if not normalize(p).compact:
            raise Unprocessable(f"'{p}' has no letter or digit to match", code="term_unmatchable")
        if p not in wanted:
            wanted.append(p)
    have = {t.phrase for t in await terms(session, stream_id)}
    added = [
        ComplianceTerm(
            stream_id=stream_id,
            phrase=p,
            severity=severity,
            suggestion=suggestion,
            created_by=user.id,
        )
        for p in wanted
        if p not in have
    ]
    session.add_all(added)
    await session.flush()
    return added


async def remove_term(session: AsyncSession, stream_id: int, term_id: int) -> None:
    await delete_in_stream(session, ComplianceTerm, stream_id, term_id, "term")


def team_checker(rows: Sequence[ComplianceTerm]) -> Checker:
    """The built-in terms plus the team's: a team's suggestion is its own words (shown as
    written in either language); without one, the catalogue's `team_default`."""
    return Checker(
        Term(
            t.phrase,
            "team",
            t.severity,
            "team",
            None if t.suggestion else "team_default",
            t.suggestion,
        )
        for t in rows
    )


async def stream_checker(session: AsyncSession, stream_id: int) -> Checker:
    return team_checker(await terms(session, stream_id))


async def planned_texts(session: AsyncSession, stream: Stream) -> list[tuple[str, str]]:
    """(where, text) of everything the team wrote for the stream that may be said: script
    segments (title, talking points, cues, notes), the lineup's products (selling points,
    description, usage scenes), the lineup's gifts, the quick replies."""
    out: list[tuple[str, str]] = []
    segs = await session.scalars(
        select(ScriptSegment)
        .where(ScriptSegment.stream_id == stream.id)
        .order_by(ScriptSegment.position, ScriptSegment.id)
    )
    for s in segs:
        where = f"script:{s.id}"
        out.append((where, s.title))
        out += [(where, t) for t in s.talking_points or []]
        out += [(where, t) for t in s.cues or []]
        if s.notes:
            out.append((where, s.notes))
    rows = await session.execute(
        select(LineupItem, Product)
        .join(Product, Product.id == LineupItem.product_id)
        .where(LineupItem.stream_id == stream.id)
    )
    for item, product in rows:
        where = f"product:{product.id}"
        out += [(where, t) for t in product.selling_points or []]
        out += [(where, t) for t in product.usage_scenes or []]
        if product.description:
            out.append((where, product.description))
        out += [(f"lineup:{item.id}", g) for g in item.gifts or []]
    # quick replies go out to viewers as they are written (publicly answered, pinned)
    replies = await session.scalars(
        select(QuickReply).where(QuickReply.stream_id == stream.id).order_by(QuickReply.id)
    )
    out += [(f"quick_reply:{r.id}", r.body) for r in replies]
    return out


async def compliance_findings(session: AsyncSession, stream: Stream) -> list[tuple[str, Finding]]:
    checker = await stream_checker(session, stream.id)
    found = []
    for where, text in await planned_texts(session, stream):
        for f in checker.check(text):
            found.append((where, f))
    return found
