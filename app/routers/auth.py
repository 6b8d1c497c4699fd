from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from app.deps import CurrentUser, SessionDep, SettingsDep
from app.errors import JSONBody
from app.schemas.users import LoginIn, TokenOut, UserOut
from app.security import create_token
from app.services import users as users_service

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/login",
    response_model=TokenOut,
    summary="Exchange username and password for a bearer access token",
    description=(
        "Wrong credentials → 401. After `LOGIN_MAX_FAILURES` wrong passwords in a row the "
        "account is locked for `LOGIN_LOCKOUT_SECONDS` (→ 429 with `Retry-After`)."
    ),
    responses={401: {"description": "Wrong credentials"}, 429: {"description": "Locked"}},
)
async def login(body: LoginIn, session: SessionDep, settings: SettingsDep) -> object:
    result = await users_service.authenticate(session, settings, body.username, body.password)
    if result.locked_seconds:
        return JSONBody(
            {
                "detail": "too many failed logins; try again later",
                "code": "login_locked",
                "retry_after": result.locked_seconds,
            },
            status_code=429,
            headers={"Retry-After": str(result.locked_seconds)},
        )
    if result.user is None:
        # Returned, not raised, so the session still commits the failure count.
        return JSONBody(
            {"detail": "wrong username or password", "code": "bad_credentials"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    token, expires = create_token(
        settings.secret_key,
        str(result.user.id),
        "access",
        timedelta(minutes=settings.access_token_minutes),
        role=result.user.role.value,
    )
    return TokenOut(
        access_token=token, expires_at=expires, user=UserOut.model_validate(result.user)
    )


@router.get("/me", response_model=UserOut, summary="The signed-in user")
async def me(user: CurrentUser) -> object:
    return user
