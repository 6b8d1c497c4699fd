"""Users, login with lockout, and the first admin."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import Conflict, Unprocessable
from app.models import Role, User
from app.passwords import password_error, password_problem
from app.schemas.users import UserCreate, UserUpdate
from app.security import hash_password, verify_password
from app.services.login_throttle import LoginThrottle
from app.services.stream_rows import get_or_404


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
    try:
        async with session.begin_nested():  # the same name created at the same moment
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"username '{data.username}' is taken", code="username_taken") from exc
    return user


async def get_user(session: AsyncSession, user_id: int) -> User:
    return await get_or_404(session, User, user_id, "user")


async def list_users(session: AsyncSession) -> list[User]:
    return list((await session.scalars(select(User).order_by(User.id))).all())


async def update_user(session: AsyncSession, user_id: int, data: UserUpdate, actor: User) -> User:
    user = await get_user(session, user_id)
    if user.id == actor.id and (
        (data.role is not None and data.role != Role.admin) or data.is_active is False
    ):
        raise Conflict("you cannot demote or disable yourself", code="self_lockout")
    revoke = False
    if data.password is not None:
        problem = password_problem(data.password, user.username)
        if problem is not None:
            raise Unprocessable(password_error(problem))
        user.password_hash = await asyncio.to_thread(hash_password, data.password)
        revoke = True
    if data.role is not None and data.role != user.role:
        user.role = data.role
        revoke = True
    if data.display_name is not None:
        user.display_name = data.display_name
    if data.is_active is not None and data.is_active != user.is_active:
        user.is_active = data.is_active
        revoke = True  # re-enabling does not bring the old tokens back either
    if revoke:
        revoke_tokens(user)
    await session.flush()
    return user


def revoke_tokens(user: User) -> None:
    """Invalidate every access token issued to `user` so far (requests answer 401 at
    once; open consoles are closed by app/realtime/revocation.py within seconds)."""
    user.token_version = (user.token_version or 0) + 1


async def change_own_password(
    session: AsyncSession, user: User, current_password: str, new_password: str
) -> User:
    """The signed-in user's password change: the current password must match; every
    earlier token of the user is revoked (the caller issues a fresh one)."""
    ok = await asyncio.to_thread(verify_password, current_password, user.password_hash)
    if not ok:
        raise Unprocessable(
            [
                {
                    "loc": ["body", "current_password"],
                    "field": "current_password",
                    "msg": "the current password is wrong",
                    "type": "wrong_password",
                }
            ],
            code="wrong_password",
        )
    problem = password_problem(new_password, user.username)
    if problem is None and new_password == current_password:
        problem = "the new password must differ from the current one"
    if problem is not None:
        raise Unprocessable(password_error(problem, "new_password"))
    user.password_hash = await asyncio.to_thread(hash_password, new_password)
    revoke_tokens(user)
    await session.flush()
    return user


@dataclass
class LoginResult:
    user: User | None
    retry_after: int = 0


async def authenticate(
    session: AsyncSession,
    throttle: LoginThrottle,
    username: str,
    password: str,
    address: str,
) -> LoginResult:
    """Check a password under the login throttle (app/services/login_throttle.py).

    Unknown usernames take the same path (a dummy hash is verified) and get the same
    answers as wrong passwords, so the answers tell nobody which accounts exist.
    """
    keys = throttle.keys(username, address)
    wait = await throttle.retry_after(keys)
    if wait:
        return LoginResult(None, wait)
    user = await session.scalar(select(User).where(User.username == username))
    ok = await asyncio.to_thread(
        verify_password, password, user.password_hash if user is not None else None
    )
    if user is None or not ok or not user.is_active:
        await throttle.failed(keys)
        return LoginResult(None)
    await throttle.succeeded(keys)
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
