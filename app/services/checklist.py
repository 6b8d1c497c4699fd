"""The technical checklist (设备调试): every item must be ok before going live."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.models import ChecklistItem, ChecklistKind, CheckStatus, Stream, User
from app.schemas.checklist import ChecklistCheckIn, ChecklistItemIn
from app.services.planning import ensure_plannable
from app.services.stream_rows import get_in_stream

DEFAULT_LABELS: dict[ChecklistKind, str] = {
    ChecklistKind.camera: "摄像头 / camera",
    ChecklistKind.microphone: "麦克风 / microphone",
    ChecklistKind.lights: "灯光 / lights",
    ChecklistKind.wired_network: "有线网络 / wired network",
    ChecklistKind.backup_network: "备用网络 / backup network",
    ChecklistKind.push_test: "推流测试 / push-stream test",
    ChecklistKind.backup_device: "备用设备 / backup device",
}


async def items(session: AsyncSession, stream_id: int) -> list[ChecklistItem]:
    rows = await session.scalars(
        select(ChecklistItem).where(ChecklistItem.stream_id == stream_id).order_by(ChecklistItem.id)
    )
    return list(rows.all())


async def add_item(session: AsyncSession, stream: Stream, data: ChecklistItemIn) -> ChecklistItem:
    ensure_plannable(stream)
    label = data.label or DEFAULT_LABELS.get(data.kind, data.kind.value)
    item = ChecklistItem(stream_id=stream.id, kind=data.kind, label=label)
    session.add(item)
    await session.flush()
    return item


async def add_defaults(session: AsyncSession, stream: Stream) -> list[ChecklistItem]:
    """Add the standard items the checklist lacks (running it twice adds nothing)."""
    ensure_plannable(stream)
    have = {i.kind for i in await items(session, stream.id)}
    for kind, label in DEFAULT_LABELS.items():
        if kind not in have:
            session.add(ChecklistItem(stream_id=stream.id, kind=kind, label=label))
    await session.flush()
    return await items(session, stream.id)


async def get_item(session: AsyncSession, stream_id: int, item_id: int) -> ChecklistItem:
    return await get_in_stream(session, ChecklistItem, stream_id, item_id, "checklist item")


async def check_item(
    session: AsyncSession, stream: Stream, item_id: int, data: ChecklistCheckIn, user: User
) -> ChecklistItem:
    """Record a check: its status, who checked and when (back to pending clears both)."""
    ensure_plannable(stream)
    item = await get_item(session, stream.id, item_id)
    item.status = data.status
    if data.note is not None:
        item.note = data.note
    if data.status == CheckStatus.pending:
        item.checked_by, item.checked_at = None, None
    else:
        item.checked_by, item.checked_at = user.id, utcnow()
    await session.flush()
    return item


async def delete_item(session: AsyncSession, stream: Stream, item_id: int) -> None:
    ensure_plannable(stream)
    await session.delete(await get_item(session, stream.id, item_id))
    await session.flush()
