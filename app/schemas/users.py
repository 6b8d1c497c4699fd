from __future__ import annotations

from datetime import datetime

from pydantic import Field

from app.models import Role
from app.schemas.common import Schema, StrictInput

USERNAME_PATTERN = r"^[A-Za-z0-9_.\-]{3,64}$"


class LoginIn(StrictInput):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(Schema):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    user: UserOut


class UserCreate(StrictInput):
    username: str = Field(pattern=USERNAME_PATTERN, description="3–64 letters, digits, _ . -")
    password: str = Field(min_length=8, max_length=256)
    role: Role
    display_name: str = Field(default="", max_length=128)


class UserUpdate(StrictInput):
    password: str | None = Field(default=None, min_length=8, max_length=256)
    role: Role | None = None
    display_name: str | None = Field(default=None, max_length=128)
    is_active: bool | None = None


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime


class TeamMemberIn(StrictInput):
    role: Role


class TeamMemberOut(Schema):
    stream_id: int
    user_id: int
    role: Role
    username: str = ""
    display_name: str = ""


TokenOut.model_rebuild()
