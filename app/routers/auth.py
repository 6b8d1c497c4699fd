from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from app.deps import ClientAddress, CurrentUser, SessionDep, SettingsDep
from app.errors import JSONBody
from app.models import User
from app.schemas.users import LoginIn, PasswordChangeIn, TokenOut, UserOut
from app.security import create_token
from app.services import users as users_service
from app.services.login_throttle import LoginThrottle

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def login_throttle(request: Request) -> LoginThrottle:
    """The app's login throttle (over the `Limits` port), made on first use."""
    state = request.app.state
    throttle: LoginThrottle | None = getattr(state, "login_throttle", None)
    if throttle is None:
        live = state.live
        throttle = LoginThrottle(state.settings, live.limits, live.prefix)
        state.login_throttle = throttle
    return throttle


def issue_token(settings: SettingsDep, user: User) -> TokenOut:
    token, expires = create_token(
        settings.secret_key,
        str(user.id),
        "access",
        timedelta(minutes=settings.access_token_minutes),
        role=user.role.value,
        ver=user.token_version,
    )
    return TokenOut(access_token=token, expires_at=expires, user=UserOut.model_validate(user))


@router.post(
    "/login",
    response_model=TokenOut,
    summary="Exchange username and password for a bearer access token",
    description=(
        "Wrong credentials → 401, the same for unknown usernames. After "
        "`LOGIN_MAX_FAILURES` misses of one username from one client address (or "
        "`LOGIN_ADDRESS_MAX_FAILURES` from one address), each further attempt from there "
        "waits 1 s, 2 s, 4 s … up to `LOGIN_MAX_DELAY_SECONDS` (→ 429 `login_throttled` "
        "with `Retry-After`). Other addresses are not affected: nobody can lock an account "
        "by guessing at it."
    ),
    responses={401: {"description": "Wrong credentials"}, 429: {"description": "Throttled"}},
)
async def login(
    body: LoginIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    address: ClientAddress,
) -> object:
    result = await users_service.authenticate(
        session, login_throttle(request), body.username, body.password, address
    )
    if result.retry_after:
        return JSONBody(
            {
                "detail": "too many failed logins from here; try again later",
                "code": "login_throttled",
                "retry_after": result.retry_after,
            },
            status_code=429,
            headers={"Retry-After": str(result.retry_after)},
        )
    if result.user is None:
        return JSONBody(
            {"detail": "wrong username or password", "code": "bad_credentials"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return issue_token(settings, result.user)


@router.get("/me", response_model=UserOut, summary="The signed-in user")
async def me(user: CurrentUser) -> object:
    return user


@router.post(
    "/logout",
    status_code=204,
    summary="Sign out: revoke every access token of the signed-in user",
    description=(
        "Every token issued to this user so far stops working at once (other devices "
        "too), and the user's open console websockets are closed with 4401 within 5 s."
    ),
)
async def logout(user: CurrentUser, session: SessionDep) -> Response:
    users_service.revoke_tokens(user)
    await session.flush()
    return Response(status_code=204)


@router.post(
    "/password",
    response_model=TokenOut,
    summary="Change your own password",
    description=(
        "Needs the current password. The new one: at least 10 characters, not a common "
        "password, not the username (→ 422 naming the field). Every earlier token of the "
        "user is revoked (open consoles close with 4401 within 5 s); the answer carries "
        "a fresh token for this session."
    ),
    responses={422: {"description": "Wrong current password or a weak new one"}},
)
async def change_password(
    body: PasswordChangeIn, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> object:
    await users_service.change_own_password(session, user, body.current_password, body.new_password)
    return issue_token(settings, user)
