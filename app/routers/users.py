from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.deps import SessionDep, require_roles
from app.models import User
from app.schemas.users import UserCreate, UserOut, UserUpdate
from app.services import users as users_service

router = APIRouter(prefix="/api/v1/users", tags=["users"])
AdminUser = Annotated[User, Depends(require_roles())]


@router.post("", response_model=UserOut, status_code=201, summary="Create a user (admin)")
async def create_user(body: UserCreate, session: SessionDep, _: AdminUser) -> object:
    return await users_service.create_user(session, body)


@router.get("", response_model=list[UserOut], summary="List users (admin)")
async def list_users(session: SessionDep, _: AdminUser) -> object:
    return await users_service.list_users(session)


@router.get("/{user_id}", response_model=UserOut, summary="One user (admin)")
async def get_user(user_id: int, session: SessionDep, _: AdminUser) -> object:
    return await users_service.get_user(session, user_id)


@router.patch(
    "/{user_id}",
    response_model=UserOut,
    summary="Change a user's role, password, name or active flag (admin)",
)
async def update_user(
    user_id: int, body: UserUpdate, session: SessionDep, admin: AdminUser
) -> object:
    return await users_service.update_user(session, user_id, body, admin)
