from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.deps import SessionDep, require_roles
from app.models import Role, User
from app.schemas.users import UserCreate, UserDirectoryOut, UserOut, UserUpdate
from app.services import users as users_service

router = APIRouter(prefix="/api/v1/users", tags=["users"])
AdminUser = Annotated[User, Depends(require_roles())]
PlannerUser = Annotated[User, Depends(require_roles(Role.controller))]


@router.post("", response_model=UserOut, status_code=201, summary="Create a user (admin)")
async def create_user(body: UserCreate, session: SessionDep, _: AdminUser) -> object:
    return await users_service.create_user(session, body)


@router.get("", response_model=list[UserOut], summary="List users (admin)")
async def list_users(session: SessionDep, _: AdminUser) -> object:
    return await users_service.list_users(session)


@router.get(
    "/directory",
    response_model=list[UserDirectoryOut],
    summary="Active users to pick a teammate from (admin, controller)",
    description="Id, username, display name and role of every active user, for the team "
    "page of a stream. No account state or dates (those are `GET /users`, admin).",
)
async def user_directory(session: SessionDep, _: PlannerUser) -> object:
    return [u for u in await users_service.list_users(session) if u.is_active]


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
