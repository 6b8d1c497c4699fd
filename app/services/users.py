"""Users, login with lockout, and the first admin."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import utcnow
from app.errors import Conflict, NotFound
from app.models import Role, User
from app.schemas.users import UserCreate, UserUpdate
from app.security import hash_password, verify_password


async def create_user(session: AsyncSession, data: UserCreate) -> User:
    exists = await session.scalar(select(User.id).where(User.username == data.username))
    if exists is not None:
        raise Conflict(f"username '{data.username}' is taken", code="username_taken")
    user = User(
        username=data.username,
        display_name=data.display_name or data.username,
        password_hash=await asyncio.to_thread(hash_password, data.password),
        role=data.role,
    )
    session.add(user)
    await session.flush()
    return user


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found", code="user_not_found")
    return user


async def list_users(session: AsyncSession) -> list[User]:
    return list((await session.scalars(select(User).order_by(User.id))).all())


async def update_user(session: AsyncSession, user_id: int, data: UserUpdate, actor: User) -> User:
    user = await get_user(session, user_id)
    if user.id == actor.id and (
        (data.role is not None and data.role != Role.admin) or data.is_active is False
    ):
        raise Conflict("you cannot demote or disable yourself", code="self_lockout")
    if data.password is not None:
        user.password_hash = await asyncio.to_thread(hash_password, data.password)
        user.failed_logins = 0
        user.locked_until = None
    if data.role is not None:
        user.role = data.role
    if data.display_name is not None:
        user.display_name = data.display_name
    if data.is_active is not None:
        user.is_active = data.is_active
    await session.flush()
    return user


@dataclass
class LoginResult:
    user: User | None
    locked_seconds: int = 0


async def authenticate(
    session: AsyncSession, settings: Settings, username: str, password: str
) -> LoginResult:
    """Check a password; count failures and lock the account after too many.

    The caller must commit even on failure so the failure count is kept.
    """
    user = await session.scalar(select(User).where(User.username == username))
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        return LoginResult(None, int((user.locked_until - now).total_seconds()) + 1)
    ok = await asyncio.to_thread(
        verify_password, password, user.password_hash if user is not None else None
    )
    if user is None:
        return LoginResult(None)
    if not ok or not user.is_active:
        user.failed_logins += 1
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + timedelta(seconds=settings.login_lockout_seconds)
            user.failed_logins = 0
        await session.flush()
        return LoginResult(None)
    user.failed_logins = 0
    user.locked_until = None
    await session.flush()
    return LoginResult(user)


async def bootstrap_admin(session: AsyncSession, settings: Settings) -> str | None:
    """Create `admin` when no user exists. Returns a generated password to print once."""
    count = await session.scalar(select(func.count(User.id)))
    if count:
        return None
    generated = None
    password = settings.admin_password
    if not password:
        password = generated = secrets.token_urlsafe(12)
    session.add(
        User(
            username="admin",
            display_name="管理员",
            password_hash=await asyncio.to_thread(hash_password, password),
            role=Role.admin,
        )
    )
    await session.flush()
    return generated
