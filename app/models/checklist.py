"""The technical checklist (设备调试): items that must all be green before going live."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class ChecklistKind(enum.StrEnum):
    camera = "camera"
    microphone = "microphone"
    lights = "lights"
    wired_network = "wired_network"
    backup_network = "backup_network"
    push_test = "push_test"  # 推流测试
    backup_device = "backup_device"
    custom = "custom"


class CheckStatus(enum.StrEnum):
    pending = "pending"
    ok = "ok"
    failed = "failed"


class ChecklistItem(Base):
    __tablename__ = "checklist_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ChecklistKind] = mapped_column(
        Enum(ChecklistKind, name="checklist_kind", native_enum=False, length=32)
    )
    label: Mapped[str] = mapped_column(String(200))
    status: Mapped[CheckStatus] = mapped_column(
        Enum(CheckStatus, name="check_status", native_enum=False, length=16),
        default=CheckStatus.pending,
    )
    note: Mapped[str] = mapped_column(String(500), default="")
    checked_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    checked_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
