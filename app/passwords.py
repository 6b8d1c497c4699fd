"""The password policy: at least 10 characters, not a common password, not the username.

The common-password list ships in the repository (app/data/common_passwords.txt) and is
compared without case. Violations are pydantic `ValueError`s inside request models (a
422 naming the field) or, where the username is only known to the service,
`password_problem` with an `Unprocessable` in the same shape.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
_LIST = Path(__file__).resolve().parent / "data" / "common_passwords.txt"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = _LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().casefold() for line in lines if line.strip() and not line.startswith("#")
    )


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why `password` is refused, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must have at least {MIN_PASSWORD_LENGTH} characters"
    folded = password.casefold()
    if folded in common_passwords():
        return "password is too common; choose a less guessable one"
    name = (username or "").casefold()
    if name and name in folded and len(folded.replace(name, "")) < 6:
        return "password must not be (a variation of) the username"
    return None


def check_password(password: str, username: str | None = None) -> str:
    """A pydantic-style check: the password, or ValueError saying why not."""
    problem = password_problem(password, username)
    if problem is not None:
        raise ValueError(problem)
    return password


def password_error(problem: str, field: str = "password") -> list[dict[str, object]]:
    """A 422 `detail` list in the shape of request validation errors (app/errors.py)."""
    return [{"loc": ["body", field], "field": field, "msg": problem, "type": "password_policy"}]
