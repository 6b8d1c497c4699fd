"""Reusable dependencies: the unit of work, the current user, and role checks.

Every staff endpoint and websocket authorizes through `authorize_stream` /
`require_roles`, so the rules live in one place:

* an `admin` may do anything;
* other users act on a stream only as members of its team, with their team role;
* endpoints outside a stream (catalog, users) check the user's own role.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import Forbidden, Unauthorized
from app.models import Role, Stream, User
from app.security import decode_token
from app.services.access import Buyer as Buyer
from app.services.access import authorize_stream as authorize_stream
from app.services.access import stream_role as stream_role
from app.services.uow import UnitOfWork


async def get_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    """One unit of work per request: its transaction and the live adapters
    (app/services/uow.py). It commits before the response is sent."""
    async with UnitOfWork.begin(request.app.state.sessionmaker, request.app.state.live) as uow:
        yield uow


UowDep = Annotated[UnitOfWork, Depends(get_uow, scope="function")]


def get_session(uow: UowDep) -> AsyncSession:
    """The request's session: the session of its unit of work."""
    return uow.session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
_bearer = HTTPBearer(auto_error=False, description="Staff access token from /api/v1/auth/login")
_viewer_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ViewerToken",
    description="Viewer token from POST /api/v1/streams/{stream_id}/viewers",
)


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def client_address(request: Request) -> str:
    """The client's address: the TCP peer, or the last entry of TRUSTED_PROXY_HEADER
    (the address your load balancer saw) when that setting names a header."""
    settings: Settings = request.app.state.settings
    if settings.trusted_proxy_header:
        raw = request.headers.get(settings.trusted_proxy_header)
        if raw:
            last = raw.split(",")[-1].strip()
            if last:
                return last[:64]
    return request.client.host if request.client is not None else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]


async def user_from_token(session: AsyncSession, settings: Settings, token: str | None) -> User:
    """The active user a staff token names, or Unauthorized."""
    if not token:
        raise Unauthorized("missing bearer token")
    claims = decode_token(settings.secret_key, token, "access")
    if claims is None:
        raise Unauthorized("invalid or expired token")
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError) as exc:
        raise Unauthorized("invalid token subject") from exc
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthorized("user not found or disabled")
    # Tokens from before versioning carry no "ver": version 0, until the first revocation.
    if claims.get("ver", 0) != user.token_version:
        raise Unauthorized("this token was revoked; sign in again", code="token_revoked")
    return user


async def current_user(
    session: SessionDep,
    settings: SettingsDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    return await user_from_token(session, settings, creds.credentials if creds else None)


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, User]]:
    """Dependency: the current user, who must hold one of `roles` (admin always passes)."""
    allowed = frozenset(roles) | {Role.admin}

    async def _check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise Forbidden(f"role '{user.role}' may not do this", code="role_forbidden")
        return user

    return _check


def stream_access(*roles: Role) -> Callable[..., Coroutine[Any, Any, Stream]]:
    """Dependency for `/streams/{stream_id}/...`: the stream, if the user may act on it.

    With no roles, any team member (and admin) passes.
    """
    allowed = frozenset(roles) if roles else None

    async def _check(stream_id: int, session: SessionDep, user: CurrentUser) -> Stream:
        return await authorize_stream(session, user, stream_id, allowed)

    return _check


ALL_STAFF = (Role.host, Role.controller, Role.service, Role.analyst)


# --------------------------------------------------------------------------- viewers


@dataclass(frozen=True)
class Viewer:
    """A watch-page viewer, known from a viewer token bound to one stream."""

    viewer_id: str
    stream_id: int


def viewer_from_token(settings: Settings, token: str | None, stream_id: int) -> Viewer:
    if not token:
        raise Unauthorized("missing viewer token")
    claims = decode_token(settings.secret_key, token, "viewer")
    if claims is None:
        if decode_token(settings.secret_key, token, "access") is not None:
            raise Forbidden("staff tokens cannot do this; use a viewer token", code="viewer_only")
        raise Unauthorized("invalid or expired viewer token")
    token_stream = claims.get("stream_id", claims.get("stream"))
    if str(token_stream) != str(stream_id):
        raise Forbidden("this viewer token belongs to another stream", code="wrong_stream")
    return Viewer(viewer_id=str(claims["sub"]), stream_id=stream_id)


async def verify_ingest_key(session: AsyncSession, stream_id: int, key: str) -> bool:
    """Whether `key` is a live (not revoked) ingest key of the stream."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    try:
        from app.models.events import IngestKey  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # the live path is not installed: no key can be valid
        return False
    found = await session.scalar(
        select(IngestKey.id).where(
            IngestKey.stream_id == stream_id,
            IngestKey.key_hash == digest,
            IngestKey.revoked_at.is_(None),
        )
    )
    return found is not None


# A verified ingest key is believed for this long without asking the database again, so
# that a burst of orders through it (a merchant backend's flash sale) needs no database
# connection for the key, and its sold-out refusals none at all. Revoking a key forgets
# it at once on the instance that revoked it; other instances stop accepting it within
# this many seconds.
INGEST_KEY_CACHE_SECONDS = 2.0


def _ingest_key_cache(app: Any) -> dict[tuple[int, str], float]:
    cache: dict[tuple[int, str], float] | None = getattr(app.state, "ingest_key_cache", None)
    if cache is None:
        cache = {}
        app.state.ingest_key_cache = cache
    return cache


def ingest_key_cached(app: Any, stream_id: int, key: str) -> bool:
    """Whether `key` was verified as the stream's live ingest key a moment ago."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    until = _ingest_key_cache(app).get((stream_id, digest))
    return until is not None and until > time.monotonic()


async def ingest_key_for_fast_path(app: Any, stream_id: int, key: str) -> bool:
    """The order fast path's check of an ingest key, which takes no request's database
    connection: a key believed (verified within `INGEST_KEY_CACHE_SECONDS`) is
    accepted, and once half of that has passed it is verified again in the background
    (one query per key at a time) so that a long burst is never sent, all at once, to
    the full path when the belief runs out; a key not believed is verified now, with a
    session of its own that is given back before the stock script runs. False: the full
    path answers (401 for a wrong or revoked key)."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    until = _ingest_key_cache(app).get((stream_id, digest))
    now = time.monotonic()
    if until is not None and until > now:
        if until - now < INGEST_KEY_CACHE_SECONDS / 2:
            _refresh_in_background(app, stream_id, key)
        return True
    return await _verify_alone(app, stream_id, key)


async def _verify_alone(app: Any, stream_id: int, key: str) -> bool:
    maker = getattr(app.state, "sessionmaker", None)
    if maker is None:
        return False
    async with maker() as session:
        return await _verify_once(app, session, stream_id, key)


def _refresh_in_background(app: Any, stream_id: int, key: str) -> None:
    pending = getattr(app.state, "ingest_key_checks", None)
    if pending and (stream_id, hashlib.sha256(key.encode()).hexdigest()) in pending:
        return  # already being verified
    tasks: set[asyncio.Task[bool]] | None = getattr(app.state, "ingest_key_refreshes", None)
    if tasks is None:
        tasks = app.state.ingest_key_refreshes = set()
    task = asyncio.ensure_future(_verify_alone(app, stream_id, key))
    tasks.add(task)
    task.add_done_callback(_refreshed(tasks))


def _refreshed(tasks: set[asyncio.Task[bool]]) -> Callable[[asyncio.Task[bool]], None]:
    def done(task: asyncio.Task[bool]) -> None:
        tasks.discard(task)
        if not task.cancelled():
            task.exception()  # a failed refresh: the belief simply runs out

    return done


def remember_ingest_key(app: Any, stream_id: int, key: str) -> None:
    cache = _ingest_key_cache(app)
    if len(cache) > 10_000:  # bounded: expired entries go first, else all
        now = time.monotonic()
        for k in [k for k, until in cache.items() if until <= now] or list(cache):
            del cache[k]
    digest = hashlib.sha256(key.encode()).hexdigest()
    cache[(stream_id, digest)] = time.monotonic() + INGEST_KEY_CACHE_SECONDS


async def _verify_once(app: Any, session: AsyncSession, stream_id: int, key: str) -> bool:
    """Verify the key with the database, one query per key at a time: the requests of a
    burst that arrive while it runs wait for its answer instead of each asking."""
    pending: dict[tuple[int, str], asyncio.Future[bool]] | None = getattr(
        app.state, "ingest_key_checks", None
    )
    if pending is None:
        pending = {}
        app.state.ingest_key_checks = pending
    ident = (stream_id, hashlib.sha256(key.encode()).hexdigest())
    running = pending.get(ident)
    if running is not None:
        await asyncio.wait({running})
        if not running.cancelled():
            return running.result()
        ok = await verify_ingest_key(session, stream_id, key)  # its request went away
        await session.rollback()
        return ok
    fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    pending[ident] = fut
    try:
        ok = await verify_ingest_key(session, stream_id, key)
        # The check needed a connection: give it back now, so that an order refused
        # by the stock script holds none while it waits.
        await session.rollback()
    except BaseException as exc:
        if isinstance(exc, Exception):
            fut.set_exception(exc)
            fut.exception()  # retrieved: no "never retrieved" warning without waiters
        else:
            fut.cancel()  # the waiters are cancelled too (their request is going)
        raise
    finally:
        pending.pop(ident, None)
    if ok:
        remember_ingest_key(app, stream_id, key)
    else:  # revoked meanwhile (a refresh): believed no longer
        _ingest_key_cache(app).pop(ident, None)
    fut.set_result(ok)
    return ok


def forget_ingest_keys(app: Any, stream_id: int) -> None:
    """A key of the stream was revoked: verify its keys with the database again."""
    cache = _ingest_key_cache(app)
    for k in [k for k in cache if k[0] == stream_id]:
        del cache[k]


async def current_buyer(
    stream_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_viewer_bearer)],
    x_ingest_key: Annotated[
        str | None, Header(description="The stream's ingest key (merchant backends)")
    ] = None,
) -> Buyer:
    if x_ingest_key:
        if not ingest_key_cached(request.app, stream_id, x_ingest_key) and not await _verify_once(
            request.app, session, stream_id, x_ingest_key
        ):
            raise Unauthorized("wrong or revoked ingest key", code="bad_ingest_key")
        return Buyer(viewer_id=None, source="ingest")
    viewer = viewer_from_token(settings, creds.credentials if creds else None, stream_id)
    return Buyer(viewer_id=viewer.viewer_id, source="viewer")


CurrentBuyer = Annotated[Buyer, Depends(current_buyer)]


async def current_viewer(
    stream_id: int,
    settings: SettingsDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_viewer_bearer)],
) -> Viewer:
    """The watch-page viewer of this stream (viewer token, typ "viewer")."""
    return viewer_from_token(settings, creds.credentials if creds else None, stream_id)


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]
