"""Users, their roles, and team membership per stream."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Role(enum.StrEnum):
    admin = "admin"
    host = "host"
    controller = "controller"
    service = "service"
    analyst = "analyst"


ROLE_ENUM = Enum(Role, name="role", native_enum=False, length=16, validate_strings=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(ROLE_ENUM)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Carried by the user's access tokens; bumped to revoke them all (disable, role or
    # password change, logout). Checked on every request and open console.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamMember(Base):
    """A user's role on one stream's team (user × stream × role)."""

    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("stream_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(ROLE_ENUM)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
