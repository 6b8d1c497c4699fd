from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from app.models import Role
from app.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, check_password
from app.schemas.common import Schema, StrictInput

USERNAME_PATTERN = r"^[A-Za-z0-9_.\-]{3,64}$"

# A new password: at least 10 characters, not on the common-password list
# (app/passwords.py); the username check is the model's (it knows both).
NewPassword = Annotated[
    str,
    Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        description="At least 10 characters; not a common password, not the username",
    ),
    AfterValidator(check_password),
]


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
    password: NewPassword
    role: Role
    display_name: str = Field(default="", max_length=128)

    @field_validator("password")
    @classmethod
    def _password_is_not_the_username(cls, value: str, info: ValidationInfo) -> str:
        return check_password(value, info.data.get("username"))


class UserUpdate(StrictInput):
    password: NewPassword | None = None
    role: Role | None = None
    display_name: str | None = Field(default=None, max_length=128)
    is_active: bool | None = None


class PasswordChangeIn(StrictInput):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: NewPassword


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime


TeamRole = Literal["host", "controller", "service", "analyst"]


class TeamMemberIn(StrictInput):
    role: TeamRole = Field(description="The user's role on this stream's team")


class UserDirectoryOut(Schema):
    """What a controller needs to pick a teammate: no account state, no dates."""

    id: int
    username: str
    display_name: str
    role: Role


class TeamMemberOut(Schema):
    stream_id: int
    user_id: int
    role: Role
    username: str = ""
    display_name: str = ""


TokenOut.model_rebuild()
